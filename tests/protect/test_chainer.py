"""The audit inbox and its chainer (issue 18): appends take no lock, the chainer seals every committed event in
commit order per chain, anchors over every chain head go to the database and to witnesses outside it, and
``audit verify --public-key`` detects what a holder of the database or of the key folder could do."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from casework.extensions import db
from casework.models import utcnow
from casework.protect import audit, chainer
from casework.protect.audit import AuditAnchor, AuditChainHead, AuditEvent
from casework.protect.chainer import seal, seal_all, write_anchor
from casework.protect.ring import current_keys
from tests.protect.conftest import ON_POSTGRES, tamper

WRITERS = 64
PROVINCES = ("01", "11", "15", "19")


def _officer(k: int) -> SimpleNamespace:
    """Writers spread over four province chains and the national chain."""
    if k % 5 == 4:
        return SimpleNamespace(id=f"nat{k}", role="coordinator", province_code=None)
    return SimpleNamespace(id=f"off{k}", role="province_officer", province_code=PROVINCES[k % 5])


def _events(n: int, actor: object | None = None, prefix: str = "case") -> None:
    for i in range(n):
        audit.record("case_view", object_type="case", object_id=f"{prefix}{i}", fields=["narrative"], actor=actor)
        db.session.commit()


def _file(app) -> Path:
    return Path(app.config["SETTINGS"].checkpoint_dir) / audit.CHECKPOINT_FILE


def _verify(app, pem: Path | None = None) -> tuple[int, str]:
    args = ["audit", "verify"] + (["--public-key", str(pem)] if pem is not None else [])
    result = app.test_cli_runner().invoke(args=args)
    return result.exit_code, result.output


def _bad(app, pem: Path, reason: str) -> None:
    code, output = _verify(app, pem)
    assert (code, output) == (1, reason + "\n")


# --- appending without a lock, sealing -------------------------------------------------------------


def test_record_writes_an_unsealed_event_to_its_chain(app):
    audit.record("case_view", object_type="case", object_id="c1", actor=_officer(0))
    audit.record("user_create", object_type="user", object_id="u1")
    db.session.commit()
    rows = db.session.execute(select(AuditEvent.chain, AuditEvent.seq, AuditEvent.mac).order_by(AuditEvent.id)).all()
    assert [tuple(r) for r in rows] == [("01", None, None), ("national", None, None)]
    assert seal() == 2
    db.session.expire_all()
    rows = db.session.execute(select(AuditEvent.chain, AuditEvent.seq, AuditEvent.prev_mac)
                              .order_by(AuditEvent.id)).all()
    assert [(r.chain, r.seq, r.prev_mac) for r in rows] == [("01", 1, audit.GENESIS), ("national", 1, audit.GENESIS)]
    assert _verify(app) == (0, "ok: 2 events in 2 chains, chain intact\n")


def test_a_commune_officer_without_a_province_code_goes_to_the_province_of_her_commune():
    officer = SimpleNamespace(id="c", role="commune_officer", province_code=None, commune_code="05533")
    assert audit.chain_of(officer) == "19"
    assert audit.chain_of(SimpleNamespace(id="h", role="host", province_code="19")) == audit.NATIONAL
    assert audit.chain_of(None) == audit.NATIONAL


def test_64_parallel_writers_each_with_its_own_session_then_every_event_is_sealed_and_verified(app):
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(k: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(3):
                    audit.record("case_view", object_type="case", object_id=f"w{k}n{i}", actor=_officer(k))
                    db.session.commit()
                db.session.remove()
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors[:3]
    seal_all()
    db.session.expire_all()
    ids = db.session.scalars(select(AuditEvent.object_id).where(AuditEvent.mac.is_not(None))).all()
    assert sorted(ids) == sorted(f"w{k}n{i}" for k in range(WRITERS) for i in range(3))
    per_chain = dict(db.session.execute(select(AuditEvent.chain, func.max(AuditEvent.seq))
                                        .group_by(AuditEvent.chain)).all())
    assert sum(per_chain.values()) == WRITERS * 3 and set(per_chain) == {*PROVINCES, "national"}
    heads = dict(db.session.execute(select(AuditChainHead.chain, AuditChainHead.seq)).all())
    assert heads == per_chain
    assert _verify(app) == (0, f"ok: {WRITERS * 3} events in 5 chains, chain intact\n")


def test_several_chainers_sealing_while_writers_write_leave_valid_chains(app):
    stop = threading.Event()
    errors: list[BaseException] = []

    def sealer() -> None:
        try:
            with app.app_context():
                while not stop.is_set():
                    seal(batch=7)
        except BaseException as e:
            errors.append(e)

    def writer(k: int) -> None:
        try:
            with app.app_context():
                for i in range(20):
                    audit.record("case_view", object_type="case", object_id=f"w{k}n{i}", actor=_officer(k))
                    db.session.commit()
                db.session.remove()
        except BaseException as e:
            errors.append(e)

    sealers = [threading.Thread(target=sealer) for _ in range(3)]
    writers = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in sealers + writers:
        t.start()
    for t in writers:
        t.join(timeout=120)
    stop.set()
    for t in sealers:
        t.join(timeout=60)
    assert not errors, errors[:3]
    seal_all()
    assert _verify(app) == (0, "ok: 160 events in 5 chains, chain intact\n")


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL pointing at PostgreSQL: two write "
                                            "transactions are open at once only there")
def test_seal_never_skips_an_event_whose_older_neighbour_commits_late(app):
    """T1 starts and inserts first, T2 inserts later and commits first: while T1 runs nothing after it is
    sealed; once T1 commits, both are sealed, T1's event first."""
    inserted, go = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def older() -> None:
        try:
            with app.app_context():
                audit.record("case_view", object_type="case", object_id="older")
                inserted.set()
                go.wait(30)
                db.session.commit()
                db.session.remove()
        except BaseException as e:
            errors.append(e)

    t1 = threading.Thread(target=older)
    t1.start()
    assert inserted.wait(30)
    audit.record("case_view", object_type="case", object_id="newer")
    db.session.commit()
    assert seal() == 0  # "newer" is committed, but an older transaction may still add an event before it
    assert db.session.scalar(select(AuditEvent.mac).where(AuditEvent.object_id == "newer")) is None
    go.set()
    t1.join(timeout=30)
    assert not errors, errors
    seal_all()
    db.session.expire_all()
    order = db.session.execute(select(AuditEvent.object_id, AuditEvent.seq).order_by(AuditEvent.id)).all()
    assert [tuple(r) for r in order] == [("older", 1), ("newer", 2)]
    assert _verify(app) == (0, "ok: 2 events, chain intact\n")


