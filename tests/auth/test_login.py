from __future__ import annotations

import pyotp

from casework.auth.models import User, UserSession
from casework.extensions import db
from casework.protect.audit import AuditEvent
from tests.conftest import next_code

FAILED = "Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng"


def test_login_page_is_vietnamese_by_default(client):
    response = client.get("/login")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Đăng nhập" in page
    assert "Thoát nhanh" in page


def test_login_with_password_and_totp_reaches_home(client, make_user, login):
    account = make_user("admin")
    login(client, account)
    response = client.get("/admin/users")
    assert response.status_code == 200
    assert account.username in response.get_data(as_text=True)


def test_wrong_password_wrong_code_unknown_user_give_one_message(client, make_user):
    account = make_user("admin")
    cases = [
        {"username": account.username, "password": "wrong password!!", "totp": next_code(account)},
        {"username": account.username, "password": account.password, "totp": "000000"},
        {"username": "nobody-here", "password": account.password, "totp": "123456"},
        {"username": account.username, "password": "x" * 1_000_000, "totp": "123456"},
    ]
    bodies = []
    for data in cases:
        response = client.post("/login", data=data)
        assert response.status_code == 401
        body = response.get_data(as_text=True)
        assert FAILED in body
        bodies.append(body.split("<main", 1)[1].split("</form>", 1)[0].replace(data["username"], ""))
    # Same page apart from the echoed username: nothing tells which part was wrong.
    assert len(set(bodies)) == 1


def test_replayed_totp_code_is_refused(client, make_user, login):
    account = make_user("admin")
    code = next_code(account)
    login(client, account, code)
    client.post("/logout")
    response = client.post("/login", data={"username": account.username, "password": account.password, "totp": code})
    assert response.status_code == 401


def test_wrong_passwords_lock_only_that_client_even_with_right_password(client, make_user, app):
    # Issue 12: the former account-wide lock let anyone lock a user out from anywhere. Now the lock is
    # per (account, client address) pair; the same client stays locked even with the right password.
    account = make_user("admin")
    limit = app.config["SETTINGS"].login_max_failures
    for _ in range(limit):
        client.post("/login", data={"username": account.username, "password": "not the password", "totp": "111111"})
    user = db.session.get(User, account.id)
    db.session.refresh(user)
    assert user.locked_until is None
    response = client.post("/login", data={"username": account.username, "password": account.password,
                                           "totp": next_code(account)})
    assert response.status_code == 401
    assert FAILED in response.get_data(as_text=True)
    actions = [e.action for e in db.session.query(AuditEvent).order_by(AuditEvent.id)]
    assert "login_throttled" in actions and "account_locked" not in actions
    assert actions.count("login_failed") == limit + 1
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    response = elsewhere.post("/login", data={"username": account.username, "password": account.password,
                                              "totp": next_code(account)})
    assert response.status_code == 302


def test_pair_lock_doubles_each_time(client, make_user, app):
    from casework.auth.models import LoginThrottle
    from casework.models import utcnow

    account = make_user("auditor")
    settings = app.config["SETTINGS"]
    lengths = []
    for _round in range(3):
        for _ in range(settings.login_max_failures):
            client.post("/login", data={"username": account.username, "password": "not the password"})
        row = db.session.query(LoginThrottle).one()
        db.session.refresh(row)
        lengths.append(round((row.locked_until - utcnow()).total_seconds() / 60))
        row.locked_until = utcnow()  # the lock ran out
        db.session.commit()
    base = settings.login_lockout_minutes
    assert lengths == [base, 2 * base, 4 * base]


def test_account_locks_only_after_repeated_wrong_codes_with_the_right_password(client, make_user, app):
    account = make_user("auditor")
    limit = app.config["SETTINGS"].login_max_failures
    for _ in range(limit):
        client.post("/login", data={"username": account.username, "password": account.password, "totp": "000000"})
    user = db.session.get(User, account.id)
    db.session.refresh(user)
    assert user.is_locked
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    response = elsewhere.post("/login", data={"username": account.username, "password": account.password,
                                              "totp": next_code(account)})
    assert response.status_code == 401
    assert FAILED in response.get_data(as_text=True)
    actions = [e.action for e in db.session.query(AuditEvent).order_by(AuditEvent.id)]
    assert "account_locked" in actions


