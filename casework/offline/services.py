"""Receiving entries sealed offline (issue 17): open, validate like the online form, save once, audit.

Each entry gets one answer: ``saved`` (with the new case id), ``duplicate`` (this account already sent
this entry id: nothing happens twice, whatever the retries), ``needs_correction`` (it opened but a field
fails the online form's rules: it becomes an encrypted draft the host finishes online) or ``rejected``
(it cannot be opened, or it is older than the age limit, which keeps it as a draft too). A bad entry never
creates or changes a case, leaves one audit event with a reason code and no personal data, and stays
recoverable: as a draft when it opened, as its sealed envelope in ``offline_receipt`` when it did not.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from casework.auth.models import User
from casework.errors import DomainError, NotFound, StateError
from casework.extensions import db
from casework.models import ID_LENGTH, utcnow
from casework.offline import sealing
from casework.offline.models import KINDS, OfflineDraft, OfflineReceipt
from casework.protect import audit
from casework.protect.keys import KeyRing
from casework.protect.ring import current_keys

MAX_BATCH = 50
MAX_PLAINTEXT = 256 * 1024


def _settings():
    return current_app.config["SETTINGS"]


def reason_text(code: str) -> str:
    """The per-entry reason, in the user's language (Vietnamese by default)."""
    texts = {
        "malformed": _("This entry is not in the expected format and was not opened."),
        "unknown_key": _("This entry was sealed with a key this server does not know; it was kept sealed."),
        "key_retired": _("This entry was sealed with a key that has been retired; it was kept sealed."),
        "unreadable": _("This entry cannot be opened: it was changed or cut short on the way, or it was sealed "
                        "for another account. It was kept sealed."),
        "bad_content": _("The content of this entry cannot be read; it was kept sealed."),
        "too_old": _("This entry was recorded more than %(days)d days ago, so it was not saved; it was kept "
                     "as a draft to complete online.", days=_settings().offline_max_age_days),
        "invalid": _("Some fields need correcting; the entry was kept as a draft to complete online."),
        "case_not_found": _("The case was not found; the entry was kept as a draft to complete online."),
        "case_state": _("The case cannot take this entry in its current state; the entry was kept as a draft "
                        "to complete online."),
    }
    return texts[code]


# --- the offline key ---------------------------------------------------------------------------------------


def current_offline_version(keys: KeyRing | None = None) -> int | None:
    keys = keys or current_keys()
    return max(keys.offline_keys) if keys.offline_keys else None


def _successor_started(version: int, keys: KeyRing) -> datetime | None:
    """When the next offline key version became current (its check value's creation), if there is one."""
    from casework.protect.canary import KeyCanary

    newer = [v for v in keys.offline_keys if v > version]
    if not newer:
        return None
    row = db.session.get(KeyCanary, ("offline", min(newer)))
    return row.created_at if row is not None else None


def private_key_for(kid: object, keys: KeyRing):
    """The private key of ``kid`` or ``UnsealError``: unknown, or retired longer than the grace period."""
    version = sealing.key_version(kid)
    if version is None or version not in keys.offline_keys:
        raise sealing.UnsealError("unknown_key")
    started = _successor_started(version, keys)
    if started is not None and utcnow() > started + timedelta(days=_settings().offline_key_grace_days):
        raise sealing.UnsealError("key_retired")
    return keys.offline_keys[version]


def queue_tag(user: User, device: str) -> str:
    """The name of this account's queue on this device: only a signed-in session of the account gets it,
    so another user of the phone cannot list, send or delete it through the app."""
    secret = hmac.new(current_keys().secret_key, b"tincay-offline-queue", hashlib.sha256).digest()
    mac = hmac.new(secret, f"{user.id}|{device}".encode(), hashlib.sha256).digest()
    return sealing.b64u(mac[:16])


# --- receiving ---------------------------------------------------------------------------------------------


@dataclass
class Opened:
    body: dict[str, Any]
    captured_at: datetime | None


def _entry_uuid(value: object) -> str | None:
    if not isinstance(value, str) or len(value) != 36:
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    return value if str(parsed) == value else None  # the canonical lower-case form, as sealed


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def receive_entries(user: User, entries: list[Any]) -> list[dict[str, Any]]:
    keys = current_keys()
    return [receive_entry(user, raw, keys) for raw in entries]


