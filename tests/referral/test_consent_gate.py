"""The consent gate is on the server (issue 5): no referral without consent for that kind of service;
the override for a threat to life is its own permission, needs a written reason, is marked and reported."""

from __future__ import annotations

from casework.cases.models import CaseEvent
from casework.extensions import db
from casework.protect.audit import AuditEvent
from referral.models import Notification, Referral
from tests.referral.conftest import bearer, send

LIFE = "Người gây bạo lực đang cầm dao tìm chị ở thôn bên cạnh"


def test_referral_without_consent_for_the_service_is_refused_and_nothing_is_stored(client, world):
    response = client.post(f"/api/v1/cases/{world.case.id}/referrals", headers=bearer(world.host), json={
            "organisation_id": world.other_org.id, "service": "health", "reason": "Khám vết thương"})
    assert response.status_code == 409
    body = response.get_json()["error"]
    assert body["code"] == "consent_missing" and "service" in body["fields"]
    assert db.session.query(Referral).count() == 0
    assert db.session.query(Notification).count() == 0


def test_referral_with_consent_shares_exactly_the_consented_fields(client, world):
    response = send(client, world)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["state"] == "sent" and body["override"] is False
    assert body["shared_fields"] == ["age_band", "acts"]
    assert db.session.get(Referral, body["id"]).shared_fields == ["age_band", "acts"]


def test_override_without_the_permission_is_refused(client, world):
    response = client.post(f"/api/v1/cases/{world.case.id}/referrals", headers=bearer(world.host), json={
        "organisation_id": world.other_org.id, "service": "health", "reason": "Cấp cứu", "override": True,
        "override_reason": LIFE})
    assert response.status_code == 422
    assert "override" in response.get_json()["error"]["fields"]
    assert db.session.query(Referral).count() == 0


def test_override_without_a_written_reason_is_refused(client, world):
    from tests.referral.conftest import user_of

    user_of(world.host).can_override_consent = True
    db.session.commit()
    for reason in (None, "", "nguy hiểm"):
        body = {"organisation_id": world.other_org.id, "service": "health", "reason": "Cấp cứu", "override": True}
        if reason is not None:
            body["override_reason"] = reason
        response = client.post(f"/api/v1/cases/{world.case.id}/referrals", headers=bearer(world.host), json=body)
        assert response.status_code == 422, reason
        assert "override_reason" in response.get_json()["error"]["fields"]
    assert db.session.query(Referral).count() == 0


def test_override_with_permission_and_reason_is_marked_audited_and_reported(client, world):
    from tests.referral.conftest import user_of

    user_of(world.host).can_override_consent = True
    db.session.commit()
    response = client.post(f"/api/v1/cases/{world.case.id}/referrals", headers=bearer(world.host), json={
        "organisation_id": world.other_org.id, "service": "health", "reason": "Cấp cứu", "override": True,
        "override_reason": LIFE, "fields": ["full_name", "phone"]})
    assert response.status_code == 201, response.get_json()
    referral = db.session.get(Referral, response.get_json()["id"])
    assert referral.override and referral.override_by_id == world.host.id
    assert referral.override_reason == LIFE and referral.shared_fields == ["full_name", "phone"]
    event = db.session.query(AuditEvent).filter_by(action="referral_override").one()
    assert event.object_id == referral.id and event.fields == "full_name,phone" and event.detail == "health"
    kinds = {e.kind for e in db.session.query(CaseEvent).filter_by(case_id=world.case.id)}
    assert "referral_override" in kinds
    notes = db.session.query(Notification).filter_by(kind="referral_override").all()
    assert [n.user_id for n in notes] == [world.officer.id]
    assert notes[0].reference == world.case.reference


def test_withdrawn_consent_hides_the_field_from_the_receiver_at_once(client, world):
    from casework.cases.consent import ConsentInput, give_consent
    from tests.referral.conftest import user_of

    referral_id = send(client, world).get_json()["id"]
    give_consent(user_of(world.host), world.case, ConsentInput("share", service="police", fields=("age_band",)))
    db.session.commit()
    body = client.get(f"/api/v1/referrals/{referral_id}", headers=bearer(world.provider)).get_json()
    assert body["shared_fields"] == ["age_band"] and set(body["shared"]) == {"age_band"}


def test_consent_given_after_sending_does_not_widen_what_was_sent(client, world):
    from casework.cases.consent import ConsentInput, give_consent
    from tests.referral.conftest import user_of

    referral_id = send(client, world).get_json()["id"]
    give_consent(user_of(world.host), world.case,
                 ConsentInput("share", service="police", fields=("age_band", "acts", "full_name", "phone")))
    db.session.commit()
    body = client.get(f"/api/v1/referrals/{referral_id}", headers=bearer(world.provider)).get_json()
    assert body["shared_fields"] == ["age_band", "acts"] and "full_name" not in body["shared"]
