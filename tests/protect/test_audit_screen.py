"""The auditor reads the trail in her own words (issue 13): Vietnamese labels for actions, outcomes, kinds
of object and roles, the account name beside its id, and a filter by action label."""

from __future__ import annotations

from casework.extensions import db
from casework.protect import audit


def test_the_audit_screen_shows_labels_and_account_names(app, client, make_user, login):
    auditor = make_user("auditor", username="kiemtra1")
    host = make_user("commune_officer", scope="05533", username="chu_nha_a")
    from casework.auth.models import User

    with app.test_request_context():
        audit.record("case_view", object_type="case", object_id="abcDEF123", actor=db.session.get(User, host.id))
        db.session.commit()
    login(client, auditor)
    page = client.get("/audit/?action=case_view").get_data(as_text=True)
    assert "Xem hồ sơ" in page and "chu_nha_a" in page and f"<code>{host.id}</code>" in page
    assert "Đã thực hiện" in page and ">Hồ sơ" in page
    assert '<option value="case_view" selected>Xem hồ sơ</option>' in page


def test_an_unknown_action_code_is_shown_as_it_is(app):
    from casework.protect.labels import action_label

    with app.test_request_context():
        assert action_label("something_new") == "something_new"
        assert action_label("login") == "Đăng nhập"