def receive_entry(user: User, raw: Any, keys: KeyRing) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {}
    entry_id = _entry_uuid(raw.get("id"))
    if entry_id is None:
        audit.record("offline_entry_reject", object_type="offline_entry", outcome="failed", detail="malformed",
                     actor=user)
        shown = raw.get("id") if isinstance(raw.get("id"), str) and len(raw["id"]) <= 64 else None
        return {"id": shown, "status": "rejected", "reason": reason_text("malformed")}
    receipt = db.session.scalar(select(OfflineReceipt).where(OfflineReceipt.user_id == user.id,
                                                             OfflineReceipt.entry_id == entry_id))
    if receipt is not None and (receipt.status != "rejected" or _kept_as_draft(receipt)):
        receipt.attempts += 1
        audit.record("offline_entry_duplicate", object_type="offline_entry", object_id=receipt.id,
                     detail=receipt.status, actor=user)
        answer: dict[str, Any] = {"id": entry_id, "status": "duplicate"}
        if receipt.case_id:
            answer["case_id"] = receipt.case_id
        return answer
    new_receipt = receipt is None
    if receipt is None:
        receipt = OfflineReceipt(user_id=user.id, entry_id=entry_id, status="rejected", attempts=1)
    else:
        receipt.attempts += 1
    kid = raw.get("key_id")
    receipt.key_id = kid if sealing.key_version(kid) is not None else None
    receipt.captured_at = _moment(raw.get("captured_at"))
    receipt.received_at = utcnow()
    try:
        # The unique constraint answers a concurrent request with the same entry here: that request saves
        # it, this one is a duplicate (never a 500, never twice).
        with db.session.begin_nested():
            if new_receipt:
                db.session.add(receipt)
            db.session.flush()
    except IntegrityError:
        audit.record("offline_entry_duplicate", object_type="offline_entry", detail="concurrent", actor=user)
        return {"id": entry_id, "status": "duplicate"}
    try:
        opened = _open(user, raw, entry_id, keys)
    except sealing.UnsealError as e:
        return _reject(user, receipt, raw, e.code)
    if opened.captured_at is not None:
        receipt.captured_at = opened.captured_at
    kind = opened.body.get("type")
    limit = timedelta(days=_settings().offline_max_age_days)
    if receipt.captured_at is not None and utcnow() - receipt.captured_at > limit:
        draft = _keep_draft(user, receipt, kind, opened.body, "too_old", {})
        receipt.status, receipt.reason = "rejected", "too_old"
        audit.record("offline_entry_reject", object_type="offline_entry", object_id=receipt.id, outcome="failed",
                     detail="too_old", actor=user)
        return {"id": entry_id, "status": "rejected", "reason": reason_text("too_old"), "draft_id": draft.id}
    before = set(db.session.new)
    try:
        case_id = _save(user, kind, opened.body)
    except DomainError as e:
        for obj in set(db.session.new) - before:  # nothing of a refused entry stays in the session
            if obj is not receipt:
                db.session.expunge(obj)
        code = "case_not_found" if isinstance(e, NotFound) else "case_state" if isinstance(e, StateError) \
            else "invalid"
        draft = _keep_draft(user, receipt, kind, opened.body, code, e.fields)
        receipt.status, receipt.reason = "needs_correction", code
        audit.record("offline_entry_draft", object_type="offline_entry", object_id=receipt.id, outcome="failed",
                     detail=code, actor=user)
        return {"id": entry_id, "status": "needs_correction", "reason": reason_text(code), "draft_id": draft.id}
    receipt.status, receipt.reason, receipt.kind, receipt.case_id = "saved", None, kind, case_id
    receipt.sealed = None
    audit.record("offline_entry_save", object_type="offline_entry", object_id=receipt.id, detail=kind, actor=user)
    return {"id": entry_id, "status": "saved", "case_id": case_id}


def _kept_as_draft(receipt: OfflineReceipt | None) -> bool:
    return receipt is not None and receipt.reason == "too_old"


def _open(user: User, raw: dict[str, Any], entry_id: str, keys: KeyRing) -> Opened:
    private_key = private_key_for(raw.get("key_id"), keys)
    plaintext = sealing.unseal(private_key, raw["key_id"], entry_id, user.id, raw.get("epk"), raw.get("nonce"),
                               raw.get("ciphertext"), MAX_PLAINTEXT)
    try:
        body = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise sealing.UnsealError("bad_content") from None
    if not isinstance(body, dict) or body.get("type") not in KINDS:
        raise sealing.UnsealError("bad_content")
    # The capture time sealed inside the entry wins over the envelope's (which the network could change).
    return Opened(body=body, captured_at=_moment(body.get("captured_at")))


