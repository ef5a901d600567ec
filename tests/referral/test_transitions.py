"""Every transition of a referral and every illegal one (DESIGN §2 Referral; issue 5)."""

from __future__ import annotations

import pytest

from casework.cases.models import CaseEvent
from casework.cases.services import timeline
from casework.extensions import db
from referral.models import Notification, Referral
from tests.referral.conftest import bearer, send


def _post(client, account, referral_id, action, body=None):
    kwargs = {"json": body} if body is not None else {}
    return client.post(f"/api/v1/referrals/{referral_id}/{action}", headers=bearer(account), **kwargs)


@pytest.fixture
def sent(client, world):
    return send(client, world).get_json()["id"]


def test_receiver_accepts_then_records_the_service(client, world, sent):
    response = _post(client, world.provider, sent, "accept")
    assert response.status_code == 200 and response.get_json() == {"id": sent, "state": "accepted"}
    response = _post(client, world.provider, sent, "complete",
                     {"outcome": "Đã lập biên bản, cấm tiếp xúc 3 ngày", "result": "provided",
                      "service_given": "Bảo vệ tại chỗ"})
    assert response.status_code == 200 and response.get_json()["state"] == "completed"
    referral = db.session.get(Referral, sent)
    assert referral.result == "provided" and referral.service_date is not None
    assert referral.outcome == "Đã lập biên bản, cấm tiếp xúc 3 ngày"


def test_completed_outcome_appears_in_the_case_timeline(client, world, sent):
    _post(client, world.provider, sent, "accept")
    _post(client, world.provider, sent, "complete", {"outcome": "Đã khám và cấp giấy chứng nhận thương tích"})
    db.session.expire_all()
    entries = [(e.kind, e.note) for e in timeline(world.case) if e.object_id == sent]
    assert ("referral_completed", "Đã khám và cấp giấy chứng nhận thương tích") in entries
    assert {k for k, _n in entries} == {"referral_sent", "referral_accepted", "referral_completed"}


def test_receiver_declines_with_a_reason(client, world, sent):
    response = _post(client, world.provider, sent, "decline", {"reason": "Không có cán bộ trực"})
    assert response.status_code == 200 and response.get_json()["state"] == "declined"
    referral = db.session.get(Referral, sent)
    assert referral.decline_reason == "Không có cán bộ trực"
    kinds = [e.kind for e in db.session.query(CaseEvent).filter_by(object_id=sent)]
    assert "referral_declined" in kinds


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": 7}])
def test_decline_without_a_reason_is_refused_and_nothing_changes(client, world, sent, body):
    response = _post(client, world.provider, sent, "decline", body)
    assert response.status_code == 422 and "reason" in response.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(Referral, sent).state == "sent"


def test_sender_cancels_before_acceptance(client, world, sent):
    response = _post(client, world.host, sent, "cancel")
    assert response.status_code == 200 and response.get_json()["state"] == "cancelled"
    assert db.session.query(Notification).filter_by(kind="referral_cancelled", user_id=world.provider.id).count() == 1


@pytest.mark.parametrize("steps, actor, action, body", [
    ([], "provider", "complete", {"outcome": "x"}),  # complete before accept
    (["accept"], "provider", "accept", None),  # accept twice
    (["accept"], "provider", "decline", {"reason": "muộn"}),  # decline after accept
    (["accept"], "host", "cancel", None),  # cancel after acceptance
    (["decline"], "provider", "accept", None),  # accept after decline
    (["decline"], "provider", "complete", {"outcome": "x"}),
    (["cancel"], "provider", "accept", None),  # accept after the sender cancelled
    (["cancel"], "host", "cancel", None),  # cancel twice
    (["accept", "complete"], "provider", "complete", {"outcome": "y"}),  # complete twice
    (["accept", "complete"], "host", "cancel", None),
])
def test_illegal_transition_is_a_409_and_changes_nothing(client, world, sent, steps, actor, action, body):
    bodies = {"decline": {"reason": "Không nhận"}, "complete": {"outcome": "Xong"}}
    for step in steps:
        who = world.host if step == "cancel" else world.provider
        assert _post(client, who, sent, step, bodies.get(step)).status_code == 200, step
    db.session.expire_all()
    before = db.session.get(Referral, sent)
    state, updated = before.state, before.updated_at
    response = _post(client, getattr(world, actor), sent, action, body)
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"]["code"] == "conflict"
    db.session.expire_all()
    after = db.session.get(Referral, sent)
    assert (after.state, after.updated_at) == (state, updated)


def test_sender_cannot_accept_and_receiver_cannot_cancel(client, world, sent):
    assert _post(client, world.host, sent, "accept").status_code == 404
    assert _post(client, world.officer, sent, "complete", {"outcome": "x"}).status_code == 404
    assert _post(client, world.provider, sent, "cancel").status_code == 404
    db.session.expire_all()
    assert db.session.get(Referral, sent).state == "sent"


def test_service_date_in_the_future_is_refused(client, world, sent):
    _post(client, world.provider, sent, "accept")
    response = _post(client, world.provider, sent, "complete", {"outcome": "Xong", "service_date": "2999-01-01"})
    assert response.status_code == 422 and "service_date" in response.get_json()["error"]["fields"]
    response = _post(client, world.provider, sent, "complete", {"outcome": "Xong", "service_date": "hôm qua"})
    assert response.status_code == 422 and "service_date" in response.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(Referral, sent).state == "accepted"


def test_sender_is_notified_of_each_answer_with_the_case_code_only(client, world, sent):
    _post(client, world.provider, sent, "accept")
    _post(client, world.provider, sent, "complete", {"outcome": "Nguyễn Thị Bí Mật đã được hỗ trợ"})
    notes = db.session.query(Notification).filter_by(user_id=world.host.id).order_by(Notification.created_at).all()
    assert [n.kind for n in notes] == ["referral_accepted", "referral_completed"]
    assert {n.reference for n in notes} == {world.case.reference}
