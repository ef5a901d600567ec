"""The chainer: seals committed inbox events into their chains and anchors the chain heads (issue 18).

A request only inserts its events (``audit.record``), with no lock. The chainer, a thread of the app on the
embedded default or ``flask audit chainer`` in production (several may run), seals them:

- per chain, in a transaction that holds that chain's head row (``SELECT … FOR UPDATE SKIP LOCKED`` on
  PostgreSQL, so two chainers never seal the same chain at once and never wait for each other;
  ``BEGIN IMMEDIATE`` on SQLite, whose writes are serial anyway);
- only events whose every earlier neighbour has committed or aborted. SQLite: writers are serial, so the
  inbox id order is the commit order and every visible row is sealable. PostgreSQL: an id is taken at
  INSERT, not at COMMIT, so a visible row may have an older, still running neighbour; each row carries its
  inserting transaction id, and only rows whose transaction is older than the oldest transaction of this
  database still running (:func:`sealable_below`) are sealed, in (transaction, id) order. A row whose
  transaction is still running is simply left for the next pass: nothing is ever skipped, since a pass
  takes every unsealed row it may seal, not the rows after a remembered position.

Every ``audit_anchor_seconds`` the chainer signs an anchor over every chain head with the checkpoint key,
chained to the previous anchor, into ``audit_anchor`` and then to the witnesses: the checkpoint file in
``checkpoint_dir`` and in each of ``audit_witness_dirs``, and ``audit_witness_url`` (HTTP POST of the line).
"""

from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from flask import Flask, current_app
from sqlalchemy import Connection, Select, Table, func, select, text, update

from casework.extensions import db
from casework.models import utcnow
from casework.protect.audit import (
    CHECKPOINT_ACTION,
    CHECKPOINT_FILE,
    GENESIS,
    NATIONAL,
    XID_NOW,
    AuditAnchor,
    AuditChainHead,
    AuditEvent,
    anchor_heads,
    compute_mac,
    line_hash,
    open_private_append,
)
from casework.protect.keys import KeyRing
from casework.protect.ring import current_keys

log = logging.getLogger("casework.protect.chainer")

ANCHOR_LOCK_ID = 0x7A1C_A8  # serialises anchor writers of one database (PostgreSQL advisory lock)


# --- sealing --------------------------------------------------------------------------------------



def _table(model: type[Any]) -> Table:
    """The model's table, typed as a Core table (the ORM declares ``__table__`` as a FromClause)."""
    return cast(Table, model.__table__)

def _begin(conn: Connection) -> None:
    """Open the transaction; on SQLite take the write lock first (the head read must be the newest)."""
    conn.begin()
    if conn.dialect.name == "sqlite":
        raw = conn.connection.dbapi_connection
        if raw is not None and not raw.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


# The chains with unsealed events, one step of the inbox's index each (the smallest chain, then the next one
# above it, ...): a few index probes, never a scan of the trail. ``SELECT DISTINCT chain ... WHERE mac IS NULL``
# was planned as a parallel scan of the whole table whenever the statistics were taken while events waited
# unsealed (all of them, say, after a bulk load), on every pass: on 2 cores it halved the audited reads served.
# Each probe is ordered as the inbox index is (chain, xid, id): ordered by chain alone, the planner may walk the
# (chain, seq) index of every sealed event instead, filtering for the unsealed ones.
_PENDING_CHAINS = text(
    "WITH RECURSIVE pending(chain) AS ("
    " SELECT (SELECT chain FROM audit_event WHERE mac IS NULL ORDER BY chain, xid, id LIMIT 1)"
    " UNION ALL"
    " SELECT (SELECT e.chain FROM audit_event e WHERE e.mac IS NULL AND e.chain > p.chain"
    " ORDER BY e.chain, e.xid, e.id LIMIT 1)"
    " FROM pending p WHERE p.chain IS NOT NULL)"
    " SELECT chain FROM pending WHERE chain IS NOT NULL")


