"""The tamper-evident audit trail (DESIGN §3.4, security.md §4).

One append-only table. Each event's MAC is an HMAC-SHA256, under a key kept outside the database,
over a length-prefixed encoding of its fields and the previous event's MAC, so that an edited,
inserted or deleted event breaks the chain. Deleting the newest events leaves a valid chain, which
only a signed checkpoint written outside the database reveals: ``verify_chain`` compares both.

Events carry ids and codes only, never personal data: no names, no search terms, no free text.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import IO, Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import (
    BigInteger,
    Index,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Mapped, mapped_column

from casework.extensions import BUILT_ONCE, Model, db
from casework.models import utc_datetime, utcnow
from casework.protect.keys import KeyRing
from casework.protect.ring import current_keys

GENESIS = "0" * 64
NATIONAL = "national"  # the chain of accounts, statistics and everything without a province
_CODE = re.compile(r"^[a-z0-9_.:-]{1,64}$")
_OPAQUE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# A detail may also name one related record by its opaque id ("requested_by:<user id>"): ids only.
_DETAIL_WITH_ID = re.compile(r"^[a-z_]{1,24}:[A-Za-z0-9_-]{1,32}$")


class AuditEvent(Model):
    """One event. Written unsealed (``seq``, ``prev_mac``, ``mac``, ``sealed_at`` empty) by :func:`record` in
    the caller's transaction, with no lock; the chainer (``casework.protect.chainer``) seals it later into
    its chain, in commit order. ``id`` is the inbox order; ``seq`` is the position in ``chain``."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    chain: Mapped[str] = mapped_column(String(16), nullable=False, default=NATIONAL, server_default=NATIONAL)
    seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), nullable=True)
    ts: Mapped[datetime] = utc_datetime(nullable=False)
    actor_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    actor_role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    object_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    object_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fields: Mapped[str | None] = mapped_column(String(512), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False, default="allowed")
    detail: Mapped[str | None] = mapped_column(String(128), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    client_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key_version: Mapped[int] = mapped_column(nullable=False, default=1)
    # PostgreSQL: the inserting transaction (pg_current_xact_id()); the chainer seals a row only once every
    # transaction older than it has ended, so no earlier neighbour can still commit. Empty on SQLite.
    xid: Mapped[int | None] = mapped_column(BigInteger(), nullable=True)
    prev_mac: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    sealed_at: Mapped[datetime | None] = utc_datetime(nullable=True)

    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id"),
        UniqueConstraint("chain", "seq", name="uq_audit_event_chain_seq"),
        # The inbox: what the chainer reads, small however long the trail grows, in the order it seals (so that
        # its batch is the index's first rows whatever the planner's statistics say).
        Index("ix_audit_event_unsealed", "chain", "xid", "id", postgresql_where=text("mac IS NULL"),
              sqlite_where=text("mac IS NULL")),
    )

    def __repr__(self) -> str:
        return f"<AuditEvent {self.chain}:{self.seq} {self.action}>"


class AuditChainHead(Model):
    """The newest sealed event of each chain, updated in place by the chainer (one row per chain)."""

    __tablename__ = "audit_chain_head"

    chain: Mapped[str] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), nullable=False)
    mac: Mapped[str] = mapped_column(String(64), nullable=False)
    sealed_at: Mapped[datetime | None] = utc_datetime(nullable=True)


class AuditAnchor(Model):
    """A signed anchor over every chain head: ``line`` is the exact JSON line also written to the witnesses."""

    __tablename__ = "audit_anchor"

    n: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True,
                                   autoincrement=False)
    ts: Mapped[datetime] = utc_datetime(nullable=False)
    line: Mapped[str] = mapped_column(Text(), nullable=False)


PAYLOAD_FIELDS = (
    "seq", "ts", "actor_id", "actor_role", "action", "object_type", "object_id", "fields",
    "outcome", "detail", "request_id", "client_ip", "key_version", "prev_mac",
)


def _encode(values: Iterable[object]) -> bytes:
    """Length-prefixed canonical encoding: no separator can be forged by a field's content."""
    out = bytearray(b"audit/v1")
    for value in values:
        if value is None:
            out += b"\xff\xff\xff\xff"
            continue
        if isinstance(value, datetime):
            value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        data = str(value).encode("utf-8")
        out += len(data).to_bytes(4, "big") + data
    return bytes(out)