def test_an_event_of_an_open_transaction_is_left_for_a_later_pass(app):
    """The open writer's event is invisible to the chainer's pass (SQLite: the write lock; PostgreSQL: the
    snapshot); the pass seals nothing and skips nothing: once committed, the next pass seals it."""
    audit.record("case_view", object_type="case", object_id="open")
    result: list[int] = []
    sealer = threading.Thread(target=lambda: _in_app(app, lambda: result.append(seal())))
    sealer.start()
    sealer.join(timeout=60)
    assert result == [0]
    db.session.commit()
    assert seal() == 1
    assert _verify(app) == (0, "ok: 1 events, chain intact\n")


def _in_app(app, fn) -> None:
    with app.app_context():
        fn()
        db.session.remove()


def test_verify_reports_a_committed_event_left_unsealed_beyond_the_delay(app):
    _events(2)
    seal_all()
    audit.record("case_view", object_type="case", object_id="late")
    db.session.commit()
    with db.engine.begin() as conn:  # recorded 10 s ago (around the PostgreSQL trigger, like ``tamper``)
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        t = AuditEvent.__table__
        conn.execute(update(t).where(t.c.object_id == "late").values(ts=utcnow() - timedelta(seconds=10)))
    assert _verify(app) == (1, "bad: inbox (1 committed events older than 2 s are not sealed (is the chainer "
                               "running?))\n")
    seal_all()
    assert _verify(app)[0] == 0


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL pointing at PostgreSQL: its planner chose a "
                                            "scan of the whole trail")