def _pending_chains(conn: Connection) -> list[str]:
    return list(conn.scalars(_PENDING_CHAINS))


def sealable_below(conn: Connection) -> int:
    """PostgreSQL: a transaction id below which every transaction *of this database* has ended.

    The snapshot's xmin would do, but it counts every database of the server: a long transaction in another
    database would hold sealing back. So: take a snapshot (``xmax``: the next id; ``xip``: ids running),
    then read which of this database's sessions hold an id, and keep the smallest id running here. An id
    given out after the snapshot is at least ``xmax``, so nothing that can still commit here is below the
    bound. (Read as the application's own role, which sees its sessions' ``backend_xid``.)
    """
    snapshot = conn.scalar(text("SELECT pg_current_snapshot()::text"))
    _xmin, xmax, xip = str(snapshot).split(":")
    running = [int(x) for x in xip.split(",") if x]
    if not running:
        return int(xmax)
    conn.execute(text("SELECT pg_stat_clear_snapshot()"))
    here = set(conn.scalars(text("SELECT backend_xid::text::bigint FROM pg_stat_activity "
                                 "WHERE datname = current_database() AND backend_xid IS NOT NULL")))
    return min((x for x in running if x % 2**32 in here), default=int(xmax))


def seal(batch: int = 1000, keys: KeyRing | None = None) -> int:
    """One pass: seal every sealable committed inbox event, chain by chain, ``batch`` per transaction.

    Returns how many events were sealed. Safe to run in several processes at once. Uses its own
    connections: never commits the caller's session.
    """
    keys = keys or current_keys()
    total = 0
    with db.engine.connect() as conn:
        chains = _pending_chains(conn)
        conn.rollback()
        for chain in chains:
            while True:
                n = _seal_chain(conn, chain, batch, keys.audit_key)
                total += n
                if n < batch:
                    break
    return total


def sealable_rows(chain: str, bound: int, batch: int) -> Select[Any]:
    """PostgreSQL: the next ``batch`` unsealed events of ``chain`` whose transactions ended (ids below ``bound``),
    in sealing order: the first rows of the inbox's index (chain, xid, id)."""
    t = _table(AuditEvent)
    return (select(t).where(t.c.chain == chain, t.c.mac.is_(None), t.c.xid.is_(None) | (t.c.xid < bound))
            .order_by(t.c.xid, t.c.id).limit(batch))


def _seal_chain(conn: Connection, chain: str, batch: int, audit_key: bytes) -> int:
    t, h = _table(AuditEvent), _table(AuditChainHead)
    postgres = conn.dialect.name == "postgresql"
    try:
        if postgres:
            conn.execute(text("INSERT INTO audit_chain_head (chain, seq, mac) VALUES (:c, 0, :g) "
                              "ON CONFLICT (chain) DO NOTHING"), {"c": chain, "g": GENESIS})
            conn.commit()
            bound = sealable_below(conn)
            conn.commit()
            conn.begin()
            head = conn.execute(select(h.c.seq, h.c.mac).where(h.c.chain == chain)
                                .with_for_update(skip_locked=True)).first()
            if head is None:  # another chainer is sealing this chain right now
                conn.rollback()
                return 0
            rows = conn.execute(sealable_rows(chain, bound, batch)).all()
        else:
            _begin(conn)
            head = conn.execute(select(h.c.seq, h.c.mac).where(h.c.chain == chain)).first()
            if head is None:
                conn.execute(h.insert().values(chain=chain, seq=0, mac=GENESIS))
                head = conn.execute(select(h.c.seq, h.c.mac).where(h.c.chain == chain)).first()
            rows = conn.execute(select(t).where(t.c.chain == chain, t.c.mac.is_(None))
                                .order_by(t.c.id).limit(batch)).all()
        if not rows or head is None:
            conn.rollback()
            return 0
        seq, prev = head.seq, head.mac
        now = utcnow()
        params = []
        for row in rows:
            seq += 1
            event = SimpleNamespace(**row._mapping)
            event.seq, event.prev_mac = seq, prev
            mac = compute_mac(audit_key, event)
            params.append({"b_id": row.id, "b_seq": seq, "b_prev": prev, "b_mac": mac})
            prev = mac
        stmt = (update(t).where(t.c.id == text(":b_id"), t.c.mac.is_(None))
                .values(seq=text(":b_seq"), prev_mac=text(":b_prev"), mac=text(":b_mac"), sealed_at=now))
        conn.execute(stmt, params)
        conn.execute(update(h).where(h.c.chain == chain).values(seq=seq, mac=prev, sealed_at=now))
        conn.commit()
        return len(rows)
    except BaseException:
        conn.rollback()
        raise


