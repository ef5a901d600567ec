"""Consent per purpose, and the one-call question other domains ask: may I share field X with service S?"""

from __future__ import annotations

import pytest

from casework.cases import consent
from casework.cases.consent import ConsentChoice, ConsentInput, ConsentMissing
from casework.cases.models import Case
from casework.cases.schemas import ConsentIn
from casework.errors import StateError, ValidationError
from casework.extensions import db
from tests.cases.conftest import user_of


def _case(case_id) -> Case:
    return db.session.get(Case, case_id)


def test_a_bare_service_shares_the_standard_referral_fields_only(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a))
    assert consent.may_share(case, "police", "full_name")
    assert consent.may_share(case, "police", "phone")
    assert not consent.may_share(case, "police", "narrative")
    assert not consent.may_share(case, "police", "home_address")
    assert not consent.may_share(case, "health", "full_name")


def test_she_can_choose_field_by_field(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a,
                           consent=ConsentChoice(record=True, share=(("legal_aid", ("acts", "injuries")),))))
    assert consent.shareable_fields(case, "legal_aid") == {"acts", "injuries"}
    assert not consent.may_share(case, "legal_aid", "full_name")


def test_require_share_names_the_missing_fields(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a))
    consent.require_share(case, "police", ["full_name", "phone"])
    with pytest.raises(ConsentMissing) as caught:
        consent.require_share(case, "police", ["full_name", "narrative"])
    assert caught.value.status == 409 and "Ghi chú" in caught.value.message


def test_a_withdrawn_consent_no_longer_allows_sharing(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a))
    row = next(c for c in case.consents if c.service == "police")
    consent.withdraw_consent(user_of(world.host_a), case, row.id)
    assert not consent.may_share(case, "police", "full_name")
    with pytest.raises(StateError):
        consent.withdraw_consent(user_of(world.host_a), case, row.id)


def test_consent_to_keep_the_record_is_not_withdrawn_by_a_click(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a))
    row = next(c for c in case.consents if c.purpose == "record")
    with pytest.raises(StateError):
        consent.withdraw_consent(user_of(world.host_a), case, row.id)


def test_statistics_consent_is_its_own_purpose(world, make_case, req):
    yes = _case(make_case(world.host_a, world.addr_a))
    no = _case(make_case(world.host_a, world.addr_a, consent=ConsentChoice(record=True)))
    assert consent.has_consent(yes, "statistics") and not consent.has_consent(no, "statistics")
    assert consent.has_consent(no, "record")


def test_giving_consent_again_supersedes_and_keeps_the_history(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a))
    consent.give_consent(user_of(world.host_a), case, ConsentInput("share", service="police", fields=("phone",)))
    assert consent.shareable_fields(case, "police") == {"phone"}
    police = [c for c in consent.summary(case).history if c.service == "police"]
    assert len(police) == 2 and police[0].withdrawn_at is not None and police[1].withdrawn_at is None


def test_an_unknown_service_or_field_is_refused(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a))
    with pytest.raises(ValidationError) as caught:
        consent.give_consent(user_of(world.host_a), case,
                             ConsentIn.from_values(purpose="share", service="army", fields=("dna",)).as_input())
    assert set(caught.value.fields) == {"service", "fields"}


def test_the_consent_api_lists_gives_and_withdraws(world, make_case, token, client):
    case_id = make_case(world.host_a, world.addr_a)
    headers = token(world.host_a)
    items = client.get(f"/api/v1/cases/{case_id}/consents", headers=headers).get_json()["items"]
    assert {(i["purpose"], i["service"]) for i in items} == {
        ("record", None), ("statistics", None), ("share", "police")}
    given = client.post(f"/api/v1/cases/{case_id}/consents", headers=headers,
                        json={"purpose": "share", "service": "health", "fields": ["full_name", "injuries"]})
    assert given.status_code == 201 and given.get_json()["fields"] == ["full_name", "injuries"]
    withdrawn = client.post(f"/api/v1/cases/{case_id}/consents/{given.get_json()['id']}/withdraw", headers=headers)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["active"] is False
    again = client.post(f"/api/v1/cases/{case_id}/consents/{given.get_json()['id']}/withdraw", headers=headers)
    assert again.status_code == 409


def test_the_consent_screen_records_a_choice_field_by_field(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_a)
    assert client.get(f"/cases/{case_id}/consents").status_code == 200
    response = client.post(f"/cases/{case_id}/consents", data={
        "purpose": "share", "service": "legal_aid", "fields": ["acts", "relationship"], "given_by": "self"})
    assert response.status_code == 302
    assert consent.shareable_fields(_case(case_id), "legal_aid") == {"acts", "relationship"}