@pytest.mark.parametrize("removed", [0, 20_000])
def test_the_chainer_reads_the_inbox_index_even_when_statistics_say_every_event_waits(app, removed):
    """Statistics taken while 20,000 events waited unsealed (a bulk load, autovacuum off): the planner believes
    every row waits. The chainer's look-ups must still be a few probes of the inbox index, not a scan of the trail
    on every pass (it was a parallel scan: on 2 cores it halved the audited reads served). ``removed``: events
    sealed and deleted before, not vacuumed (as the suite's cleaning leaves them): the planner then walked the
    (chain, seq) index of the sealed events when the probe was ordered by chain alone (seen in CI)."""
    if removed:
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # around the trigger
            conn.execute(text(
                "INSERT INTO audit_event (chain, ts, action, outcome, key_version, xid) "
                "SELECT 'national', now(), 'case_view', 'ok', 1, i FROM generate_series(1, :n) AS i"), {"n": removed})
            conn.execute(text("UPDATE audit_event SET seq = id, mac = md5(id::text), prev_mac = ''"))
            conn.execute(text("DELETE FROM audit_event"))
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO audit_event (chain, ts, action, outcome, key_version, xid) "
            "SELECT CASE WHEN i % 2 = 0 THEN 'national' ELSE '01' END, now(), 'case_view', 'ok', 1, i "
            "FROM generate_series(1, 20000) AS i"))
        conn.execute(text("ANALYZE audit_event"))
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # sealed at once, around the trigger
        conn.execute(text("UPDATE audit_event SET seq = id, mac = md5(id::text), prev_mac = '' WHERE mac IS NULL"))

    def plan(statement) -> str:
        with db.engine.connect() as conn:
            return "\n".join(conn.execute(text("EXPLAIN " + statement)).scalars())

    rows = chainer.sealable_rows("national", 10**9, 1000).compile(
        dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    for statement in (str(chainer._PENDING_CHAINS), str(rows)):
        explained = plan(statement)
        assert "Seq Scan" not in explained and "ix_audit_event_unsealed" in explained, explained
    with db.engine.connect() as conn:
        assert chainer._pending_chains(conn) == []
    audit.record("case_view", object_type="case", object_id="after", actor=_officer(1))
    audit.record("case_view", object_type="case", object_id="after", actor=_officer(4))
    db.session.commit()
    with db.engine.connect() as conn:
        assert chainer._pending_chains(conn) == ["11", "national"]


def test_the_chainer_waits_between_passes_unless_a_batch_was_full(app):
    """Caught up, it waits its interval and seals what came meanwhile in one pass (a pass per handful of events
    cost the machine more than the events); behind (a full batch), it goes on at once."""
    loop = chainer.Chainer(app, interval=0.5, batch=10)
    passes = iter([10, 3, 0])
    waits: list[float] = []

    def run_once():
        sealed = next(passes, None)
        if sealed is None:
            loop.stop.set()
            return 0, None
        return sealed, None

    loop.run_once = run_once  # type: ignore[method-assign]
    loop._last_pass = lambda: None  # type: ignore[method-assign]
    loop.stop.wait = lambda timeout=None: waits.append(timeout) or False  # type: ignore[method-assign]
    loop.run()
    assert waits == [0.5, 0.5, 0.5]  # after 3, after 0, and after the pass that stopped it; none after 10


def test_flask_audit_seal_runs_one_pass(app):
    _events(3)
    result = app.test_cli_runner().invoke(args=["audit", "seal"])
    assert (result.exit_code, result.output) == (0, "sealed: 3\n")


def test_the_chainer_thread_seals_and_anchors_then_stops(app, make_app):
    threaded = make_app(audit_anchor_seconds=1)
    with threaded.app_context():
        worker = chainer.start_thread(threaded)
        _events(3)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not db.session.scalar(select(func.count()).select_from(AuditAnchor)):
            time.sleep(0.1)
        chainer_, thread = threaded.extensions["tincay.chainer"]
        chainer_.stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive() and worker is chainer_
    assert db.session.scalar(select(func.count()).select_from(AuditAnchor)) >= 1
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.mac.is_(None))) in (0, 1)
    seal_all()
    assert _verify(app)[0] == 0


def test_a_stopped_chainer_thread_seals_what_committed_before_it_stopped(app, make_app):
    threaded = make_app()
    with threaded.app_context():
        worker = chainer.Chainer(threaded, interval=600)  # after its first pass it would sleep ten minutes
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        time.sleep(0.5)
        _events(3)
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.mac.is_(None))) == 3
        worker.stop.set()  # what a graceful shutdown does (atexit)
        thread.join(timeout=10)
        assert not thread.is_alive()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.mac.is_(None))) == 0
    assert _verify(app)[0] == 0


