"""Sending a referral: bad input gets a message per field and stores nothing (issue 5, Bad input)."""

from __future__ import annotations

import pytest

from casework.extensions import db
from referral.models import Referral
from tests.referral.conftest import bearer, send


def _refused(response, field: str, status: int = 422) -> None:
    assert response.status_code == status, response.get_json()
    assert field in response.get_json()["error"]["fields"], response.get_json()
    assert db.session.query(Referral).count() == 0


def test_organisation_that_does_not_offer_the_service_is_refused(client, world, make_org):
    legal = make_org(services=("legal_aid",), name="Trợ giúp pháp lý")
    _refused(send(client, world, organisation_id=legal.id), "organisation_id")


def test_organisation_that_does_not_serve_the_commune_is_refused(client, world, make_org):
    elsewhere = make_org(services=("police",), communes=("05528",), name="Công an xã khác")
    _refused(send(client, world, organisation_id=elsewhere.id), "organisation_id")


def test_inactive_or_unknown_organisation_is_refused(client, world, make_org):
    closed = make_org(services=("police",), active=False, name="Đã ngừng")
    _refused(send(client, world, organisation_id=closed.id), "organisation_id")
    _refused(send(client, world, organisation_id="no-such-organisation"), "organisation_id")


@pytest.mark.parametrize("field, value", [("service", "astrology"), ("urgency", "whenever"), ("reason", "  "),
                                          ("reason", 42), ("override", "yes")])
def test_bad_value_is_refused_on_its_field(client, world, field, value):
    _refused(send(client, world, **{field: value}), field)


def test_malformed_body_is_a_400(client, world):
    response = client.post(f"/api/v1/cases/{world.case.id}/referrals", data="[1,", headers={
        **bearer(world.host), "Content-Type": "application/json"})
    assert response.status_code == 400


def test_same_open_referral_twice_is_a_conflict(client, world):
    assert send(client, world).status_code == 201
    response = send(client, world)
    assert response.status_code == 409
    assert db.session.query(Referral).count() == 1


def test_closed_case_cannot_be_referred(client, world):
    world.case.status = "closed"
    db.session.commit()
    assert send(client, world).status_code == 409
    assert db.session.query(Referral).count() == 0


def test_host_of_another_address_gets_404(client, world, make_user, make_address):
    stranger = make_user("host", address_ids=(make_address("05533", name="ĐCTC khác").id,))
    response = send(client, world, headers=bearer(stranger))
    assert response.status_code == 404
    assert db.session.query(Referral).count() == 0


def test_commune_officer_may_refer_a_case_of_her_commune(client, world):
    response = send(client, world, headers=bearer(world.officer))
    assert response.status_code == 201 and response.get_json()["case_reference"] == world.case.reference


def test_urgent_referral_is_due_in_2_hours_and_normal_in_24(client, world):
    normal = db.session.get(Referral, send(client, world).get_json()["id"])
    urgent = db.session.get(Referral, send(client, world, organisation_id=world.other_org.id,
                                           urgency="urgent").get_json()["id"])
    assert round((normal.ack_due_at - normal.sent_at).total_seconds() / 3600) == 24
    assert round((urgent.ack_due_at - urgent.sent_at).total_seconds() / 3600) == 2


def test_province_deadline_setting_applies_to_new_referrals(client, world, make_user):
    officer = make_user("province_officer", scope="19")
    from referral import services
    from referral.schemas import Deadline
    from tests.referral.conftest import user_of

    values = {service: Deadline(hours=hours, urgent=urgent) for service, (hours, urgent) in
              services.deadlines_for("19").items()}
    values["police"] = Deadline(hours=8, urgent=1)
    services.set_deadlines(user_of(officer), "19", values)
    db.session.commit()
    referral = db.session.get(Referral, send(client, world, urgency="urgent").get_json()["id"])
    assert round((referral.ack_due_at - referral.sent_at).total_seconds() / 3600) == 1
