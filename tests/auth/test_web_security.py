from __future__ import annotations

import pytest

from casework import create_app
from casework.auth.models import UserSession
from casework.extensions import db


def test_security_headers_on_every_page(client, make_user, login):
    login(client, make_user("admin"))
    for path in ("/login", "/admin/users", "/does-not-exist"):
        response = client.get(path)
        h = response.headers
        csp = h["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "http" not in csp  # no third-party origin
        assert h["Referrer-Policy"] == "no-referrer"
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in h  # plain HTTP in tests


def test_hsts_when_served_over_https(client):
    response = client.get("/login", base_url="https://localhost")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_session_cookie_is_httponly_and_samesite_strict(client):
    cookie = client.get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def _session_cookies(response, name: str) -> list[str]:
    return [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]


def test_a_background_read_never_overwrites_a_newer_session_cookie(app, client, make_user, login):
    """offline.js reads /api/v1/offline/session and /key on every page, while she may already be posting
    a form. The read's answer reaches the browser after the form's, with the cookie as it was before
    the form: it must not send one, or the form's message for the next page is lost (CI stop 22)."""
    name = app.config["SESSION_COOKIE_NAME"]
    login(client, make_user("commune_officer", scope="05533"))
    client.get("/api/v1/offline/session")  # the page she is on holds its CSRF token (tests render no token)
    before = client.get_cookie(name).value
    with client.session_transaction() as s:  # what a form's POST leaves for the next page
        s["_flashes"] = [("info", "Đã lưu.")]
    stale = app.test_client()  # the page's script, still holding the older cookie
    stale.set_cookie(name, before)
    for path in ("/api/v1/offline/session", "/api/v1/offline/key"):
        read = stale.get(path, headers={"X-Tincay-Device": "d" * 22})
        assert read.status_code in (200, 503) and _session_cookies(read, name) == [], path
    assert _session_cookies(client.get("/cases/"), name)  # the page that shows the message does change it
    assert "Đã lưu." not in client.get("/cases/").get_data(as_text=True)  # shown once


def test_pages_after_sign_in_leave_the_session_cookie_as_it_is(app, client, make_user, login):
    """The session lives on the server and the cookie holds its token: a page that changes nothing in the session
    sends no new cookie. Flask-Login's session protection wrote a "_fresh" mark into it on the first page after
    every sign-in, and on every page of a client that keeps the sign-in's cookie (issue 18)."""
    name = app.config["SESSION_COOKIE_NAME"]
    login(client, make_user("admin"))
    signed_in = client.get_cookie(name).value
    for path in ("/admin/users", "/account", "/admin/users"):
        response = client.get(path)
        assert response.status_code == 200 and _session_cookies(response, name) == [], path
    assert client.get_cookie(name).value == signed_in


def test_csrf_token_is_required_on_forms(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/login", data={"username": "a", "password": "b"})
    assert response.status_code == 400
    assert "Yêu cầu không hợp lệ" in response.get_data(as_text=True)


def test_quick_exit_ends_session_and_leaves(client, make_user, login):
    login(client, make_user("auditor"))
    page = client.get("/audit/").get_data(as_text=True)
    assert 'href="/exit"' in page.split("<header", 1)[0]  # first link on the page
    response = client.get("/exit")
    assert response.status_code == 303
    assert "google" in response.headers["Location"]
    assert "cookies" in response.headers["Clear-Site-Data"]
    assert db.session.query(UserSession).filter(UserSession.ended_at.is_(None)).count() == 0
    assert client.get("/audit/").status_code == 302


def test_error_pages_are_translated_and_reveal_nothing(client):
    response = client.get("/nothing/here")
    assert response.status_code == 404 or response.status_code == 302


def test_production_refuses_embedded_defaults(tmp_path, keys_dir):
    from casework.config import ConfigError

    with pytest.raises(ConfigError, match="SQLite"):
        create_app({"environment": "production", "keys_dir": str(keys_dir)})


def test_production_accepts_embedded_defaults_when_told(make_app):
    app = make_app(environment="production", allow_embedded_defaults=True)
    assert app.config["SETTINGS"].environment == "production"


def test_missing_key_stops_start_up(tmp_path, app_config):
    from casework.protect.keys import KeyError_, init_keys

    keys = tmp_path / "k"
    init_keys(keys)
    (keys / "audit.v1.key").unlink()
    with pytest.raises(KeyError_, match="audit.v1.key"):
        create_app({**app_config, "keys_dir": str(keys)})


def test_malformed_setting_stops_start_up(app_config):
    from casework.config import ConfigError

    with pytest.raises(ConfigError, match="session_idle_minutes"):
        create_app({**app_config, "session_idle_minutes": "soon"})


@pytest.mark.parametrize(("name", "value", "message"), [
    ("max_upload_mb", 0, "max_upload_mb must be between 1 and 100"),
    ("max_upload_mb", "101", "max_upload_mb must be between 1 and 100"),
    ("session_absolute_hours", 0, "session_absolute_hours must be at least 1"),
    ("login_max_failures", 0, "login_max_failures must be at least 1"),  # 0 would lock out every sign-in
    ("smtp_port", 70000, "smtp_port must be between 1 and 65535"),
    ("audit_seal_delay_seconds", -1, "audit_seal_delay_seconds must be at least 0"),
    ("audit_chainer", "process", "audit_chainer must be one of thread, off"),
    ("environment", "staging", "environment must be one of development, testing, production"),
    ("default_locale", "fr", "default_locale must be one of vi, en"),
])
def test_a_setting_out_of_its_range_stops_start_up(tmp_path, name, value, message):
    from casework.config import ConfigError, load_settings

    assert load_settings(tmp_path).max_upload_mb == 10
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path, {name: value})


def test_english_can_be_chosen(client):
    client.get("/login")
    with client.session_transaction() as s:
        s["lang"] = "en"
    assert "Sign in" in client.get("/login").get_data(as_text=True)


# --- the session cookie and the form token, checked and signed once per process and session (issue 18) -------


def _counting(monkeypatch, method: str, salt: str) -> list[int]:
    """Counts calls of ``URLSafeTimedSerializer.<method>`` made with ``salt`` (Flask's cookie, Flask-WTF's token)."""
    from itsdangerous import URLSafeTimedSerializer

    calls: list[int] = []
    original = getattr(URLSafeTimedSerializer, method)

    def counted(self, *args, **kwargs):
        if self.salt == salt.encode():  # itsdangerous keeps the salt as bytes
            calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(URLSafeTimedSerializer, method, counted)
    return calls


def _form_token(page: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_session_s_form_token_is_signed_once_and_still_guards_its_forms(make_app, make_user, monkeypatch):
    app = make_app(WTF_CSRF_ENABLED=True)
    account = make_user("admin")
    client = app.test_client()
    from tests.conftest import next_code

    signed_in = client.post("/login", data={"username": account.username, "password": account.password,
                                            "totp": next_code(account),
                                            "csrf_token": _form_token(client.get("/login").text)})
    assert signed_in.status_code == 302
    signing = _counting(monkeypatch, "dumps", "wtf-csrf-token")
    first = _form_token(client.get("/account").text)
    signed_once = len(signing)
    assert _form_token(client.get("/account").text) == first and _form_token(client.get("/admin/users").text) == first
    assert len(signing) == signed_once  # the later pages signed nothing
    assert client.post("/language", data={"lang": "en", "next": "/account", "csrf_token": first}).status_code == 303
    assert client.post("/language", data={"lang": "vi", "next": "/account", "csrf_token": "x"}).status_code == 400
    other = app.test_client()  # another session, another token
    assert _form_token(other.get("/login").text) != first


def test_a_session_cookie_is_checked_once_a_minute_and_a_forged_one_never_passes(app, client, make_user, login,
                                                                                monkeypatch):
    from casework.web import CookieSessions

    name = app.config["SESSION_COOKIE_NAME"]
    login(client, make_user("admin"))
    checks = _counting(monkeypatch, "loads", "cookie-session")
    assert client.get("/account").status_code == 200
    checked_once = len(checks)
    assert client.get("/account").status_code == 200 and client.get("/admin/users").status_code == 200
    assert len(checks) == checked_once  # the same cookie again: not checked again within the minute
    genuine = client.get_cookie(name).value
    forged = app.test_client()
    forged.set_cookie(name, genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB"))
    for _ in range(2):  # never kept: checked and refused each time
        assert forged.get("/account").status_code == 302
    assert len(checks) == checked_once + 2
    import time

    from casework import web

    later = time.monotonic() + CookieSessions.CHECK_KEPT_SECONDS + 1
    monkeypatch.setattr(web.time, "monotonic", lambda: later)  # a minute on: checked again, then kept again
    assert client.get("/account").status_code == 200 and len(checks) == checked_once + 3
    assert client.get("/account").status_code == 200 and len(checks) == checked_once + 3


def test_each_request_gets_its_own_session_even_from_one_cookie_with_messages(app, client, make_user, login):
    name = app.config["SESSION_COOKIE_NAME"]
    login(client, make_user("admin"))
    with client.session_transaction() as s:
        s["_flashes"] = [("info", "Đã lưu.")]  # a list, which flash() changes in place
    cookie = f"{name}={client.get_cookie(name).value}"
    opened = []
    for _ in range(2):
        with app.test_request_context("/account", headers={"Cookie": cookie}):
            from flask import request

            opened.append(app.session_interface.open_session(app, request))
    opened[0]["_flashes"].append(("info", "another request's message"))
    opened[0]["sid"] = "changed"
    assert opened[1]["_flashes"] == [("info", "Đã lưu.")] and opened[1]["sid"] != "changed"