def test_the_chainer_thread_starts_with_the_first_request_outside_tests(app, make_app):
    served = make_app(environment="development")
    assert "tincay.chainer" not in served.extensions  # created, never served: no thread (the flask commands)
    with served.app_context():
        audit.record("login", object_type="user")
        db.session.commit()
    served.test_client().get("/")
    worker, thread = served.extensions["tincay.chainer"]
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.mac.is_(None))):
            time.sleep(0.1)
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.mac.is_(None))) == 0
    finally:
        worker.stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_no_chainer_thread_under_tests_or_when_switched_off(app, make_app):
    app.test_client().get("/")
    assert "tincay.chainer" not in app.extensions
    off = make_app(environment="development", audit_chainer="off")
    off.test_client().get("/")
    assert "tincay.chainer" not in off.extensions


# --- anchors and witnesses ---------------------------------------------------------------------------


@pytest.fixture
def anchored(app, tmp_path):
    """Events in three chains, two anchors with events between them, the public key given to the auditor."""
    pem = tmp_path / "auditor" / "tincay-audit.pub"
    pem.parent.mkdir()
    result = app.test_cli_runner().invoke(args=["keys", "export-audit-public", str(pem)])
    assert result.exit_code == 0, result.output
    for round_ in range(2):
        _events(4, _officer(0), prefix=f"a{round_}-")
        _events(3, _officer(1), prefix=f"b{round_}-")
        _events(2, None, prefix=f"n{round_}-")
        seal_all()
        assert write_anchor() is not None
        seal_all()
    return pem


def test_anchors_are_signed_chained_and_identical_in_the_database_and_the_witness_file(app, anchored):
    lines = _file(app).read_text().splitlines()
    stored = db.session.scalars(select(AuditAnchor.line).order_by(AuditAnchor.n)).all()
    assert lines == stored and len(lines) == 2
    second = json.loads(lines[1])
    assert second["prev"] == audit.line_hash(lines[0])
    assert {c: h["seq"] for c, h in second["heads"].items()} == {"01": 8, "11": 6, "national": 5}
    assert _verify(app, anchored) == (0, "ok: 20 events in 3 chains, chain intact; 2 checkpoints signed by the "
                                         "given public key\n")


def test_no_new_anchor_when_nothing_but_the_last_anchor_happened(app, anchored):
    assert write_anchor() is None
    _events(1)
    seal_all()
    assert write_anchor()["n"] == 3


def test_truncation_of_a_chain_is_detected(app, anchored):
    """A superuser deletes the newest events of province 01 and moves its head row back with them."""
    tamper("DELETE FROM audit_event WHERE chain = '01' AND seq > 5;"
           "UPDATE audit_chain_head SET seq = 5, mac = (SELECT mac FROM audit_event WHERE chain = '01' AND seq = 5) "
           "WHERE chain = '01'")
    _bad(app, anchored, "bad: 6 (events after the last one are missing in chain 01 (anchor 2 signed seq 8))")


def test_truncation_without_moving_the_head_is_detected_even_without_anchors(app, anchored):
    tamper("DELETE FROM audit_event WHERE chain = '11' AND seq > 5")
    _bad(app, anchored, "bad: 6 (events after the last one are missing in chain 11 (its head is at 6))")


def test_a_dropped_anchor_line_is_detected(app, anchored):
    path = _file(app)
    path.write_text(path.read_text().splitlines()[0] + "\n")
    _bad(app, anchored, "bad: checkpoint (the database holds checkpoint line 2, but the checkpoint file ends at "
                        "line 1)")


def test_a_deleted_anchor_file_is_detected_and_not_recreated_by_the_chainer(app, anchored):
    _file(app).unlink()
    _events(1)
    seal_all()
    write_anchor()  # the chainer never rebuilds a vanished witness from the database
    assert not _file(app).exists()
    _bad(app, anchored, f"bad: checkpoint (the checkpoint file {_file(app)} is missing)")


def test_anchors_deleted_from_the_database_are_detected(app, anchored):
    tamper("DELETE FROM audit_anchor WHERE n = 2")
    _bad(app, anchored, "bad: checkpoint (checkpoint line 2 is in the checkpoint file but not in the database)")


