"""Parallel requests that each write an audit event, against a real server on 127.0.0.1 (issue 18).

On SQLite the next sequence number used to be read outside the write transaction: of 48 parallel
out-of-scope requests, 26 answered 500 (``UNIQUE constraint failed: audit_event.seq``). Each request
here is refused as out of scope (404) and leaves one ``access_denied`` event written after its rollback.
"""

from __future__ import annotations

import json
import secrets
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from casework.auth.models import User
from casework.auth.services import issue_api_token
from casework.extensions import db
from casework.protect.audit import AuditEvent
from casework.protect.chainer import seal_all

PARALLEL = 64


@pytest.fixture
def server(app, serve):
    """The test's application served by werkzeug with one thread per request, on a free local port."""
    return serve(app)


def _get(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310 - 127.0.0.1
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_parallel_out_of_scope_requests_each_leave_one_event_and_a_valid_chain(app, server, make_user, make_address):
    host = make_user("host", address_ids=(make_address().id,))
    token, _ = issue_api_token(db.session.get(User, host.id))
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    ids = [secrets.token_urlsafe(16) for _ in range(PARALLEL)]
    start = threading.Barrier(PARALLEL)

    def one(case_id: str) -> tuple[int, dict]:
        start.wait()
        return _get(f"{server}/api/v1/cases/{case_id}", token)

    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(one, ids))

    statuses = sorted({status for status, _ in answers})
    assert statuses == [404], [a for a in answers if a[0] != 404][:3]
    db.session.expire_all()
    denied = db.session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "access_denied")).all()
    assert sorted(denied) == sorted(ids)  # every event present, each once
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before + PARALLEL
    seal_all()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert (result.exit_code, result.output.strip()) == (0, f"ok: {before + PARALLEL} events, chain intact")
