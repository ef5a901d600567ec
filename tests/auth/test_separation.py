"""Issue 12, accounts: no single admin reaches a woman's identity alone.

Each attack of the issue is scripted from its first step to its last and must fail at the step that
should stop it; the two-person flow and the credentials people own are tested around it.
"""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from casework.auth.models import AccountChange, ApiToken, User, UserSession
from casework.extensions import db
from casework.models import utcnow
from casework.protect.audit import AuditEvent
from tests.conftest import PASSWORD, next_code


def _token(client, account) -> dict:
    """A bearer token as /api/v1/auth/token issues it (each TOTP step signs in once, so not through it)."""
    from casework.auth.services import issue_api_token

    token, _expires = issue_api_token(db.session.get(User, account.id))
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _events(action: str | None = None) -> list[AuditEvent]:
    db.session.expire_all()
    q = db.session.query(AuditEvent).order_by(AuditEvent.id)
    if action:
        q = q.filter(AuditEvent.action == action)
    return list(q)


def _user(account) -> User:
    db.session.expire_all()
    return db.session.get(User, account.id)


@pytest.fixture
def host(make_user, make_address):
    return make_user("host", address_ids=(make_address().id,))


# --- attack 1: an admin makes herself a commune officer with the override permission ------------------


def test_admin_cannot_change_her_own_role_scope_or_override_through_the_api(client, make_user):
    admin = make_user("admin")
    headers = _token(client, admin)
    before = len(_events())
    response = client.patch(f"/api/v1/users/{admin.id}", headers=headers,
                            json={"role": "commune_officer", "scope": "05533", "can_override_consent": True})
    assert response.status_code == 403
    body = response.get_json()["error"]
    assert body["code"] == "self_change_forbidden"
    assert "quản trị viên khác" in body["message"]
    user = _user(admin)
    assert (user.role, user.commune_code, user.can_override_consent) == ("admin", None, False)
    assert db.session.query(AccountChange).count() == 0
    new_events = _events()[before:]
    assert [(e.action, e.outcome, e.object_id, e.detail) for e in new_events] == [
        ("account_change_refused", "denied", admin.id, "self_change_forbidden")]
    # The attack's last step cannot happen: she still has no case list.
    assert client.get("/api/v1/cases", headers=headers).status_code == 404


def test_admin_cannot_change_her_own_account_on_the_screen(app, make_user, login):
    admin = make_user("admin")
    client = app.test_client()
    login(client, admin)
    response = client.post(f"/admin/users/{admin.id}", data={
        "username": admin.username, "role": "commune_officer", "scope": "05533", "can_override_consent": "y"})
    assert response.status_code == 403
    assert "quản trị viên khác" in response.get_data(as_text=True)
    user = _user(admin)
    assert (user.role, user.commune_code, user.can_override_consent) == ("admin", None, False)
    assert db.session.query(AccountChange).count() == 0
    assert [e.detail for e in _events("account_change_refused")] == ["self_change_forbidden"]
    for action in ("reset_2fa",):
        assert client.post(f"/admin/users/{admin.id}", data={"action": action}).status_code == 403