def test_a_replaced_anchor_key_is_detected(app, anchored):
    """Somebody with the key folder replaces the checkpoint key; the next anchor is signed with it."""
    _events(2)
    seal_all()
    write_anchor(keys=replace(current_keys(), checkpoint_key=Ed25519PrivateKey.generate()))
    _bad(app, anchored, "bad: checkpoint (checkpoint line 3: the signature does not match the given public key)")


def test_a_chain_rewritten_and_re_signed_with_a_new_key_is_detected(app, anchored):
    """The database superuser who also holds the key folder rebuilds province 01 without its newest events,
    new head, new anchors in the database and a new witness file, all signed with a key of her own: consistent
    with itself (the key folder's own check is fooled), not with the auditor's public key."""
    tamper("DELETE FROM audit_event WHERE chain = '01' AND seq > 5; DELETE FROM audit_anchor;"
           "UPDATE audit_chain_head SET seq = 5, mac = (SELECT mac FROM audit_event WHERE chain = '01' AND seq = 5) "
           "WHERE chain = '01'")
    _file(app).unlink()
    forged = replace(current_keys(), checkpoint_key=Ed25519PrivateKey.generate())
    directory = Path(app.config["SETTINGS"].checkpoint_dir)
    write_anchor(keys=forged, directories=[directory], force=True)
    write_anchor(keys=forged, directories=[directory], force=True)
    seal_all()
    assert audit.verify_chain(keys=forged, checkpoint_dir=directory).ok  # fooled: trusts the key beside it
    _bad(app, anchored, "bad: checkpoint (checkpoint line 1: the signature does not match the given public key)")


def test_an_edited_anchor_in_the_database_is_detected(app, anchored):
    line = db.session.scalar(select(AuditAnchor.line).where(AuditAnchor.n == 2))
    entry = json.loads(line)
    entry["heads"]["01"]["seq"] = 4
    tamper("UPDATE audit_anchor SET line = :line WHERE n = 2", line=json.dumps(entry, sort_keys=True))
    _bad(app, anchored, "bad: checkpoint (anchor 2 in the database: the signature does not match the given "
                        "public key)")


class _Witness(BaseHTTPRequestHandler):
    received: list[bytes] = []
    fail = False

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).fail:
            self.send_response(503)
        else:
            type(self).received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_witness():
    _Witness.received, _Witness.fail = [], False
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Witness)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/anchors", _Witness
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    chainer._posted.clear()


def test_anchors_are_posted_to_the_http_witness_and_retried_after_a_failure(app, http_witness):
    url, witness = http_witness
    _events(2)
    seal_all()
    write_anchor(url=url)
    witness.fail = True
    _events(1)
    seal_all()
    write_anchor(url=url)
    assert len(witness.received) == 1
    witness.fail = False
    _events(1)
    seal_all()
    write_anchor(url=url)
    stored = db.session.scalars(select(AuditAnchor.line).order_by(AuditAnchor.n)).all()
    assert [b.decode() for b in witness.received] == stored and len(stored) == 3


def test_a_second_witness_directory_receives_the_same_lines(app, tmp_path):
    other = tmp_path / "other-mount"
    _events(2)
    seal_all()
    write_anchor(directories=[Path(app.config["SETTINGS"].checkpoint_dir), other])
    assert (other / audit.CHECKPOINT_FILE).read_text() == _file(app).read_text() != ""


# --- the database refuses changes (PostgreSQL) -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL pointing at PostgreSQL: the triggers "
                                            "exist only there")
@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET action = 'login' WHERE object_id = 'sealed'",
    "UPDATE audit_event SET mac = 'x' WHERE object_id = 'sealed'",
    "DELETE FROM audit_event WHERE object_id = 'sealed'",
    "UPDATE audit_event SET action = 'login' WHERE object_id = 'unsealed'",
    "UPDATE audit_event SET action = 'login', seq = 99, prev_mac = 'a', mac = 'b' WHERE object_id = 'unsealed'",
    "DELETE FROM audit_event WHERE object_id = 'unsealed'",
    "UPDATE audit_chain_head SET seq = seq - 1",
    "DELETE FROM audit_chain_head",
    "UPDATE audit_anchor SET line = 'x'",
    "DELETE FROM audit_anchor",
])
def test_postgresql_refuses_every_change_but_the_chainers_seal(app, statement):
    audit.record("case_view", object_type="case", object_id="sealed")
    db.session.commit()
    seal_all()
    write_anchor()
    seal_all()
    audit.record("case_view", object_type="case", object_id="unsealed")
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only|only moves forward"):
        with db.engine.begin() as conn:
            conn.execute(text(statement))
    seal_all()
    assert _verify(app)[0] == 0


