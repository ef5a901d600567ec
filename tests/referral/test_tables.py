"""The statistics tables of the referral domain (issue 5): registered in the catalogue, fed by records of
referrals by kind of service and outcome, counting only those who consented to statistics."""

from __future__ import annotations

from casework.models import utcnow
from casework.stats.catalogue import catalogue, check_catalogue
from casework.text import VN_TZ
from referral.tables import TABLES, outcome_code, referral_records
from tests.referral.conftest import bearer, send


def test_referral_tables_are_in_the_catalogue_and_obey_its_rules(app):
    ids = {t.id for t in catalogue().tables()}
    assert {"REF_P_SERVICE", "REF_P_OUTCOME", "REF_P_SERVICE_OUTCOME", "REF_E_SERVICE"} <= ids
    assert check_catalogue(list(TABLES)) == []


def test_records_carry_service_outcome_and_consent_and_no_identity(client, world, make_case):
    done = send(client, world).get_json()["id"]
    client.post(f"/api/v1/referrals/{done}/accept", headers=bearer(world.provider))
    client.post(f"/api/v1/referrals/{done}/complete", json={"outcome": "Xong", "result": "partly_provided"},
                headers=bearer(world.provider))
    uncounted = make_case(world.host, statistics=False)
    send(client, world, organisation_id=world.other_org.id)
    client.post(f"/api/v1/cases/{uncounted.id}/referrals", headers=bearer(world.host), json={
        "organisation_id": world.org.id, "service": "police", "reason": "Bảo vệ"})
    today = utcnow().astimezone(VN_TZ).date()
    records = [r for r in referral_records(today, today) if r.measure == "referred_persons"]
    got = sorted((sorted(r.attributes["referral_outcome"]), r.consent, r.person_id == world.case.person_id)
                 for r in records)
    assert got == [(["PARTLY"], True, True), (["PENDING"], False, False), (["PENDING"], True, True)]
    assert all(r.attributes["referral_service"] == frozenset({"POLICE"}) and r.province_code == "19"
               and r.commune_code == "05533" for r in records)
    assert len([r for r in referral_records(today, today) if r.measure == "referrals"]) == 3


def test_outcome_codes_follow_the_state():
    assert [outcome_code(s, r) for s, r in (("sent", None), ("accepted", None), ("declined", None),
                                            ("cancelled", None), ("completed", "not_provided"))] == \
        ["PENDING", "PENDING", "DECLINED", "CANCELLED", "NOT_PROVIDED"]