def test_an_accomplice_request_for_her_own_account_cannot_be_confirmed_by_herself(client, make_user):
    admin, other = make_user("admin"), make_user("admin")
    other_headers, admin_headers = _token(client, other), _token(client, admin)
    response = client.patch(f"/api/v1/users/{admin.id}", headers=other_headers,
                            json={"role": "commune_officer", "scope": "05533", "can_override_consent": True})
    assert response.status_code == 202
    change_id = response.get_json()["id"]
    assert _user(admin).role == "admin"  # nothing takes effect before a second admin confirms
    response = client.post(f"/api/v1/account-changes/{change_id}/confirm", headers=admin_headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "self_change_forbidden"
    assert _user(admin).role == "admin"
    assert db.session.get(AccountChange, change_id).state == "pending"


# --- attack 2: reset a host's second factor and enrol a new authenticator with her old password --------


def test_second_factor_reset_needs_a_second_admin_and_the_old_password_alone_cannot_enrol(app, client, make_user,
                                                                                          host):
    admin, second = make_user("admin"), make_user("admin")
    headers, second_headers = _token(client, admin), _token(client, second)
    # Step 1: the admin asks for the reset; nothing happens yet.
    response = client.post(f"/api/v1/users/{host.id}/second-factor/reset", headers=headers)
    assert response.status_code == 202
    body = response.get_json()
    assert body["state"] == "pending"
    assert _user(host).totp_confirmed is True
    # Step 2: she confirms her own request: refused, one audit event, still nothing changed.
    before = len(_events())
    response = client.post(f"/api/v1/account-changes/{body['id']}/confirm", headers=headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "second_person_required"
    assert [(e.action, e.detail) for e in _events()[before:]] == [("account_change_refused", "second_person_required")]
    assert _user(host).totp_confirmed is True
    # Step 3: a second admin confirms: the code goes to her, once.
    response = client.post(f"/api/v1/account-changes/{body['id']}/confirm", headers=second_headers)
    assert response.status_code == 200
    confirmed = response.get_json()
    assert confirmed["state"] == "applied" and len(confirmed["enrolment_code"]) == 19
    event = _events("account_change_apply")[-1]
    assert (event.actor_id, event.object_id, event.detail) == (second.id, host.id, f"requested_by:{admin.id}")
    assert confirmed["enrolment_code"] not in str([(e.detail, e.fields) for e in _events()])
    again = client.post(f"/api/v1/account-changes/{body['id']}/confirm", headers=second_headers)
    assert again.status_code == 409 and "enrolment_code" not in again.get_data(as_text=True)
    # Step 4: the attacker signs in as the host with the old password: she lands on the code question,
    # sees no seed, cannot enrol with a guessed or a TOTP code, and cannot get a token.
    attacker = app.test_client()
    response = attacker.post("/login", data={"username": host.username, "password": PASSWORD})
    assert response.headers["Location"].endswith("/enrol")
    page = attacker.get("/enrol")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" not in text and "totp-secret" not in text
    secret_before = _user(host).totp_secret_sealed
    for guess in ("000000", "AAAA-BBBB-CCCC-DDDD"):
        response = attacker.post("/enrol", data={"enrolment_code": guess, "code": guess})
        assert response.status_code == 422
    assert _user(host).totp_confirmed is False
    assert _user(host).totp_secret_sealed == secret_before
    assert attacker.get("/audit/").headers["Location"].endswith("/enrol")
    assert client.post("/api/v1/auth/token", json={"username": host.username, "password": PASSWORD,
                                                   "totp": "123456"}).status_code == 401
    # The host herself, with the code given to her out of band, enrols once; the code is then spent.
    real = app.test_client()
    real.post("/login", data={"username": host.username, "password": PASSWORD})
    response = real.post("/enrol", data={"enrolment_code": confirmed["enrolment_code"].lower()})
    assert response.status_code == 302
    page = real.get("/enrol").get_data(as_text=True)
    secret = page.split('id="totp-secret">')[1].split("<")[0].replace(" ", "")
    assert real.post("/enrol", data={"code": pyotp.TOTP(secret).now()}).status_code == 200
    assert _user(host).totp_confirmed is True and _user(host).enrolment_code_hash is None
    other = app.test_client()
    other.post("/login", data={"username": host.username, "password": PASSWORD, "totp": "000000"})
    assert other.post("/enrol", data={"enrolment_code": confirmed["enrolment_code"]}).status_code in (302, 404, 422)
    assert _user(host).enrolment_code_hash is None


def test_enrolment_code_expires_after_a_day(app, client, make_user, host):
    admin, second = make_user("admin"), make_user("admin")
    change = client.post(f"/api/v1/users/{host.id}/second-factor/reset", headers=_token(client, admin)).get_json()
    code = client.post(f"/api/v1/account-changes/{change['id']}/confirm",
                       headers=_token(client, second)).get_json()["enrolment_code"]
    user = _user(host)
    user.enrolment_code_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    attacker = app.test_client()
    attacker.post("/login", data={"username": host.username, "password": PASSWORD})
    assert attacker.post("/enrol", data={"enrolment_code": code}).status_code == 422
    assert _user(host).enrolment_code_hash is not None


# --- the two-person flow ---------------------------------------------------------------------------


def test_scope_change_takes_effect_only_after_a_second_admin_confirms(client, make_user):
    admin, second = make_user("admin"), make_user("admin")
    officer = make_user("commune_officer", scope="05533")
    headers = _token(client, admin)
    response = client.patch(f"/api/v1/users/{officer.id}", headers=headers,
                            json={"role": "province_officer", "scope": "19"})
    assert response.status_code == 202
    change_id = response.get_json()["id"]
    assert _user(officer).role == "commune_officer"
    request_event = _events("account_change_request")[-1]
    assert (request_event.actor_id, request_event.object_id) == (admin.id, officer.id)
    listed = client.get("/api/v1/account-changes", headers=_token(client, second)).get_json()["items"]
    assert [(c["id"], c["username"], c["fields"]) for c in listed] == [(change_id, officer.username,
                                                                       ["role", "scope"])]
    response = client.post(f"/api/v1/account-changes/{change_id}/confirm", headers=_token(client, second))
    assert response.status_code == 200 and response.get_json() == {"id": change_id, "state": "applied"}
    user = _user(officer)
    assert (user.role, user.province_code, user.commune_code) == ("province_officer", "19", None)


def test_a_second_request_for_the_same_account_and_field_is_a_conflict(client, make_user):
    admin, other = make_user("admin"), make_user("admin")
    officer = make_user("commune_officer", scope="05533")
    assert client.patch(f"/api/v1/users/{officer.id}", headers=_token(client, admin),
                        json={"can_override_consent": True}).status_code == 202
    before = len(_events())
    response = client.patch(f"/api/v1/users/{officer.id}", headers=_token(client, other),
                            json={"can_override_consent": True})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "pending_confirmation"
    assert db.session.query(AccountChange).count() == 1
    assert [e.detail for e in _events()[before + 1:]] == ["pending_confirmation"]  # after the token's event
    # Another field of the same account is another request.
    assert client.patch(f"/api/v1/users/{officer.id}", headers=_token(client, other),
                        json={"scope": "05536"}).status_code in (202, 422)


def test_an_expired_request_cannot_be_confirmed(client, make_user):
    admin, second = make_user("admin"), make_user("admin")
    officer = make_user("commune_officer", scope="05533")
    change_id = client.patch(f"/api/v1/users/{officer.id}", headers=_token(client, admin),
                             json={"can_override_consent": True}).get_json()["id"]
    change = db.session.get(AccountChange, change_id)
    change.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.post(f"/api/v1/account-changes/{change_id}/confirm", headers=_token(client, second))
    assert response.status_code == 409
    assert _user(officer).can_override_consent is False
    # An expired request no longer blocks a new one.
    assert client.patch(f"/api/v1/users/{officer.id}", headers=_token(client, admin),
                        json={"can_override_consent": True}).status_code == 202


def test_a_bad_scope_is_refused_on_the_field_and_changes_nothing(client, make_user):
    admin = make_user("admin")
    officer = make_user("commune_officer", scope="05533")
    before = len(_events())
    headers = _token(client, admin)
    response = client.patch(f"/api/v1/users/{officer.id}", headers=headers, json={"scope": "99999"})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"scope"}
    response = client.patch(f"/api/v1/users/{officer.id}", headers=headers, json={"password_hash": "x"})
    assert response.status_code == 422
    assert db.session.query(AccountChange).count() == 0
    refused = [e for e in _events()[before:] if e.action == "account_change_refused"]
    assert len(refused) == 2


def test_only_admins_reach_account_changes(client, make_user):
    coordinator = make_user("coordinator")
    officer = make_user("commune_officer", scope="05533")
    headers = _token(client, coordinator)
    assert client.patch(f"/api/v1/users/{officer.id}", headers=headers, json={"role": "admin"}).status_code == 404
    assert client.get("/api/v1/account-changes", headers=headers).status_code == 404


def test_reenabling_a_disabled_account_needs_a_second_admin(app, make_user, login):
    admin, second = make_user("admin"), make_user("admin")
    victim = make_user("auditor")
    client = app.test_client()
    login(client, admin)
    assert client.post(f"/admin/users/{victim.id}", data={"action": "disable"}).status_code == 302
    assert client.post(f"/admin/users/{victim.id}", data={"action": "enable"}).status_code == 302
    assert _user(victim).active is False
    change = db.session.query(AccountChange).one()
    page = client.get("/admin/account-changes").get_data(as_text=True)
    assert "Chờ quản trị viên khác xác nhận" in page and 'value="confirm"' not in page
    assert client.post(f"/admin/account-changes/{change.id}", data={"action": "confirm"}).status_code == 403
    assert _user(victim).active is False
    other = app.test_client()
    login(other, second)
    page = other.get("/admin/account-changes").get_data(as_text=True)
    assert victim.username in page and 'value="confirm"' in page
    assert other.post(f"/admin/account-changes/{change.id}", data={"action": "confirm"}).status_code == 302
    assert _user(victim).active is True


def test_screen_reset_shows_the_enrolment_code_once_to_the_confirming_admin(app, make_user, login, host):
    admin, second = make_user("admin"), make_user("admin")
    client = app.test_client()
    login(client, admin)
    client.post(f"/admin/users/{host.id}", data={"action": "reset_2fa"})
    change = db.session.query(AccountChange).one()
    other = app.test_client()
    login(other, second)
    page = other.post(f"/admin/account-changes/{change.id}", data={"action": "confirm"}).get_data(as_text=True)
    assert 'id="enrolment-code"' in page
    assert 'id="enrolment-code"' not in other.get("/admin/account-changes").get_data(as_text=True)


# --- credentials people own -----------------------------------------------------------------------


def test_an_admin_created_account_needs_a_second_admin_and_its_own_password_before_anything_else(
        app, make_user, login):
    admin, second = make_user("admin"), make_user("admin")
    client = app.test_client()
    login(client, admin)
    response = client.post("/admin/users/new", data={"username": "canbo-moi", "role": "auditor",
                                                     "password": "mot cau mat khau ban dau"})
    assert response.status_code == 302
    newbie = app.test_client()
    # It starts disabled: the admin who typed its password cannot use it before a second admin confirms.
    response = newbie.post("/login", data={"username": "canbo-moi", "password": "mot cau mat khau ban dau"})
    assert response.status_code == 401
    change = db.session.query(AccountChange).one()
    assert (change.kind, change.fields) == ("activate", ["new_account", "role"])
    assert client.post(f"/admin/account-changes/{change.id}", data={"action": "confirm"}).status_code == 403
    second_client = app.test_client()
    login(second_client, second)
    assert second_client.post(f"/admin/account-changes/{change.id}", data={"action": "confirm"}).status_code == 302
    response = newbie.post("/login", data={"username": "canbo-moi", "password": "mot cau mat khau ban dau"})
    assert response.status_code == 302
    for path in ("/", "/audit/", "/enrol", "/account"):
        response = newbie.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/account/password"), path
    response = newbie.post("/account/password", data={"current_password": "mot cau mat khau ban dau",
                                                      "new_password": "tin cay 2025 mat khau"})
    assert response.status_code == 422
    assert "tên Hội" in response.get_data(as_text=True)
    response = newbie.post("/account/password", data={"current_password": "mot cau mat khau ban dau",
                                                      "new_password": "ba con meo tren mai nha"})
    assert response.status_code == 302
    assert newbie.get("/audit/").headers["Location"].endswith("/enrol")
    user = db.session.query(User).filter_by(username="canbo-moi").one()
    assert user.must_change_password is False
    assert "password_change" in [e.action for e in _events()]


def test_an_account_that_must_change_its_password_gets_403_from_the_api(client, make_user):
    account = make_user("commune_officer", scope="05533", must_change_password=True)
    headers = _token(client, account)
    response = client.get("/api/v1/cases", headers=headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "password_change_required"
    assert client.get("/api/v1/account", headers=headers).get_json()["must_change_password"] is True
    response = client.post("/api/v1/account/password", headers=headers, json={
        "current_password": PASSWORD, "new_password": "mot cau moi that dai", "totp": next_code(account)})
    assert response.status_code == 204
    assert client.get("/api/v1/account", headers=headers).get_json()["must_change_password"] is False


def test_the_cli_still_creates_ready_accounts(app):
    from casework.auth import services

    user, _secret = services.create_user(None, services.NewUser(username="operator", role="admin",
                                                                password="a long enough password"))
    assert user.must_change_password is False and user.totp_confirmed is True


def test_account_api_answers_the_caller(client, make_user):
    officer = make_user("commune_officer", scope="05533")
    body = client.get("/api/v1/account", headers=_token(client, officer)).get_json()
    assert {k: body[k] for k in ("id", "username", "role", "scope")} == {
        "id": officer.id, "username": officer.username, "role": "commune_officer", "scope": "05533"}


def test_password_change_needs_the_current_password_and_a_code(client, make_user):
    account = make_user("auditor")
    headers = _token(client, account)
    cases = [
        ({"current_password": "not it at all", "new_password": "mot cau moi that dai"}, {"current_password"}),
        ({"current_password": PASSWORD, "new_password": "mot cau moi that dai", "totp": "000000"}, {"totp"}),
        ({"current_password": PASSWORD, "new_password": "password1234"}, {"new_password"}),
        ({"current_password": PASSWORD, "new_password": "short"}, {"new_password"}),
    ]
    for body, fields in cases:
        body.setdefault("totp", next_code(account))  # a fresh code at each attempt: a refused one stays used
        response = client.post("/api/v1/account/password", headers=headers, json=body)
        assert response.status_code == 422, body
        assert set(response.get_json()["error"]["fields"]) == fields, body
    assert len(_events("password_change_failed")) == len(cases)
    user = _user(account)
    from casework.auth import passwords

    assert passwords.verify_password(user.password_hash, PASSWORD)


@pytest.mark.parametrize("password,reason", [
    ("Tin Cậy 2025 của tôi", "project"),
    ("TINCAY-tincay-2025", "project"),
    ("hội phụ nữ việt nam 1930", "project"),
    ("password1234", "common"),
    ("Mật khẩu!!!!!!", "common"),
    ("aaaaaaaaaaaaaaaa", "common"),
    ("nguyenthilan-1990", "personal"),
    ("short", "short"),
    ("ba con mèo trên mái nhà", None),
    (PASSWORD, None),
])
def test_password_blocklist_is_accent_folded(password, reason):
    from casework.auth import passwords

    assert passwords.weakness(password, username="nguyenthilan") == reason


# --- sessions and tokens ----------------------------------------------------------------------------


def test_end_my_other_sessions_revokes_every_other_session_and_token(app, client, make_user, login):
    account = make_user("auditor")
    browser = app.test_client()
    login(browser, account)
    other_headers = _token(client, account)
    calling = _token(client, account)
    assert client.get("/api/v1/account", headers=other_headers).status_code == 200
    assert client.post("/api/v1/account/sessions/end-others", headers=calling).status_code == 204
    assert client.get("/api/v1/account", headers=other_headers).status_code == 401
    assert client.get("/api/v1/account", headers=calling).status_code == 200
    assert browser.get("/audit/").headers["Location"].endswith("/login")


def test_sessions_screen_lists_and_ends_sessions_and_tokens(app, client, make_user, login):
    account = make_user("auditor")
    stranger = make_user("auditor")
    browser, other = app.test_client(), app.test_client()
    login(browser, account)
    login(other, account)
    headers = _token(client, account)
    page = browser.get("/account/sessions").get_data(as_text=True)
    assert "Phiên đăng nhập và mã truy cập" in page and page.count("/end") >= 3
    token_row = db.session.query(ApiToken).filter_by(user_id=account.id).one()
    assert browser.post(f"/account/tokens/{token_row.id}/end").status_code == 302
    assert client.get("/api/v1/account", headers=headers).status_code == 401
    sessions = db.session.query(UserSession).filter_by(user_id=account.id, ended_at=None).all()
    assert len(sessions) == 2
    theirs = login(app.test_client(), stranger) and db.session.query(UserSession).filter_by(
        user_id=stranger.id).one()
    assert browser.post(f"/account/sessions/{theirs.id}/end").status_code == 404  # not hers
    assert browser.post("/account/sessions/end-others").status_code == 302
    assert other.get("/audit/").headers["Location"].endswith("/login")
    assert browser.get("/audit/").status_code == 200