def test_the_auditors_verify_screen_says_why_in_vietnamese(app, client, make_user, login):
    auditor = make_user("auditor", username="kiemtra2")
    _events(1)
    seal_all()
    audit.record("case_view", object_type="case", object_id="late")
    db.session.commit()
    with db.engine.begin() as conn:  # recorded 10 s ago, never sealed
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        t = AuditEvent.__table__
        conn.execute(update(t).where(t.c.object_id == "late").values(ts=utcnow() - timedelta(seconds=10)))
    login(client, auditor)
    page = client.post("/audit/verify").get_data(as_text=True)
    assert "chờ quá lâu chưa được niêm phong" in page and "None" not in page
    seal_all()
    page = client.post("/audit/verify").get_data(as_text=True)
    assert "chờ quá lâu" not in page


# --- the migration keeps an existing trail valid ---------------------------------------------------


@pytest.fixture
def fresh_database(tmp_path):
    """An empty database of this test's own (a file on SQLite, ``<worker db>_legacy`` on PostgreSQL)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from tests.conftest import PG_URL

    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'legacy.db'}"
        return
    url = make_url(PG_URL)
    name = f"{url.database}_legacy"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_migration_keeps_a_trail_and_checkpoint_file_written_before_it(app_config, fresh_database, tmp_path):
    """Events chained and a checkpoint line signed the old way stay valid: they become the national chain,
    its head row is written, and the first anchor follows the old line in the same file."""
    from flask_migrate import upgrade

    from casework import create_app

    old_app = create_app({**app_config, "database_url": fresh_database, "checkpoint_dir": str(tmp_path / "cp")})
    with old_app.app_context():
        upgrade(revision="c15a2b7d9e01")
        keys = current_keys()
        prev, ts = audit.GENESIS, utcnow()
        with db.engine.begin() as conn:
            for seq in range(1, 4):
                row = SimpleNamespace(seq=seq, ts=ts + timedelta(seconds=seq), actor_id=None, actor_role=None,
                                      action="login", object_type="user", object_id=f"u{seq}", fields=None,
                                      outcome="allowed", detail=None, request_id=None, client_ip=None,
                                      key_version=1, prev_mac=prev)
                mac = audit.compute_mac(keys.audit_key, row)
                conn.execute(text("INSERT INTO audit_event (seq, ts, actor_id, actor_role, action, object_type, "
                                  "object_id, fields, outcome, detail, request_id, client_ip, key_version, prev_mac, "
                                  "mac) VALUES (:seq, :ts, NULL, NULL, 'login', 'user', :oid, NULL, 'allowed', NULL, "
                                  "NULL, NULL, 1, :prev, :mac)"),
                             {"seq": seq, "ts": row.ts if ON_POSTGRES else row.ts.strftime("%Y-%m-%d %H:%M:%S.%f"),
                              "oid": f"u{seq}", "prev": prev, "mac": mac})
                prev = mac
        entry = {"n": 1, "seq": 3, "mac": prev, "ts": ts.isoformat(), "prev": audit.GENESIS}
        entry["sig"] = keys.checkpoint_key.sign(audit._checkpoint_body(entry)).hex()
        (tmp_path / "cp").mkdir()
        (tmp_path / "cp" / audit.CHECKPOINT_FILE).write_text(json.dumps(entry, sort_keys=True) + "\n")
        upgrade()
        assert audit.verify_chain(checkpoint_dir=tmp_path / "cp").ok
        _events(2, _officer(0))
        _events(1)
        seal_all()
        write_anchor()
        seal_all()
        lines = (tmp_path / "cp" / audit.CHECKPOINT_FILE).read_text().splitlines()
        assert len(lines) == 2 and json.loads(lines[1])["prev"] == audit.line_hash(lines[0])
        result = audit.verify_chain(checkpoint_dir=tmp_path / "cp", public_key=keys.checkpoint_public_key)
        assert (result.ok, result.checked, result.chains, result.checkpoints) == (True, 7, 2, 2), result
        new_id = db.session.scalar(select(func.max(AuditEvent.id)))
        assert new_id > 3  # the inbox ids continue after the migrated events
        db.session.remove()
        db.engine.dispose()
