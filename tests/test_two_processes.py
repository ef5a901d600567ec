"""Two application processes on one PostgreSQL database (issue 8; docs/operations.md §4 "Several
application hosts").

Two gunicorn instances, each with two workers, are started on two ports of 127.0.0.1 against the test's
own database, in the production configuration (keys outside the instance folder, rate limits in Redis
when it answers), as two hosts behind a proxy would run. Through their JSON API with bearer tokens:

(a) a case written through one is read identically through the other, found by a name search there, and
    a stale edit is refused across processes;
(b) concurrent writes through both keep one valid audit chain: ``flask audit verify`` passes afterwards and
    counts every event;
(c) concurrent approvals of livelihood proposals through both never overspend the province's budget:
    exactly the approvals that fit succeed, the others get the documented refusal (422 on
    ``approved_amount_vnd``), and the committed money stays within the budget.

Only on PostgreSQL (``TEST_DATABASE_URL``): SQLite is the single-machine default and is not meant to be
shared by several hosts.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import PG_URL, next_code

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL.startswith("postgresql"),
                       reason="several application processes share one PostgreSQL database; set TEST_DATABASE_URL "
                              "to PostgreSQL (make test-postgres) to run this check"),
]

ROOT = Path(__file__).resolve().parent.parent
REDIS = "redis://127.0.0.1:6379/15"
COMMUNE, PROVINCE = "05533", "19"
REQUEST = 13_000_000  # what each test proposal asks for (2 × 4,500,000 + 10 × 400,000)


def _redis_answers() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means no shared store here
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310 - 127.0.0.1 only
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


@pytest.fixture(scope="module")
def server_env(migrated_db, keys_dir, tmp_path_factory) -> dict[str, str]:
    """The settings every application host gets: the same database, key folder and checkpoint folder."""
    tmp = tmp_path_factory.mktemp("hosts")
    env = {**os.environ, "TINCAY_ENVIRONMENT": "production", "TINCAY_DATABASE_URL": PG_URL,
           "TINCAY_KEYS_DIR": str(keys_dir), "TINCAY_CHECKPOINT_DIR": str(tmp / "checkpoints"),
           "TINCAY_INSTANCE_PATH": str(tmp / "instance-cli"), "TINCAY_LOGIN_RATE_LIMIT": "1000 per minute"}
    if _redis_answers():
        env["TINCAY_RATELIMIT_STORAGE_URI"] = REDIS
    else:  # the rate limits are not what this test checks; each process then counts on its own
        env["TINCAY_ALLOW_EMBEDDED_DEFAULTS"] = "true"
    return env


@pytest.fixture(scope="module")
def servers(server_env, tmp_path_factory):
    """Two gunicorn instances (2 workers each) on one database; stopped, whatever happens, at the end.

    They keep no state of their own, so they serve every test of the module while each test empties the
    database (``app_config``) and fills it again."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    processes: list[subprocess.Popen] = []
    logs = []
    bases = []
    try:
        for name in ("a", "b"):
            port = _free_port()
            env = {**server_env, "TINCAY_INSTANCE_PATH": str(tmp_path / f"instance-{name}")}
            log = (tmp_path / f"gunicorn-{name}.log").open("wb")
            logs.append(log)
            processes.append(subprocess.Popen(  # noqa: S603 - a fixed program and arguments
                [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
                 "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=log))
            bases.append(f"http://127.0.0.1:{port}/api/v1")
        for name, base, process in zip("ab", bases, processes, strict=True):
            deadline = time.monotonic() + 90
            while True:
                if process.poll() is not None:
                    log_text = (tmp_path / f"gunicorn-{name}.log").read_text(errors="replace")[-2000:]
                    pytest.fail(f"gunicorn {name} exited with {process.returncode}: {log_text}")
                try:
                    if call(base, "GET", "/health")[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not answer within 90 s")
                time.sleep(0.2)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        for log in logs:
            log.close()


@pytest.fixture
def two_servers(app, servers):
    """The two processes, after this test's database was emptied and its in-process app created."""
    return servers


def token_for(base: str, account) -> str:
    status, body = call(base, "POST", "/auth/token",
                        body={"username": account.username, "password": account.password, "totp": next_code(account)})
    assert status == 200, body
    return body["token"]


def case_payload(address_id: str, name: str, phone: str) -> dict:
    from casework.models import utcnow

    return {"address_id": address_id, "intake_at": (utcnow() - timedelta(hours=1)).isoformat(),
            "person": {"full_name": name, "birth_year": 1991, "sex": "female", "ethnicity_code": "01",
                       "phone": phone},
            "acts": ["a", "e"], "relationship": "spouse",
            "consent": {"record": True, "statistics": True, "share": []}}


def test_a_case_written_through_one_process_reads_the_same_through_the_other(two_servers, make_address, make_user):
    a, b = two_servers
    address = make_address(COMMUNE)
    host = make_user("host", address_ids=(address.id,))
    token = token_for(a, host)  # tokens live in the database: one issued by A is good on B

    status, created = call(a, "POST", "/cases", token, case_payload(address.id, "Lò Thị Xuyến", "0912 000 111"))
    assert status == 201, created
    status, read = call(b, "GET", f"/cases/{created['id']}", token)
    assert status == 200
    assert read == created
    status, found = call(b, "POST", "/cases/search", token, {"q": "Xuyến"})  # the blind-index rows A wrote
    assert status == 200 and [i["id"] for i in found["items"]] == [created["id"]]

    status, changed = call(b, "PATCH", f"/cases/{created['id']}", token,
                           {"version": created["version"], "narrative": "Đổi qua máy B."})
    assert status == 200, changed
    assert changed["version"] == created["version"] + 1
    status, reread = call(a, "GET", f"/cases/{created['id']}", token)
    assert status == 200 and reread == changed and reread["narrative"] == "Đổi qua máy B."
    status, stale = call(a, "PATCH", f"/cases/{created['id']}", token,
                         {"version": created["version"], "narrative": "Bản cũ qua máy A."})
    assert status == 409, stale


def test_concurrent_writes_through_both_processes_keep_one_valid_audit_chain(two_servers, server_env, make_address,
                                                                            make_user):
    from sqlalchemy import func, select

    from casework.extensions import db
    from casework.protect.audit import AuditEvent

    a, b = two_servers
    address = make_address(COMMUNE)
    host = make_user("host", address_ids=(address.id,))
    token = token_for(b, host)
    start = threading.Barrier(8)

    def work(i: int) -> list[int]:
        mine, other = (a, b) if i % 2 else (b, a)
        start.wait(timeout=60)
        statuses = []
        for j in range(4):
            status, body = call(mine, "POST", "/cases", token,
                                case_payload(address.id, f"Nguyễn Thị Tải {i} {j}", f"09{i:04d}{j:04d}"))
            statuses.append(status)
            statuses.append(call(other, "GET", f"/cases/{body.get('id')}", token)[0])
            statuses.append(call(other, "GET", "/cases", token)[0])
        return statuses

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(8)))
    assert [s for statuses in results for s in statuses] == [201, 200, 200] * 32

    from casework.protect.chainer import seal_all

    seal_all()  # the servers' chainer threads seal too; whatever they have not reached yet is sealed here
    db.session.expire_all()
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    # Each create, view and list is audited: at least 96 events from the 96 requests (plus the sign-in).
    assert events >= 96
    verify = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "audit", "verify"],  # noqa: S603
                            cwd=ROOT, env=server_env, capture_output=True, text=True, timeout=120, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.strip() == f"ok: {events} events, chain intact"


def test_concurrent_approvals_through_both_processes_never_overspend_the_budget(app, two_servers, make_user):
    from casework.auth.models import User
    from casework.extensions import db
    from livelihood import services
    from livelihood.models import Budget, Proposal

    a, b = two_servers
    commune = make_user("commune_officer", scope=COMMUNE)
    approvers = [make_user("province_officer", scope=PROVINCE), make_user("province_officer", scope=PROVINCE)]
    amount = 3 * REQUEST + REQUEST // 2  # room for three approvals, not four
    with app.test_request_context("/"):
        officer = db.session.get(User, commune.id)
        budget = services.set_budget(db.session.get(User, approvers[0].id), services.BudgetInput(
            province_code=PROVINCE, year=services.today().year, amount_vnd=amount,
            second_approval_above_vnd=None)).budget
        ids = []
        for i in range(10):
            survivor = services.register_survivor(officer, services.SurvivorInput(
                person=services.PersonInput(full_name=f"Demo Thị {i}", birth_year=1995, ethnicity_code="01"),
                commune_code=COMMUNE, status="identified", consent_record=True, consent_statistics=True))
            proposal = services.draft_proposal(officer, survivor, services.ProposalInput(
                kind="livestock", title="Nuôi lợn nái", lines=(
                    services.LineInput(item="Lợn giống", quantity=2, unit_cost_vnd=4_500_000),
                    services.LineInput(item="Thức ăn", quantity=10, unit_cost_vnd=400_000))))
            services.submit_proposal(officer, proposal)
            assert proposal.requested_vnd == REQUEST
            ids.append(proposal.id)
        db.session.commit()
        budget_id = budget.id
    tokens = [token_for(a, approvers[0]), token_for(b, approvers[1])]
    start = threading.Barrier(len(ids))

    def approve(i: int) -> tuple[int, dict]:
        start.wait(timeout=60)
        return call((a, b)[i % 2], "POST", f"/proposals/{ids[i]}/decision", tokens[(i // 2) % 2],
                    {"decision": "approve", "approved_amount_vnd": REQUEST})

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        outcomes = list(pool.map(approve, range(len(ids))))

    approved = [body for status, body in outcomes if status == 200]
    refused = [body for status, body in outcomes if status != 200]
    assert len(approved) == 3 and all(body["state"] == "approved" for body in approved)
    assert len(refused) == 7
    assert all(status in (200, 422) for status, _body in outcomes), outcomes
    for body in refused:
        assert body["error"]["code"] and "approved_amount_vnd" in body["error"]["fields"], body
    db.session.expire_all()
    budget = db.session.get(Budget, budget_id)
    assert budget.committed_vnd == 3 * REQUEST <= budget.amount_vnd
    states = sorted(db.session.get(Proposal, i).state for i in ids)
    assert states == ["approved"] * 3 + ["submitted"] * 7  # a refused approval leaves nothing behind