def compute_mac(key: bytes, event: Any) -> str:
    """The event's MAC. A province chain's name is part of it (an event cannot move between chains); the
    national chain's is not, so the events sealed before chains were partitioned keep their MACs."""
    values = [getattr(event, f) for f in PAYLOAD_FIELDS]
    chain = getattr(event, "chain", None) or NATIONAL
    if chain != NATIONAL:
        values.append(f"chain:{chain}")
    return hmac.new(key, _encode(values), hashlib.sha256).hexdigest()


def opaque_id(value: str | None) -> str | None:
    """``value`` if it has the shape of one of our ids, else None: a guessed or garbled id from a URL is
    recorded as missing rather than copied into the trail (it could be anything a caller typed)."""
    return value if value is not None and _OPAQUE_ID.match(value) else None


def _check_code(name: str, value: str | None) -> None:
    pattern = _OPAQUE_ID if name == "object_id" else _CODE
    if name == "detail" and value is not None and _DETAIL_WITH_ID.match(value):
        return
    if value is not None and not pattern.match(value):
        # A code is an identifier; anything else might be personal data and never enters the trail.
        raise ValueError(f"audit {name} must be a short code")


def _actor() -> object | None:
    if not has_request_context():
        return None
    user = getattr(g, "audit_actor", None)
    if user is None:
        from flask_login import current_user

        user = current_user if current_user and current_user.is_authenticated else None
    return user


_PROVINCE_ROLES = ("province_officer", "commune_officer")
_PROVINCE = re.compile(r"^[0-9]{2}$")


def chain_of(actor: object | None) -> str:
    """The chain an event goes to: its actor's province for provincial and commune officers, the national
    chain for everything else (accounts, statistics, national roles, hosts, the command line). Simple and
    deterministic; a chain is only a partition of the trail, never a permission."""
    if actor is not None and getattr(actor, "role", None) in _PROVINCE_ROLES:
        province = getattr(actor, "province_code", None)
        if not province:
            commune = getattr(actor, "commune_code", None)
            if commune:
                try:
                    from casework.geo import data as geo

                    unit = geo.commune(commune)
                    province = unit.province_code if unit is not None else None
                except Exception:  # an unknown commune: the national chain
                    province = None
        if province and _PROVINCE.match(province):
            return province
    return NATIONAL


# Reads of a person's record: the only events ``benchmark_unaudited_reads`` (benchmarks only, refused in
# production by casework.config) leaves out.
READ_ACTIONS = frozenset({
    "case_list", "case_view", "case_search", "closure_view", "transfer_view", "offline_draft_view",
    "survivor_list", "survivor_search", "survivor_view", "survivor_child_view", "proposal_view",
    "referral_list", "referral_view",
})


def _reads_unaudited() -> bool:
    return bool(_setting("benchmark_unaudited_reads", False))


def record(
    action: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    fields: Iterable[str] = (),
    outcome: str = "allowed",
    detail: str | None = None,
    actor: object | None = None,
) -> None:
    """Append one event to the inbox in the current transaction; the caller's commit makes it and the
    change durable. No lock and no chain work: the chainer seals it after the commit (issue 18).

    ``actor`` is a user (anything with ``id`` and ``role``); without it the logged-in user is used.
    If the event cannot be written, the exception propagates and the whole change is rolled back.
    """
    for name, value in (("action", action), ("object_type", object_type), ("object_id", object_id),
                        ("outcome", outcome), ("detail", detail)):
        _check_code(name, value)
    field_names = sorted(set(fields))
    for name in field_names:
        _check_code("field", name)
    if actor is None:
        actor = _actor()
    skip = action in READ_ACTIONS and outcome == "allowed" and _reads_unaudited()
    session = db.session
    values = {
        "chain": chain_of(actor),
        "ts": utcnow(),
        "actor_id": getattr(actor, "id", None),
        "actor_role": getattr(actor, "role", None),
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "fields": ",".join(field_names) or None,
        "outcome": outcome,
        "detail": detail,
        "request_id": getattr(g, "request_id", None) if has_request_context() else None,
        "client_ip": request.remote_addr if has_request_context() else None,
        "key_version": 1,
    }
    if skip:  # benchmarks only: the event is made (its checks and values stay) but not written
        return
    # Pending changes first, as one flush of both did: their errors propagate before the event is written.
    session.flush()
    # One INSERT of the columns, without the unit of work (issue 18: an ORM flush per audited read cost about
    # twice the statement) and without an ORM object of it that nothing would read.
    connection = session.connection()
    connection.execute(_insert_event(connection.dialect.name == "postgresql"), values, execution_options=BUILT_ONCE)