def seal_all(timeout: float = 30.0, batch: int = 1000) -> int:
    """Seal until no committed event is left unsealed (tests and ``audit seal --wait``).

    On PostgreSQL an event waits for every older transaction of the server to end, so this retries.
    """
    deadline = time.monotonic() + timeout
    total = 0
    while True:
        total += seal(batch)
        with db.engine.connect() as conn:
            left = conn.scalar(select(func.count()).select_from(AuditEvent.__table__)
                               .where(AuditEvent.__table__.c.mac.is_(None)))
        if not left or time.monotonic() > deadline:
            return total
        time.sleep(0.05)


# --- anchors --------------------------------------------------------------------------------------


def witness_dirs(exclude: Path | None = None) -> list[Path]:
    """The directory witnesses: ``checkpoint_dir`` first, then ``audit_witness_dirs`` (comma-separated)."""
    s = current_app.config["SETTINGS"]
    dirs = [Path(s.checkpoint_dir)] + [Path(p.strip()) for p in s.audit_witness_dirs.split(",") if p.strip()]
    out: list[Path] = []
    for d in dirs:
        if (exclude is None or d.resolve() != exclude.resolve()) and d not in out:
            out.append(d)
    return out


def witness_url() -> str:
    return str(current_app.config["SETTINGS"].audit_witness_url)


def _heads(conn: Connection) -> dict[str, tuple[int, str]]:
    h = _table(AuditChainHead)
    return {r.chain: (r.seq, r.mac) for r in conn.execute(select(h.c.chain, h.c.seq, h.c.mac).where(h.c.seq > 0))}


def _changed_since(conn: Connection, last_line: str | None, heads: dict[str, tuple[int, str]]) -> bool:
    """Anything to anchor beyond the previous anchor's own ``audit_checkpoint`` event?"""
    if last_line is None:
        return bool(heads)
    before = anchor_heads(json.loads(last_line))
    if {c: v for c, v in heads.items() if c != NATIONAL} != {c: v for c, v in before.items() if c != NATIONAL}:
        return True
    t = _table(AuditEvent)
    since = before.get(NATIONAL, (0, GENESIS))[0]
    return bool(conn.scalar(select(func.count()).select_from(t).where(
        t.c.chain == NATIONAL, t.c.seq > since, t.c.action != CHECKPOINT_ACTION)))


