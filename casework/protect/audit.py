"""The tamper-evident audit trail (DESIGN §3.4, security.md §4).

One append-only table. Each event's MAC is an HMAC-SHA256, under a key kept outside the database,
over a length-prefixed encoding of its fields and the previous event's MAC, so that an edited,
inserted or deleted event breaks the chain. Deleting the newest events leaves a valid chain, which
only a signed checkpoint written outside the database reveals: ``verify_chain`` compares both.

Events carry ids and codes only, never personal data: no names, no search terms, no free text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from flask import g, has_request_context, request
from sqlalchemy import BigInteger, Index, Row, String, select, text
from sqlalchemy.orm import Mapped, mapped_column

from casework.extensions import db
from casework.models import UTCDateTime, utcnow
from casework.protect.keys import KeyRing, current_keys

GENESIS = "0" * 64
ADVISORY_LOCK_ID = 0x7A1C_A7  # any constant shared by every writer of this database
_CODE = re.compile(r"^[a-z0-9_.:-]{1,64}$")
_OPAQUE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class AuditEvent(db.Model):
    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    ts: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
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
    prev_mac: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    mac: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)

    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.seq} {self.action}>"


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


def compute_mac(key: bytes, event: AuditEvent | Row) -> str:
    return hmac.new(key, _encode(getattr(event, f) for f in PAYLOAD_FIELDS), hashlib.sha256).hexdigest()


def opaque_id(value: str | None) -> str | None:
    """``value`` if it has the shape of one of our ids, else None: a guessed or garbled id from a URL is
    recorded as missing rather than copied into the trail (it could be anything a caller typed)."""
    return value if value is not None and _OPAQUE_ID.match(value) else None


def _check_code(name: str, value: str | None) -> None:
    pattern = _OPAQUE_ID if name == "object_id" else _CODE
    if value is not None and not pattern.match(value):
        # A code is an identifier; anything else might be personal data and never enters the trail.
        raise ValueError(f"audit {name} must be a short code")


def _actor() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None
    user = getattr(g, "audit_actor", None)
    if user is None:
        from flask_login import current_user

        user = current_user if current_user and current_user.is_authenticated else None
    if user is None:
        return None, None
    return user.id, user.role


def record(
    action: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    fields: Iterable[str] = (),
    outcome: str = "allowed",
    detail: str | None = None,
    actor: object | None = None,
) -> AuditEvent:
    """Append one event in the current transaction; the caller's commit makes it and the change durable.

    ``actor`` is a user (anything with ``id`` and ``role``); without it the logged-in user is used.
    If the event cannot be written, the exception propagates and the whole change is rolled back.
    """
    for name, value in (("action", action), ("object_type", object_type), ("object_id", object_id),
                        ("outcome", outcome), ("detail", detail)):
        _check_code(name, value)
    field_names = sorted(set(fields))
    for name in field_names:
        _check_code("field", name)
    if actor is not None:
        actor_id, actor_role = getattr(actor, "id", None), getattr(actor, "role", None)
    else:
        actor_id, actor_role = _actor()
    keys = current_keys()
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        # Writers are serialised until commit, so two transactions never chain to the same head.
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
    head = session.execute(select(AuditEvent.seq, AuditEvent.mac).order_by(AuditEvent.seq.desc()).limit(1)).first()
    event = AuditEvent(
        seq=(head.seq + 1) if head else 1,
        ts=utcnow(),
        actor_id=actor_id,
        actor_role=actor_role,
        action=action,
        object_type=object_type,
        object_id=object_id,
        fields=",".join(field_names) or None,
        outcome=outcome,
        detail=detail,
        request_id=getattr(g, "request_id", None) if has_request_context() else None,
        client_ip=(request.remote_addr if has_request_context() else None),
        key_version=1,
        prev_mac=head.mac if head else GENESIS,
    )
    event.mac = compute_mac(keys.audit_key, event)
    session.add(event)
    session.flush()
    return event


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
        record(action, **kwargs)  # type: ignore[arg-type]
    db.session.commit()


# --- verification -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


def _iter_events(batch: int = 10000) -> Iterator[Row]:
    """Plain rows in sequence order, a batch at a time: no ORM objects, nothing left in the session."""
    t = AuditEvent.__table__
    last = 0
    while True:
        rows = db.session.execute(select(t).where(t.c.seq > last).order_by(t.c.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify_chain(keys: KeyRing | None = None, checkpoint_dir: Path | None = None) -> VerifyResult:
    keys = keys or current_keys()
    expected_seq, prev_mac, prev_ts, count = 1, GENESIS, None, 0
    macs: dict[int, str] = {}
    checkpoint = latest_checkpoint(checkpoint_dir, keys) if checkpoint_dir else None
    if isinstance(checkpoint, VerifyResult):
        return checkpoint
    for event in _iter_events():
        count += 1
        if event.seq != expected_seq:
            return VerifyResult(False, count, expected_seq, "missing event")
        if event.prev_mac != prev_mac:
            return VerifyResult(False, count, event.seq, "broken link")
        if not hmac.compare_digest(event.mac, compute_mac(keys.audit_key, event)):
            return VerifyResult(False, count, event.seq, "altered event")
        if prev_ts is not None and event.ts < prev_ts:
            return VerifyResult(False, count, event.seq, "time goes backwards")
        if checkpoint and event.seq == checkpoint["seq"]:
            macs[event.seq] = event.mac
        prev_mac, prev_ts, expected_seq = event.mac, event.ts, event.seq + 1
    if checkpoint:
        seq = int(checkpoint["seq"])
        if seq >= expected_seq:
            # Events up to the signed checkpoint existed and are gone: truncation or an old backup.
            return VerifyResult(False, count, expected_seq, "events after the last one are missing")
        if macs.get(seq) != checkpoint["mac"]:
            return VerifyResult(False, count, seq, "checkpoint does not match")
    return VerifyResult(True, count)


# --- checkpoints --------------------------------------------------------------------------------


def _checkpoint_body(entry: dict[str, object]) -> bytes:
    return json.dumps({k: entry[k] for k in ("seq", "mac", "ts")}, sort_keys=True).encode()


def write_checkpoint(directory: Path, keys: KeyRing | None = None) -> dict[str, object] | None:
    """Sign (seq, mac) of the newest event and append it to a file outside the database."""
    keys = keys or current_keys()
    head = db.session.execute(select(AuditEvent.seq, AuditEvent.mac).order_by(AuditEvent.seq.desc()).limit(1)).first()
    if head is None:
        return None
    entry: dict[str, object] = {"seq": head.seq, "mac": head.mac, "ts": utcnow().isoformat()}
    if keys.checkpoint_key is None:
        raise RuntimeError("no checkpoint signing key")
    entry["sig"] = keys.checkpoint_key.sign(_checkpoint_body(entry)).hex()
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "audit-checkpoints.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
    return entry


def latest_checkpoint(directory: Path, keys: KeyRing) -> dict | VerifyResult | None:
    path = directory / "audit-checkpoints.jsonl"
    if not path.exists():
        return None
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines:
        return None
    try:
        entry = json.loads(lines[-1])
        keys.checkpoint_public_key.verify(bytes.fromhex(entry["sig"]), _checkpoint_body(entry))
    except (ValueError, KeyError, InvalidSignature):
        return VerifyResult(False, 0, None, "the newest checkpoint's signature is not valid")
    return entry