@cache
def _insert_event(postgresql: bool) -> Any:
    """The inbox INSERT, built once; on PostgreSQL it records the inserting transaction (see ``xid``). Inline:
    without ``RETURNING id``, which SQLAlchemy adds to fetch a new row's key that nobody here reads (issue 18)."""
    statement = insert(cast(Table, AuditEvent.__table__)).inline()
    return statement.values(xid=literal_column(XID_NOW)) if postgresql else statement


XID_NOW = "(pg_current_xact_id()::text)::bigint"


def record_after_rollback(action: str, **kwargs: object) -> None:
    """Queue an event that must survive the request's rollback (denied access, failed checks).

    The request teardown writes queued events in their own transaction after rolling back the rest.
    """
    g.setdefault("audit_deferred", []).append((action, kwargs))


def flush_deferred() -> None:
    pending = g.pop("audit_deferred", [])
    if not pending:
        return
    for action, kwargs in pending:
        record(action, **kwargs)
    db.session.commit()


# --- verification -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    checkpoints: int = 0  # anchor lines whose signature and link were checked
    chains: int = 0
    where: str = "checkpoint"  # what failed when no event is named: "checkpoint" (anchors) or "inbox"


def _iter_events(batch: int = 10000) -> Iterator[Row[Any]]:
    """Sealed events as plain rows, chain by chain in sequence order, a batch at a time: no ORM objects."""
    t = AuditEvent.__table__
    last_chain, last_seq = "", 0
    while True:
        rows = db.session.execute(
            select(t).where(t.c.mac.is_not(None), t.c.seq.is_not(None),
                            tuple_(t.c.chain, t.c.seq) > tuple_(literal(last_chain), literal(last_seq)))
            .order_by(t.c.chain, t.c.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last_chain, last_seq = rows[-1].chain, rows[-1].seq


def verify_chain(keys: KeyRing | None = None, checkpoint_dir: Path | None = None,
                 public_key: Ed25519PublicKey | None = None, seal_delay: float | None = None) -> VerifyResult:
    """Walk every chain, compare it with its head row and with every anchor (in the database and in the
    checkpoint file, the directory witness), and look for committed events left unsealed.

    With ``public_key`` (``audit verify --public-key FILE``) only that key is trusted for the signatures,
    never the private key in the key folder, and the checkpoint file must exist and hold a line.
    Without it, the key folder's checkpoint key is used, and a missing file is accepted only while the
    trail records no anchor (a new installation).
    """
    keys = keys or current_keys()
    strict = public_key is not None
    if seal_delay is None:
        seal_delay = _setting("audit_seal_delay_seconds", 2)
    with ExitStack() as stack:
        if checkpoint_dir is not None and (checkpoint_dir / CHECKPOINT_FILE).exists():
            # No anchor is appended while the file and the chain are compared (the writer holds the exclusive
            # lock): a line written in between would look like a dropped line or lost events.
            fh = stack.enter_context((checkpoint_dir / CHECKPOINT_FILE).open("rb"))
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH)
        return _verify_chain(keys, checkpoint_dir, public_key, strict, seal_delay)


def _setting(name: str, default: Any) -> Any:
    if not has_app_context():
        return default
    return getattr(current_app.config.get("SETTINGS"), name, default)


def _bad(count: int, problem: str, seq: int | None = None, where: str = "checkpoint") -> VerifyResult:
    return VerifyResult(False, count, seq, problem, where=where)


def _verify_chain(keys: KeyRing, checkpoint_dir: Path | None, public_key: Ed25519PublicKey | None,
                  strict: bool, seal_delay: float) -> VerifyResult:
    key = public_key or _folder_public_key(keys)
    file_lines: list[str] = []
    checkpoints: list[dict[str, Any]] = []
    if checkpoint_dir is not None:
        read = read_checkpoints(checkpoint_dir, key, strict)
        if isinstance(read, VerifyResult):
            return read
        checkpoints = read
        file_lines = _raw_lines(checkpoint_dir / CHECKPOINT_FILE)
    db_anchors = read_db_anchors(key, strict)
    if isinstance(db_anchors, VerifyResult):
        return db_anchors
    if checkpoint_dir is not None:
        problem = _compare_witness(db_anchors, file_lines)
        if problem:
            return _bad(0, problem)
    # Every (chain, seq) some anchor signed, with the MAC it signed.
    anchored: dict[tuple[str, int], list[tuple[int, str]]] = {}
    by_n: dict[int, dict[str, Any]] = {n: e for n, e in enumerate(checkpoints, start=1)}
    by_n.update({int(e["n"]): e for e in db_anchors})
    for n, entry in sorted(by_n.items()):
        for chain, (seq, mac) in anchor_heads(entry).items():
            anchored.setdefault((chain, seq), []).append((n, mac))
    heads = {r.chain: (r.seq, r.mac) for r in db.session.execute(select(AuditChainHead.chain, AuditChainHead.seq,
                                                                         AuditChainHead.mac))}
    count = 0
    last: dict[str, tuple[int, str]] = {}
    macs: dict[tuple[str, int], str] = {}
    recorded_lines = 0  # the highest anchor line number the trail itself says was written
    chain, expected_seq, prev_mac = "", 1, GENESIS
    for event in _iter_events():
        if event.chain != chain:
            chain, expected_seq, prev_mac = event.chain, 1, GENESIS
        count += 1
        where = f" in chain {chain}"
        if event.seq != expected_seq:
            return _bad(count, "missing event" + where, expected_seq)
        if event.prev_mac != prev_mac:
            return _bad(count, "broken link" + where, event.seq)
        if not hmac.compare_digest(event.mac, compute_mac(keys.audit_key, event)):
            return _bad(count, "altered event" + where, event.seq)
        if (chain, event.seq) in anchored or heads.get(chain, (0,))[0] == event.seq:
            macs[(chain, event.seq)] = event.mac
        if event.action == CHECKPOINT_ACTION and event.detail and event.detail[5:].isdigit():
            recorded_lines = max(recorded_lines, int(event.detail[5:]))
        prev_mac, expected_seq = event.mac, event.seq + 1
        last[chain] = (event.seq, event.mac)
    # The heads were read before the walk: a chainer sealing meanwhile only adds events after them.
    for name, (seq, mac) in sorted(heads.items()):
        have = last.get(name, (0, GENESIS))
        if seq > have[0]:
            # The head row says the chain is longer than it is: its newest events were deleted.
            return _bad(count, f"events after the last one are missing in chain {name} (its head is at {seq})",
                        have[0] + 1)
        if seq and macs.get((name, seq)) != mac:
            return _bad(count, f"the head of chain {name} does not match its event", seq)
    missing = sorted(set(last) - set(heads))
    if missing:
        now = dict(db.session.execute(select(AuditChainHead.chain, AuditChainHead.seq)
                                      .where(AuditChainHead.chain.in_(missing))).all())
        for name in missing:
            if name not in now:
                return _bad(count, f"chain {name} has no head row", last[name][0])
    for (name, seq), signed in sorted(anchored.items()):
        have = last.get(name, (0, GENESIS))
        n, mac = signed[0]
        if seq > have[0]:
            # Events up to a signed anchor existed and are gone: truncation or an old backup.
            return _bad(count, f"events after the last one are missing in chain {name} (anchor {n} signed "
                               f"seq {seq})", have[0] + 1)
        for n, mac in signed:
            if macs.get((name, seq)) != mac:
                return _bad(count, f"checkpoint line {n} does not match the event it signed in chain {name}", seq)
    lines_known = max([len(checkpoints)] + [int(e["n"]) for e in db_anchors])
    if checkpoint_dir is not None and recorded_lines > len(checkpoints):
        # The trail says line N was written; the file ends earlier: lines dropped, or the file deleted.
        what = "is missing or empty" if not checkpoints else f"ends at line {len(checkpoints)}"
        return _bad(count, f"the trail records checkpoint line {recorded_lines}, but the checkpoint file {what}")
    if recorded_lines > lines_known:
        return _bad(count, f"the trail records checkpoint line {recorded_lines}, but the database holds "
                           f"{len(db_anchors)} anchors")
    late = unsealed_older_than(seal_delay)
    if late:
        return _bad(count, f"{late} committed events older than {seal_delay:g} s are not sealed (is the chainer "
                           "running?)", where="inbox")
    return VerifyResult(True, count, checkpoints=lines_known, chains=len(last))


def unsealed_older_than(seconds: float) -> int:
    """Committed events left unsealed longer than the sealing delay (their time is when they were recorded)."""
    from datetime import timedelta

    t = AuditEvent.__table__
    cutoff = utcnow() - timedelta(seconds=seconds)
    return db.session.scalar(select(func.count()).select_from(t).where(t.c.mac.is_(None), t.c.ts < cutoff)) or 0


# --- anchors and checkpoints --------------------------------------------------------------------
#
# One JSON line per anchor, in the ``audit_anchor`` table and in ``audit-checkpoints.jsonl`` outside the
# database (the directory witness; an HTTP witness receives the same line):
#   {"n": line number, "heads": {chain: {"seq": .., "mac": ..}}, "ts": when,
#    "prev": SHA-256 of the previous line's text (GENESIS for the first), "sig": Ed25519 over the rest}
# Lines written before chains were partitioned hold one head as "seq"/"mac" (the national chain).
# Each line is chained to the one before, so a line removed in the middle breaks the next line's "prev";
# each anchor is also an event ("audit_checkpoint", detail "line:N") of the national chain, so the trail
# knows how many lines the file must hold and a dropped last line or a deleted file is seen too.

CHECKPOINT_FILE = "audit-checkpoints.jsonl"
CHECKPOINT_ACTION = "audit_checkpoint"
_SIGNED = ("n", "seq", "mac", "ts", "prev")
_LEGACY_SIGNED = ("seq", "mac", "ts")  # lines written before checkpoints were chained


def open_private_append(path: Path) -> IO[str]:
    """Open ``path`` for appending, creating it 0600 and its folder 0700: only the app's account reads it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    return os.fdopen(fd, "a", encoding="utf-8")


def _checkpoint_body(entry: dict[str, object]) -> bytes:
    """What the signature covers: for an anchor, everything in the line but the signature (a field added
    to a line breaks it); for older lines, their fixed fields."""
    if "heads" in entry:
        return json.dumps({k: v for k, v in entry.items() if k != "sig"}, sort_keys=True).encode()
    names = _SIGNED if "prev" in entry else _LEGACY_SIGNED
    return json.dumps({k: entry[k] for k in names}, sort_keys=True).encode()


def anchor_heads(entry: dict[str, Any]) -> dict[str, tuple[int, str]]:
    """chain -> (seq, MAC) signed by one anchor line (an older line signed the national chain's head)."""
    if "heads" in entry:
        return {str(c): (int(h["seq"]), str(h["mac"])) for c, h in entry["heads"].items()}
    return {NATIONAL: (int(entry["seq"]), str(entry["mac"]))}


def sign_anchor(keys: KeyRing, n: int, heads: dict[str, tuple[int, str]], prev: str) -> tuple[dict[str, Any], str]:
    """The anchor entry and its exact line (no newline)."""
    if keys.checkpoint_key is None:
        raise RuntimeError("no checkpoint signing key")
    entry: dict[str, Any] = {"n": n, "heads": {c: {"seq": s, "mac": m} for c, (s, m) in sorted(heads.items())},
                             "ts": utcnow().isoformat(), "prev": prev}
    entry["sig"] = keys.checkpoint_key.sign(_checkpoint_body(entry)).hex()
    return entry, json.dumps(entry, sort_keys=True)


def line_hash(line: str) -> str:
    return hashlib.sha256(line.rstrip("\n").encode("utf-8")).hexdigest()


def _folder_public_key(keys: KeyRing) -> Ed25519PublicKey | None:
    return keys.checkpoint_key.public_key() if keys.checkpoint_key is not None else None


def _raw_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]


class _Operator:
    """The command line acts as nobody in particular: the event has no actor."""

    id = None
    role = None


def read_checkpoints(directory: Path, public_key: Ed25519PublicKey | None,
                     strict: bool) -> list[dict[str, Any]] | VerifyResult:
    """Every line of the checkpoint file, each signature and link checked; a ``VerifyResult`` on the first fault.

    ``strict``: the file must exist and hold a line (the auditor's check with her own public key).
    """
    path = directory / CHECKPOINT_FILE
    if not path.exists():
        return VerifyResult(False, 0, None, f"the checkpoint file {path} is missing") if strict else []
    raw = [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    if not raw:
        return VerifyResult(False, 0, None, f"the checkpoint file {path} is empty") if strict else []
    if public_key is None:
        return VerifyResult(False, 0, None, "no checkpoint key to check the checkpoint signatures with")
    entries: list[dict[str, Any]] = []
    chained = False
    for n, line in enumerate(raw, start=1):
        try:
            entry = json.loads(line)
            heads = anchor_heads(entry)
            public_key.verify(bytes.fromhex(entry["sig"]), _checkpoint_body(entry))
        except InvalidSignature:
            return VerifyResult(False, 0, None, f"checkpoint line {n}: the signature does not match the "
                                               f"{'given public key' if strict else 'checkpoint key'}")
        except (ValueError, KeyError, TypeError, AttributeError):
            return VerifyResult(False, 0, None, f"checkpoint line {n} is malformed")
        if "prev" in entry:
            chained = True
            if entry["n"] != n or entry["prev"] != (line_hash(raw[n - 2]) if n > 1 else GENESIS):
                return VerifyResult(False, 0, None, f"checkpoint line {n} does not follow line {n - 1}: a line "
                                                   "was removed, reordered or changed")
        elif chained:  # an unchained line after chained ones: inserted by hand
            return VerifyResult(False, 0, None, f"checkpoint line {n} is not chained to line {n - 1}")
        if entries and _goes_back(anchor_heads(entries[-1]), heads):
            return VerifyResult(False, 0, None, f"checkpoint line {n} goes back in the trail")
        entries.append(entry)
    if strict and not chained:
        return VerifyResult(False, 0, None, "the checkpoint file has no chained line; run 'audit checkpoint'")
    return entries


def _goes_back(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> bool:
    return any(chain not in after or after[chain][0] < seq for chain, (seq, _mac) in before.items())


def read_db_anchors(public_key: Ed25519PublicKey | None, strict: bool) -> list[dict[str, Any]] | VerifyResult:
    """Every anchor of the ``audit_anchor`` table, in order, each signature and link checked."""
    rows = db.session.execute(select(AuditAnchor.n, AuditAnchor.line).order_by(AuditAnchor.n)).all()
    entries: list[dict[str, Any]] = []
    if rows and public_key is None:
        return _bad(0, "no checkpoint key to check the anchor signatures with")
    for i, (n, line) in enumerate(rows):
        try:
            entry = json.loads(line)
            public_key.verify(bytes.fromhex(entry["sig"]), _checkpoint_body(entry))  # type: ignore[union-attr]
            ok_n = int(entry["n"]) == n
        except InvalidSignature:
            return _bad(0, f"anchor {n} in the database: the signature does not match the "
                           f"{'given public key' if strict else 'checkpoint key'}")
        except (ValueError, KeyError, TypeError, AttributeError):
            return _bad(0, f"anchor {n} in the database is malformed")
        if not ok_n or (i and (n != rows[i - 1].n + 1 or entry["prev"] != line_hash(rows[i - 1].line))):
            return _bad(0, f"anchor {n} in the database does not follow the one before it: an anchor was "
                           "removed, reordered or changed")
        if entries and _goes_back(anchor_heads(entries[-1]), anchor_heads(entry)):
            return _bad(0, f"anchor {n} in the database goes back in the trail")
        entries.append(entry)
    return entries


def _compare_witness(db_anchors: list[dict[str, Any]], file_lines: list[str]) -> str | None:
    """The directory witness holds every anchor of the database, line for line, and nothing after them.

    The database is written first and the witness after it (the chainer appends what it lacks), so a line
    the database has and the file lacks is a dropped line or a deleted file; a newer line in the file that
    the database lacks means anchors were deleted from the database.
    """
    if not db_anchors:
        newer = [i for i, ln in enumerate(file_lines, start=1) if '"heads"' in ln]
        if newer:
            return f"checkpoint line {newer[0]} is in the checkpoint file but not in the database"
        return None
    first, newest = int(db_anchors[0]["n"]), int(db_anchors[-1]["n"])
    if len(file_lines) < newest:
        what = "is missing or empty" if not file_lines else f"ends at line {len(file_lines)}"
        return f"the database holds checkpoint line {newest}, but the checkpoint file {what}"
    for entry in db_anchors:
        n = int(entry["n"])
        if json.loads(file_lines[n - 1]) != entry:
            return f"checkpoint line {n} differs from anchor {n} in the database"
    for n, line in enumerate(file_lines, start=1):
        if (n < first or n > newest) and '"heads"' in line:
            return f"checkpoint line {n} is in the checkpoint file but not in the database"
    return None


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The auditor's copy of the checkpoint public key (PEM); ``ValueError`` with a one-line reason."""
    try:
        data = path.read_bytes()
    except OSError:
        raise ValueError(f"the public key file {path} cannot be read") from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise ValueError(f"{path} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def public_key_pem(keys: KeyRing) -> bytes:
    return keys.checkpoint_public_key.public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def latest_checkpoint(directory: Path, keys: KeyRing) -> dict[str, Any] | VerifyResult | None:
    """The newest checkpoint line, every line checked with the key folder's key (None when there is none)."""
    read = read_checkpoints(directory, _folder_public_key(keys), strict=False)
    if isinstance(read, VerifyResult):
        return read
    return read[-1] if read else None