def _reject(user: User, receipt: OfflineReceipt, raw: dict[str, Any], code: str) -> dict[str, Any]:
    receipt.status, receipt.reason = "rejected", code
    envelope = {k: raw.get(k) for k in ("id", "key_id", "epk", "nonce", "ciphertext", "captured_at")
                if isinstance(raw.get(k), str)}
    receipt.sealed = json.dumps(envelope)[: 2 * MAX_PLAINTEXT]
    audit.record("offline_entry_reject", object_type="offline_entry", object_id=receipt.id, outcome="failed",
                 detail=code, actor=user)
    return {"id": receipt.entry_id, "status": "rejected", "reason": reason_text(code)}


def _keep_draft(user: User, receipt: OfflineReceipt, kind: Any, body: dict[str, Any], code: str,
                problems: dict[str, list[str]]) -> OfflineDraft:
    db.session.flush()
    draft = OfflineDraft(user_id=user.id, receipt_id=receipt.id, kind=kind if kind in KINDS else "intake",
                         reason=code, captured_at=receipt.captured_at)
    draft.payload = json.dumps(body, ensure_ascii=False)
    draft.problems = json.dumps(problems, ensure_ascii=False)
    receipt.kind = draft.kind
    receipt.sealed = None
    db.session.add(draft)
    db.session.flush()
    return draft


def _save(user: User, kind: Any, body: dict[str, Any]) -> str:
    """Save through the same schemas and services as the online API (an entry is judged by the rules of the
    form it stands for, and answered in its words); raises their ``DomainError``s."""
    from casework.cases import api as cases_api
    from casework.cases import schemas as case_schemas
    from casework.cases import services as case_services
    from casework.cases.policy import intake_addresses

    if kind == "intake":
        only = None
        if not body.get("address_id"):
            addresses = intake_addresses(user)
            if len(addresses) == 1:  # the phone does not keep the address list: a host has one address
                only = addresses[0].id
        return case_services.create_case(user, cases_api.read_intake(user, body, address_id=only)).id
    case = _case_for(user, body.get("case_id"))
    if kind == "follow_up":
        case_services.add_follow_up(user, case, case_schemas.FollowUpIn.from_json(body))
    else:
        case_services.add_shelter_stay(user, case, case_schemas.ShelterStayIn.from_json(body))
    return case.id


def _case_for(user: User, value: object):
    """The case by its id or by the reference the host typed on the phone, within her scope."""
    from casework.cases.models import Case
    from casework.cases.policy import WORKER_ROLES, cases_visible_to

    if (user.role not in {r.value for r in WORKER_ROLES} or not isinstance(value, str)
            or not 0 < len(value) <= ID_LENGTH):
        raise NotFound(_("Not found."), {"case_id": [_("The case was not found.")]})
    wanted = value.strip()
    case = db.session.scalar(cases_visible_to(user).where(or_(Case.id == wanted, Case.reference == wanted.upper())))
    if case is None:
        raise NotFound(_("Not found."), {"case_id": [_("The case was not found.")]})
    return case


# --- drafts ------------------------------------------------------------------------------------------------


def drafts_visible_to(user: User):
    """Open drafts of this account only: a draft is hers alone until she finishes it."""
    return (select(OfflineDraft).where(OfflineDraft.user_id == user.id, OfflineDraft.finished_at.is_(None))
            .order_by(OfflineDraft.created_at))


def get_draft_or_404(user: User, draft_id: str) -> OfflineDraft:
    from casework.auth.policy import deny

    draft = None
    if isinstance(draft_id, str) and 0 < len(draft_id) <= ID_LENGTH:
        draft = db.session.scalar(drafts_visible_to(user).where(OfflineDraft.id == draft_id))
    if draft is None:
        deny("offline_draft", audit.opaque_id(draft_id))
    return draft  # type: ignore[return-value]


def record_draft_view(user: User, draft: OfflineDraft) -> None:
    audit.record("offline_draft_view", object_type="offline_draft", object_id=draft.id, actor=user)


def finish_draft(user: User, draft: OfflineDraft) -> None:
    """She has entered it online (or decided it is not needed): the draft leaves her list and its content
    is erased (data minimisation); the row stays as a trace that the entry was handled."""
    draft.finished_at = utcnow()
    draft.payload = None
    draft.problems = None
    audit.record("offline_draft_finish", object_type="offline_draft", object_id=draft.id, actor=user)
