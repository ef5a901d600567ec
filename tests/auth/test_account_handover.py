"""An account change waiting for a second admin reaches the other admins (issue 13): in their work queue and
as a notification; never the requester's own queue."""

from __future__ import annotations

from casework import notify, work
from casework.auth.models import User
from casework.extensions import db
from tests.auth.test_separation import _token


def test_a_pending_account_change_is_in_the_other_admins_queue_and_notifications(app, client, make_user):
    admin, second = make_user("admin"), make_user("admin")
    officer = make_user("commune_officer", scope="05533")
    response = client.patch(f"/api/v1/users/{officer.id}", headers=_token(client, admin), json={"scope": "05528"})
    change_id = response.get_json()["id"]
    with app.test_request_context():
        db.session.expire_all()
        second_user, first_user = db.session.get(User, second.id), db.session.get(User, admin.id)
        assert [(i.kind, i.object_id) for i in work.work_for(second_user).items] == [
            ("account_change_confirm", change_id)]
        assert work.work_for(first_user).items == []
        assert [n.kind for n in notify.notifications_for(second_user).items] == ["account_change_pending"]
        assert notify.notifications_for(first_user).items == []
    client.post(f"/api/v1/account-changes/{change_id}/confirm", headers=_token(client, second))
    with app.test_request_context():
        assert work.work_for(db.session.get(User, second.id)).items == []
