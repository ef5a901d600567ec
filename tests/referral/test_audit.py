"""Every view and change of a referral is an audit event with ids and field names, never values (issue 5)."""

from __future__ import annotations

from casework.extensions import db
from casework.protect.audit import AuditEvent
from tests.referral.conftest import NAME, PHONE, bearer, send

OUTCOME = "Nguyễn Thị Bí Mật đã được khám"


def _events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return db.session.query(AuditEvent).filter_by(action=action).order_by(AuditEvent.id).all()


def _no_values(events) -> None:
    for e in events:
        blob = " ".join(str(getattr(e, c)) for c in ("object_id", "fields", "detail"))
        assert NAME not in blob and PHONE not in blob and "Bí Mật" not in blob


def test_sending_accepting_and_completing_are_audited_with_field_names(client, world):
    referral_id = send(client, world).get_json()["id"]
    client.post(f"/api/v1/referrals/{referral_id}/accept", headers=bearer(world.provider))
    client.post(f"/api/v1/referrals/{referral_id}/complete", json={"outcome": OUTCOME}, headers=bearer(world.provider))
    (sent,) = _events("referral_send")
    assert (sent.object_id, sent.fields, sent.detail, sent.actor_id) == (referral_id, "acts,age_band", "police:normal",
                                                                          world.host.id)
    (accepted,) = _events("referral_accept")
    assert (accepted.object_id, accepted.actor_id, accepted.actor_role) == (referral_id, world.provider.id,
                                                                             "service_provider")
    (completed,) = _events("referral_complete")
    assert completed.fields == "outcome,service_date,service_given" and completed.detail == "provided"
    _no_values([sent, accepted, completed])


def test_decline_and_cancel_are_audited(client, world):
    first = send(client, world).get_json()["id"]
    second = send(client, world, organisation_id=world.other_org.id).get_json()["id"]
    client.post(f"/api/v1/referrals/{first}/decline", json={"reason": "Bí Mật"}, headers=bearer(world.provider))
    client.post(f"/api/v1/referrals/{second}/cancel", headers=bearer(world.host))
    assert [e.object_id for e in _events("referral_decline")] == [first]
    assert [e.object_id for e in _events("referral_cancel")] == [second]
    _no_values(_events("referral_decline"))


def test_each_view_by_the_receiver_is_audited_with_the_names_of_the_fields_shown(client, world, login):
    referral_id = send(client, world).get_json()["id"]
    client.get(f"/api/v1/referrals/{referral_id}", headers=bearer(world.provider))
    login(client, world.provider)
    client.get(f"/referral/{referral_id}")
    views = [e for e in _events("referral_view") if e.actor_id == world.provider.id]
    assert [(e.object_id, e.fields) for e in views] == [(referral_id, "acts,age_band,reason")] * 2
    _no_values(views)


def test_lists_are_audited_with_counts_only(client, world, login):
    send(client, world)
    client.get("/api/v1/referrals", headers=bearer(world.provider))
    login(client, world.host)
    client.get("/referral/")
    lists = _events("referral_list")
    assert [(e.actor_id, e.detail) for e in lists] == [(world.provider.id, "rows:1"), (world.host.id, "rows:1")]


def test_access_outside_scope_leaves_a_denied_event(client, world):
    referral_id = send(client, world).get_json()["id"]
    assert client.get(f"/api/v1/referrals/{referral_id}", headers=bearer(world.other_provider)).status_code == 404
    denied = [e for e in _events("access_denied") if e.object_type == "referral"]
    assert [(e.object_id, e.actor_id, e.outcome) for e in denied] == [(referral_id, world.other_provider.id, "denied")]