def write_anchor(keys: KeyRing | None = None, directories: list[Path] | None = None, url: str | None = None,
                 force: bool = False) -> dict[str, Any] | None:
    """Sign the chain heads into a new anchor: the database first (with an ``audit_checkpoint`` event of the
    national chain recording its line number), then every witness. None when there is nothing to anchor.
    """
    from casework.protect.audit import sign_anchor

    keys = keys or current_keys()
    if directories is None:
        directories = witness_dirs()
    if url is None:
        url = witness_url()
    with db.engine.connect() as conn:
        try:
            _begin(conn)
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ANCHOR_LOCK_ID})
            heads = _heads(conn)
            last = conn.execute(select(AuditAnchor.n, AuditAnchor.line).order_by(AuditAnchor.n.desc()).limit(1)).first()
            if not heads or not (force or _changed_since(conn, last.line if last else None, heads)):
                conn.rollback()
                return None
            if last is not None:
                n, prev = last.n + 1, line_hash(last.line)
            else:  # the first anchor follows the lines written before anchors were kept in the database
                old = _file_lines(directories[0]) if directories else []
                n, prev = len(old) + 1, (line_hash(old[-1]) if old else GENESIS)
            entry, line = sign_anchor(keys, n, heads, prev)
            conn.execute(_table(AuditAnchor).insert().values(n=n, ts=utcnow(), line=line))
            values: dict[str, Any] = {"chain": NATIONAL, "ts": utcnow(), "action": CHECKPOINT_ACTION,
                                      "object_type": "audit_event", "detail": f"line:{n}", "outcome": "allowed",
                                      "key_version": 1}
            if conn.dialect.name == "postgresql":
                values["xid"] = text(XID_NOW)
            conn.execute(_table(AuditEvent).insert().values(**values))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    publish(directories, url)
    return entry


def _file_lines(directory: Path) -> list[str]:
    path = directory / CHECKPOINT_FILE
    if not path.exists():
        return []
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _db_lines(after: int) -> list[tuple[int, str]]:
    with db.engine.connect() as conn:
        return [(r.n, r.line) for r in conn.execute(select(AuditAnchor.n, AuditAnchor.line)
                                                    .where(AuditAnchor.n > after).order_by(AuditAnchor.n))]


_posted: dict[str, int] = {}  # witness URL -> newest anchor it acknowledged (this process)
_posted_lock = threading.Lock()


def publish(directories: list[Path], url: str = "") -> None:
    """Bring every witness up to the database's newest anchor: append what each file lacks, POST what the
    HTTP witness has not acknowledged. A witness that diverges or whose file vanished is never rewritten
    from the database (that would launder a tampered database): it is logged, and ``audit verify`` fails.
    """
    for directory in directories:
        try:
            _append_missing(directory)
        except OSError:
            log.exception("could not write the anchor witness in %s", directory)
    if url:
        _post_missing(url)


