"""A read event records what was shown (issue 18): the referral page and API answer, sender and receiver.

Three referrals of one case whose every free-text field is planted: one completed (the receiver recorded the
service), one sent without her consent (override) and accepted, one declined. The sender (host, commune
officer) and each receiving organisation's staff open every one of them; the event's fields must name every
planted value the body shows and nothing planted that it does not (see tests/read_events.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from casework.extensions import db
from casework.models import utcnow
from tests.read_events import _body, check_read, shown_in
from tests.referral.conftest import bearer, user_of

PLANTED = {
    "reason": ["Zqlydo"],
    "override_reason": ["Zqkhancap"],
    "decline_reason": ["Zqtuchoi"],
    "service_given": ["Zqdichvu"],
    "outcome": ["Zqketcuc"],
    # Her case's fields: a receiver may read those she shares; the rest must never show on a referral.
    "full_name": ["Zqhoten Mai"],
    "phone": ["0987650323"],
    "home_address": ["Zqthonxom"],
    "id_number": ["079183009876"],
    "injuries": ["Zqvetbam"],
    "narrative": ["Zqriengtu"],
    "safety_plan": ["Zqantoan"],
}


def _post(client, account, referral_id, action, body=None):
    response = client.post(f"/api/v1/referrals/{referral_id}/{action}", headers=bearer(account), json=body or {})
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def planted(client, world):
    """(completed, override, declined) referral ids of a planted case of ``world.host``."""
    from casework.cases import services
    from casework.cases.consent import ConsentChoice

    host = user_of(world.host)
    case = services.create_case(host, services.IntakeData(
        address_id=host.addresses[0].id, intake_at=utcnow() - timedelta(hours=3),
        person=services.PersonData(full_name="Zqhoten Mai", birth_year=1990, sex="female", phone="0987650323",
                                   id_number="079183009876", home_address="Zqthonxom"),
        acts=("a", "b"), relationship="spouse", injuries="Zqvetbam", first_aid_given=False,
        safety_plan="Zqantoan", narrative="Zqriengtu",
        consent=ConsentChoice(record=True, statistics=True,
                              share=(("police", ("full_name", "phone", "age_band", "acts", "injuries")),
                                     ("health", ("age_band",))))))
    host.can_override_consent = True
    db.session.commit()

    def send(org, service, **extra):
        response = client.post(f"/api/v1/cases/{case.id}/referrals", headers=bearer(world.host), json={
            "organisation_id": org.id, "service": service, "urgency": "normal", "reason": "Zqlydo cần giúp",
            **extra})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    completed = send(world.org, "police")
    _post(client, world.provider, completed, "accept")
    _post(client, world.provider, completed, "complete", {"result": "provided", "service_given": "Zqdichvu",
                                                          "outcome": "Zqketcuc an toàn"})
    override = send(world.other_org, "police", override=True, override_reason="Zqkhancap: tính mạng bị đe doạ",
                    fields=["full_name", "phone", "home_address"])
    _post(client, world.other_provider, override, "accept")
    declined = send(world.other_org, "health")
    _post(client, world.other_provider, declined, "decline", {"reason": "Zqtuchoi không có cán bộ"})
    return completed, override, declined


def _check_all(client, login, account, referral_ids) -> dict[str, set[str]]:
    login(client, account)
    headers = bearer(account)
    out = {}
    for referral_id in referral_ids:
        out[f"page {referral_id}"] = check_read(client, f"/referral/{referral_id}", PLANTED, ("referral_view",),
                                                referral_id)
        out[f"answer {referral_id}"] = check_read(client, f"/api/v1/referrals/{referral_id}", PLANTED,
                                                  ("referral_view",), referral_id, headers=headers)
    return out


@pytest.mark.parametrize("who", ["host", "officer"])
def test_sender_pages_and_answers_record_what_was_shown(client, login, world, planted, who):
    completed, override, declined = planted
    recorded = _check_all(client, login, getattr(world, who), planted)
    for name, fields in recorded.items():
        assert not fields & {"full_name", "phone", "home_address", "narrative"}, (name, fields)
    for kind in ("page", "answer"):
        assert {"reason", "service_given", "outcome"} <= recorded[f"{kind} {completed}"]
        assert {"reason", "override_reason", "override"} <= recorded[f"{kind} {override}"]
        assert {"reason", "decline_reason"} <= recorded[f"{kind} {declined}"]


def test_receiver_pages_and_answers_record_what_was_shown(client, login, world, planted):
    completed, override, declined = planted
    recorded = _check_all(client, login, world.provider, [completed])
    recorded |= _check_all(client.application.test_client(), login, world.other_provider, [override, declined])
    for kind in ("page", "answer"):
        assert {"reason", "full_name", "phone", "injuries", "service_given", "outcome"} \
            <= recorded[f"{kind} {completed}"]
        assert {"reason", "full_name", "phone", "home_address", "override"} <= recorded[f"{kind} {override}"]
        assert "override_reason" not in recorded[f"{kind} {override}"]
        # Declined: her data is no longer shown, only the referral's own words.
        assert recorded[f"{kind} {declined}"] & set(PLANTED) == {"reason", "decline_reason"}


def test_another_organisation_gets_404_and_sees_nothing(client, login, world, planted):
    completed, _override, _declined = planted
    login(client, world.other_provider)
    for response in (client.get(f"/referral/{completed}"),
                     client.get(f"/api/v1/referrals/{completed}", headers=bearer(world.other_provider))):
        assert response.status_code == 404 and not shown_in(_body(response), PLANTED)
