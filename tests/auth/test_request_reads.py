"""What every signed-in request reads (issue 18): the session, her user and her addresses in one statement, and
the account page's open sessions as the columns it shows; the credentials only when a check needs them."""

from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import event

from casework.auth import passwords, services
from casework.auth.models import User
from casework.extensions import db
from tests.conftest import next_code


@contextmanager
def statements():
    seen: list[str] = []

    def listener(_conn, _cursor, statement, _params, _context, _many):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def _selects(seen: list[str]) -> list[str]:
    return [s for s in seen if s.upper().startswith("SELECT")]


def test_the_account_page_reads_the_session_lookup_and_her_open_sessions_only(client, make_user, make_address,
                                                                               login):
    address = make_address()
    host = make_user("host", address_ids=(address.id,))
    login(client, host)
    login(app_client := client.application.test_client(), host)  # a second session of hers, listed too
    client.get("/account")  # the menu's counts, kept a minute (casework.nav)
    with statements() as seen:
        page = client.get("/account")
    assert page.status_code == 200
    assert page.text.count("<tr><td>") == 2 and "Phiên này" in page.text
    selects = _selects(seen)
    assert len(selects) == 2, selects
    lookup, listed = selects
    assert "JOIN" in lookup and "address_host" in lookup
    # Her open sessions: their own columns, not each session's user and her addresses again.
    assert re.search(r'\bFROM user_session\b', listed) and "JOIN" not in listed and "address" not in listed
    assert "password_hash" not in "\n".join(seen)
    assert app_client.get("/account").status_code == 200


def test_a_password_change_reads_the_credentials_the_lookup_left_out(client, make_user, login):
    """In production each request starts with an empty database session: the user built from the lookup's row
    has no password hash until the check reads it, and the new one is written."""
    admin = make_user("admin")
    login(client, admin)
    form = {"current_password": admin.password, "new_password": "another long phrase for this test",
            "totp": next_code(admin)}
    db.session.expunge_all()  # as a new request of a web worker: nothing loaded yet
    with statements() as seen:
        response = client.post("/account/password", data=form)
    assert response.status_code == 302, response.text
    lookup = _selects(seen)[0]
    assert "user_session" in lookup and "password_hash" not in lookup
    assert any("password_hash" in s for s in _selects(seen)[1:])
    db.session.expire_all()
    user = db.session.get(User, admin.id)
    assert passwords.verify_password(user.password_hash, "another long phrase for this test")


def test_the_api_token_lookup_is_one_statement(client, make_user, make_address):
    address = make_address()
    host = make_user("host", address_ids=(address.id,))
    user = db.session.get(User, host.id)
    token, _expires = services.issue_api_token(user)
    db.session.commit()
    db.session.expire_all()
    with statements() as seen:
        found = services.load_api_token(token)
        assert found is not None and found.address_ids == [address.id] and found.role == "host"
    assert len(_selects(seen)) == 1, seen