def test_login_is_rate_limited_per_client(make_app):
    app = make_app(RATELIMIT_ENABLED=True, login_rate_limit="3 per minute")
    client = app.test_client()
    statuses = [client.post("/login", data={"username": "x", "password": "y", "totp": ""}).status_code
                for _ in range(5)]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]
    assert "Quá nhiều lần thử" in client.post("/login", data={"username": "x", "password": "y"}).get_data(as_text=True)


def test_a_configured_default_limit_still_limits_every_route(make_app):
    """Issue 18 drops Flask-Limiter's check before every request while no limit applies to all routes; one
    configured for all routes keeps it."""
    from casework.extensions import limiter

    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute")
    try:
        client = app.test_client()
        statuses = [client.get("/api/v1/health").status_code for _ in range(3)]
    finally:
        limiter.limit_manager.set_default_limits([])  # one limiter object serves every app of the process
    assert statuses == [200, 200, 429]


def test_logout_ends_the_server_side_session(client, make_user, login):
    account = make_user("admin")
    login(client, account)
    assert client.get("/admin/users").status_code == 200
    cookie = client.get_cookie("tincay")
    client.post("/logout")
    assert db.session.query(UserSession).filter(UserSession.ended_at.is_(None)).count() == 0
    # Replaying the old cookie does not bring the session back.
    client.set_cookie("tincay", cookie.value)
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")


def test_disabling_an_account_ends_its_sessions_at_once(app, make_user, login):
    admin, victim = make_user("admin"), make_user("auditor")
    admin_client, victim_client = app.test_client(), app.test_client()
    login(admin_client, admin)
    login(victim_client, victim)
    assert victim_client.get("/audit/").status_code == 200
    response = admin_client.post(f"/admin/users/{victim.id}", data={"action": "disable"})
    assert response.status_code == 302
    assert victim_client.get("/audit/").status_code == 302


def test_role_change_applies_on_the_next_request(app, make_user, login):
    other = make_user("auditor")
    client = app.test_client()
    login(client, other)
    assert client.get("/audit/").status_code == 200
    user = db.session.get(User, other.id)
    user.role = "coordinator"
    db.session.commit()
    assert client.get("/audit/").status_code == 404