def _append_missing(directory: Path) -> None:
    path = directory / CHECKPOINT_FILE
    if not path.exists():
        known = _db_lines(0)
        if len(known) > 1 or (known and known[0][0] != 1):
            log.error("anchor witness %s is missing while the database holds older anchors; not re-created "
                      "(copy it from another witness)", path)
            return
    with open_private_append(path) as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        lines = _file_lines(directory)
        have = 0
        if lines:
            try:
                have = int(json.loads(lines[-1])["n"])
            except (ValueError, KeyError, TypeError):
                log.error("anchor witness %s ends with a malformed line; not appended to", path)
                return
        missing = _db_lines(have)
        if not missing:
            return
        if not lines and (missing[0][0] != 1 or len(missing) > 1):
            log.error("anchor witness %s is missing or empty while the database holds older anchors; "
                      "not re-created (copy it from another witness)", path)
            return
        if lines:
            with db.engine.connect() as conn:
                own = conn.scalar(select(AuditAnchor.line).where(AuditAnchor.n == have))
                oldest = conn.scalar(select(func.min(AuditAnchor.n)))
            if (own is not None and own != lines[-1]) or (own is None and oldest is not None and oldest <= have) \
                    or missing[0][0] != have + 1:
                log.error("anchor witness %s does not end where the database's anchors continue; not appended to",
                          path)
                return
        for _n, line in missing:
            fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _post_missing(url: str) -> None:
    with _posted_lock:
        after = _posted.get(url)
        if after is None:  # a new process: only anchors from now on (the witness keeps the older ones)
            rows = _db_lines(0)
            after = rows[-2][0] if len(rows) > 1 else 0
        for n, line in _db_lines(after):
            request = urllib.request.Request(url, data=line.encode("utf-8"), method="POST",  # noqa: S310
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the operator's URL
                    if response.status >= 300:
                        raise OSError(f"HTTP {response.status}")
            except OSError as e:
                if isinstance(e, urllib.error.HTTPError):
                    e.close()
                log.warning("the HTTP anchor witness did not take anchor %d (%s); retried at the next anchor", n,
                            type(e).__name__)
                break
            _posted[url] = after = n


# --- the loop ---------------------------------------------------------------------------------------


class Chainer:
    """Seal every ``interval`` seconds and anchor every ``anchor_seconds``, until ``stop`` is set."""

    def __init__(self, app: Flask, interval: float = 0.5, batch: int = 1000) -> None:
        self.app = app
        self.interval = interval
        self.batch = batch
        self.stop = threading.Event()
        self.last_anchor = 0.0

    def run_once(self) -> tuple[int, dict[str, Any] | None]:
        with self.app.app_context():
            try:
                sealed = seal(self.batch)
                entry = None
                every = self.app.config["SETTINGS"].audit_anchor_seconds
                if every > 0 and time.monotonic() - self.last_anchor >= every:
                    self.last_anchor = time.monotonic()
                    entry = write_anchor()
                    if entry is not None:
                        sealed += seal(self.batch)
                return sealed, entry
            finally:
                db.session.remove()

    def run(self) -> None:
        self.last_anchor = time.monotonic()  # the first anchor after one period, not at start-up
        while not self.stop.is_set():
            try:
                sealed, _ = self.run_once()
            except Exception:  # a database restart or a full disk: log and keep going
                log.exception("audit chainer pass failed")
                sealed = 0
            if sealed < self.batch:  # caught up: wait, and seal what comes meanwhile in one pass
                self.stop.wait(self.interval)
        self._last_pass()

    def _last_pass(self) -> None:
        """On a graceful stop (a server shut down or restarted): seal what has committed, so that a stopped
        process leaves nothing unsealed that it could seal and ``audit verify`` passes while it is down."""
        try:
            self.run_once()
        except Exception:
            log.exception("audit chainer's last pass failed")


def start_thread(app: Flask) -> Chainer:
    """The in-process chainer of the embedded default: a daemon thread, stopped at interpreter exit."""
    chainer = Chainer(app)
    thread = threading.Thread(target=chainer.run, name="audit-chainer", daemon=True)
    thread.start()

    def stop() -> None:
        chainer.stop.set()
        thread.join(timeout=5)

    atexit.register(stop)
    app.extensions["tincay.chainer"] = (chainer, thread)
    return chainer


def install(app: Flask) -> None:
    """Start the chainer thread with the first request served (never for a ``flask`` command, which serves
    none, nor under tests), unless ``audit_chainer`` is ``off`` (production runs ``flask audit chainer``)."""
    if app.config.get("TESTING") or app.config["SETTINGS"].audit_chainer != "thread":
        return
    lock = threading.Lock()

    def _start_chainer() -> None:
        if "tincay.chainer" in app.extensions:
            return
        with lock:
            if "tincay.chainer" not in app.extensions:
                start_thread(app)

    # First of the hooks: an earlier hook that answers (a redirect to the sign-in page) skips the later ones.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_chainer)


def write_checkpoint(directory: Path, keys: KeyRing | None = None) -> dict[str, object] | None:
    """``audit checkpoint``: seal what is sealable, then write an anchor over every chain head now, to the
    database and to ``directory`` (and the configured witnesses). None when no event was ever sealed."""
    keys = keys or current_keys()
    if keys.checkpoint_key is None:
        raise RuntimeError("no checkpoint signing key")
    seal()
    entry = write_anchor(keys, [directory, *witness_dirs(exclude=directory)], witness_url(), force=True)
    seal()  # the anchor's own event
    return entry
