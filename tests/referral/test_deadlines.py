"""Deadlines and overdue referrals (issue 5): overdue ones first in the sender's and the commune officer's
lists, and an in-app notification that carries a code and a link, never personal data."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casework.extensions import db
from casework.models import utcnow
from referral import notifications, services
from referral.models import Notification, Referral
from tests.referral.conftest import NAME, PHONE, bearer, send, user_of


def _age(referral_id: str, hours: float) -> Referral:
    referral = db.session.get(Referral, referral_id)
    referral.sent_at -= timedelta(hours=hours)
    referral.ack_due_at -= timedelta(hours=hours)
    db.session.commit()
    return referral


@pytest.fixture
def two(client, world):
    """Two referrals of the case: ``late`` past its deadline, ``fresh`` sent later and still in time."""
    late = send(client, world).get_json()["id"]
    _age(late, 30)
    fresh = send(client, world, organisation_id=world.other_org.id).get_json()["id"]
    return late, fresh


def test_referral_is_overdue_only_while_unanswered_after_its_deadline(client, world, two):
    late, fresh = two
    assert db.session.get(Referral, late).is_overdue() and not db.session.get(Referral, fresh).is_overdue()
    client.post(f"/api/v1/referrals/{late}/accept", headers=bearer(world.provider))
    db.session.expire_all()
    assert not db.session.get(Referral, late).is_overdue()


def test_overdue_referrals_come_first_in_the_senders_and_the_commune_officers_lists(world, two):
    late, fresh = two
    for account in (world.host, world.officer):
        page = services.list_referrals(user_of(account))
        assert [r.id for r in page.overdue] == [late] and [r.id for r in page.items] == [fresh]


def test_overdue_section_is_shown_above_the_list_on_the_screen(client, world, two, login):
    late, fresh = two
    login(client, world.officer)
    page = client.get("/referral/").get_data(as_text=True)
    assert page.index(f"/referral/{late}") < page.index(f"/referral/{fresh}")
    assert "rf-row-overdue" in page


def test_overdue_notification_goes_to_sender_officer_and_receiver_once_without_personal_data(app, world, two):
    late, _fresh = two
    assert notifications.notify_overdue() == 1
    assert notifications.notify_overdue() == 0
    db.session.commit()
    notes = db.session.query(Notification).filter(Notification.kind.in_(
        ("referral_overdue", "referral_overdue_receiver"))).all()
    by_user = {n.user_id: n for n in notes}
    assert set(by_user) == {world.host.id, world.officer.id, world.provider.id}
    assert by_user[world.host.id].reference == world.case.reference
    assert by_user[world.provider.id].reference == db.session.get(Referral, late).reference
    for n in notes:
        with app.test_request_context():
            text = notifications.message(n)
        assert n.referral_id == late and NAME not in text and PHONE not in text


def test_notifications_page_links_to_the_referral_and_the_menu_counts_unread(app, client, world, two, login):
    late, _fresh = two
    login(client, world.host)
    # Issue 18: the list no longer sweeps (a page never writes); cron runs ``flask notify overdue``.
    assert "notified: 1" in app.test_cli_runner().invoke(args=["notify", "overdue"]).output
    page = client.get("/referral/notifications").get_data(as_text=True)
    assert f"/referral/{late}" in page and world.case.reference in page and NAME not in page
    assert "Thông báo (1)" in page
    assert client.post("/referral/notifications/read", data={}).status_code == 302
    page = client.get("/referral/notifications").get_data(as_text=True)
    assert "Thông báo (1)" not in page and ">Thông báo<" in page


def test_a_user_cannot_mark_another_users_notification_read(client, world, two, login):
    notifications.notify_overdue()
    db.session.commit()
    note = db.session.query(Notification).filter_by(user_id=world.host.id).one()
    login(client, world.officer)
    client.post("/referral/notifications/read", data={"notification_id": note.id})
    db.session.expire_all()
    assert db.session.get(Notification, note.id).read_at is None


def test_api_lists_overdue_referrals_on_request(client, world, two):
    late, _fresh = two
    items = client.get("/api/v1/referrals?overdue=true", headers=bearer(world.host)).get_json()["items"]
    assert [(r["id"], r["overdue"]) for r in items] == [(late, True)]


def test_province_officer_sets_her_provinces_deadlines_on_the_screen(client, make_user, login):
    officer = make_user("province_officer", scope="19")
    login(client, officer)
    form = {f"hours_{s}": "24" for s in services.SERVICE_TYPES} | {f"urgent_{s}": "2" for s in services.SERVICE_TYPES}
    response = client.post("/referral/deadlines", data={**form, "hours_police": "6", "urgent_police": "1"})
    assert response.status_code == 302
    assert services.deadlines_for("19")["police"] == (6, 1)
    response = client.post("/referral/deadlines", data={**form, "urgent_health": "48"})
    assert response.status_code == 422 and "không thể dài hơn" in response.get_data(as_text=True)
    assert services.deadlines_for("19")["health"] == (24, 2)


def test_province_officer_cannot_set_another_provinces_deadlines(app, make_user):
    from casework.errors import NotFound

    officer = user_of(make_user("province_officer", scope="19"))
    with app.test_request_context(), pytest.raises(NotFound):
        from referral.schemas import Deadline

        services.set_deadlines(officer, "01", {"police": Deadline(hours=5, urgent=1)})


def test_overdue_sweep_command_notifies(app, world, two):
    result = app.test_cli_runner().invoke(args=["referral", "notify-overdue"])
    assert result.exit_code == 0 and "1" in result.output
    assert db.session.query(Notification).filter_by(kind="referral_overdue").count() == 2


def test_deadline_is_measured_from_sending(world, two):
    late, _ = two
    r = db.session.get(Referral, late)
    assert r.ack_due_at < utcnow() < r.ack_due_at + timedelta(hours=7)