def test_first_sign_in_requires_enrolment_before_anything_else(app, client):
    from casework.auth import services

    user, secret = services.create_user(None, services.NewUser(username="newbie", role="auditor",
                                                               password="a long enough password"))
    user.totp_confirmed = False
    db.session.commit()
    response = client.post("/login", data={"username": "newbie", "password": "a long enough password"})
    assert response.headers["Location"].endswith("/enrol")
    assert client.get("/audit/").headers["Location"].endswith("/enrol")
    page = client.get("/enrol").get_data(as_text=True)
    assert "<svg" in page and secret in page
    response = client.post("/enrol", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    assert "recovery-codes" in response.get_data(as_text=True)
    assert client.get("/audit/").status_code == 200


def test_recovery_code_signs_in_once(app, client):
    from casework.auth import services

    user, secret = services.create_user(None, services.NewUser(username="lost-phone", role="auditor",
                                                               password="a long enough password"))
    user.totp_confirmed = False
    db.session.commit()
    client.post("/login", data={"username": "lost-phone", "password": "a long enough password"})
    page = client.post("/enrol", data={"code": pyotp.TOTP(secret).now()}).get_data(as_text=True)
    code = page.split('id="recovery-codes"')[1].split("<code>")[1].split("</code>")[0]
    client.post("/logout")
    data = {"username": "lost-phone", "password": "a long enough password", "totp": code}
    assert client.post("/login", data=data).status_code == 302
    client.post("/logout")
    assert client.post("/login", data=data).status_code == 401


def test_idle_session_expires(app, client, make_user, login):
    from datetime import timedelta

    account = make_user("auditor")
    login(client, account)
    sess = db.session.query(UserSession).one()
    sess.last_seen_at = sess.last_seen_at - timedelta(minutes=31)
    db.session.commit()
    assert client.get("/audit/").status_code == 302


def test_absolute_session_lifetime_expires(app, client, make_user, login):
    from datetime import timedelta

    account = make_user("auditor")
    login(client, account)
    sess = db.session.query(UserSession).one()
    sess.created_at = sess.created_at - timedelta(hours=13)
    db.session.commit()
    assert client.get("/audit/").status_code == 302


def test_sessions_past_a_limit_are_not_listed_as_open(app, client, make_user, login):
    """A session left open in another browser ends when its cookie comes back after a limit; until then the
    account pages must not show it as open (they did: every session she had not signed out of)."""
    from datetime import timedelta

    from casework.auth import services
    from casework.auth.models import User

    account = make_user("auditor")
    user = db.session.get(User, account.id)
    services.start_session(user, True, "idle browser")
    services.start_session(user, True, "old browser")
    db.session.commit()
    login(client, account)
    first, second, current = db.session.query(UserSession).order_by(UserSession.created_at).all()
    assert (first.client, second.client) == ("idle browser", "old browser")
    first.last_seen_at -= timedelta(minutes=31)
    second.created_at -= timedelta(hours=13)
    db.session.commit()
    account_page = client.get("/account").get_data(as_text=True)
    assert account_page.count("<tr><td>") == 1 and "Phiên này" in account_page
    sessions_page = client.get("/account/sessions").get_data(as_text=True)
    assert f"/account/sessions/{current.id}/end" in sessions_page
    assert first.id not in sessions_page and second.id not in sessions_page
    current.created_at -= timedelta(hours=11)  # still within the limits: listed
    db.session.commit()
    assert f"/account/sessions/{current.id}/end" in client.get("/account/sessions").get_data(as_text=True)


def test_rate_limits_are_shared_through_redis_when_configured(make_app):
    """Several workers share one counter when RATELIMIT_STORAGE_URI points at Redis (DESIGN §3.7)."""
    import secrets

    import pytest
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    limit = f"3 per {60 + secrets.randbelow(1000)} second"  # a fresh window so earlier runs do not count
    first = make_app(RATELIMIT_ENABLED=True, ratelimit_storage_uri=url, login_rate_limit=limit).test_client()
    second = make_app(RATELIMIT_ENABLED=True, ratelimit_storage_uri=url, login_rate_limit=limit).test_client()
    data = {"username": "x", "password": "y", "totp": ""}
    statuses = [first.post("/login", data=data).status_code, second.post("/login", data=data).status_code,
                first.post("/login", data=data).status_code, second.post("/login", data=data).status_code]
    assert statuses == [401, 401, 401, 429]


def test_cli_refuses_a_short_password_with_a_vietnamese_message(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "ngan", "--role", "auditor", "--password-stdin"],
                                          input="short\n")
    assert result.exit_code == 1
    assert "Mật khẩu cần ít nhất 12 ký tự." in result.output


def test_the_throttle_key_does_not_give_away_the_client_address_without_the_key_folder(client, make_user, app,
                                                                                         monkeypatch):
    """A copy of the database must not tell where an account signs in from: the key is an HMAC under the
    instance's secret, so hashing every IPv4 address with the user's id finds nothing."""
    import dataclasses
    import hashlib

    from casework.auth import services
    from casework.auth.models import LoginThrottle
    from casework.protect.ring import current_keys

    account = make_user("auditor")
    client.post("/login", data={"username": account.username, "password": "not the password"})
    row = db.session.query(LoginThrottle).one()
    address = "127.0.0.1"  # the test client's address
    for guess in (f"{account.id}|{address}", f"throttle|{account.id}|{address}"):
        assert row.client_key != hashlib.sha256(guess.encode()).hexdigest()
    with app.test_request_context():
        assert row.client_key == services.client_key(account, address)
        other = dataclasses.replace(current_keys(), secret_key=b"another instance's secret key, 32+")
        monkeypatch.setattr(services.accounts, "current_keys", lambda: other)
        assert services.client_key(account, address) != row.client_key
