"""Closure that checks what is still open (issue 13).

Before a case closes, the host who asks and the commune officer who decides see every open item: a
shelter stay not ended, a contact-ban request waiting for the commune chair or a ban still in force, the
commune notice never sent (Law 13/2022 Art. 36), a follow-up due or late, referrals still open (from the
referral domain, through the ``tincay.case_open_items`` hook, so that this package never imports it) and a
high risk assessed.
Approving a closure while something is open needs an explicit confirmation; a high-risk case or one with a
contact-ban decision pending also needs a reason. Open shelter stays are then ended on the closure day,
each on the timeline. Until it is reopened, a closed case takes no change (``require_open``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from casework.cases.models import Case
from casework.errors import StateError
from casework.hooks import Hooks
from casework.models import utcnow
from casework.text import VN_TZ

LABELS = {
    "high_risk": _l("The risk was assessed as high."),
    "contact_ban_pending": _l("A contact-ban request is waiting for the commune chair's decision."),
    "contact_ban_active": _l("A contact ban is still in force."),
    "commune_notice_missing": _l("The commune People's Committee was never notified."),
    "shelter_stay_open": _l("A shelter stay is not ended: it will end on the day of closure."),
    "follow_up_due": _l("A follow-up is due or late."),
}
# Items the closure cannot pass over silently: it ends an open shelter stay, and her life may still be in
# danger with a high risk or a contact-ban decision pending (those two also need a written reason). The
# others (a notice never sent, a ban in force, an open referral) are shown to the decider, not blocking.
NEEDS_CONFIRMATION = frozenset({"high_risk", "contact_ban_pending", "shelter_stay_open"})
GRAVE = frozenset({"high_risk", "contact_ban_pending"})


@dataclass(frozen=True)
class OpenItem:
    kind: str
    object_type: str
    object_id: str
    label: Any  # a lazy string, shown in the reader's language

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "object_type": self.object_type, "object_id": self.object_id}


class OpenItemsError(StateError):
    """A closure approved without confirming what is still open (HTTP 409, code ``open_items``)."""

    code = "open_items"

    def __init__(self, message: str, items: list[OpenItem], fields: dict[str, list[str]]):
        super().__init__(message, fields)
        self.items = items


def require_open(case: Case) -> None:
    if case.status == "closed":
        raise StateError(_("This case is closed. Reopen it first."))


_OPEN_ITEMS = Hooks[Callable[[Case], list[OpenItem]]]("tincay.case_open_items")


def add_open_items_hook(app: Any, hook: Callable[[Case], list[OpenItem]]) -> None:
    _OPEN_ITEMS.add(app, hook)


def open_items(case: Case) -> list[OpenItem]:
    now = utcnow()
    items: list[OpenItem] = []
    if case.risk_level == "high":
        items.append(OpenItem("high_risk", "case", case.id, LABELS["high_risk"]))
    for ban in case.contact_bans:
        if ban.decision is None:
            items.append(OpenItem("contact_ban_pending", "contact_ban", ban.id, LABELS["contact_ban_pending"]))
        elif (ban.decision == "granted" and ban.valid_until is not None and ban.valid_until > now
              and ban.revoked_on is None):
            items.append(OpenItem("contact_ban_active", "contact_ban", ban.id, LABELS["contact_ban_active"]))
    if case.commune_notified_at is None:
        items.append(OpenItem("commune_notice_missing", "case", case.id, LABELS["commune_notice_missing"]))
    if case.follow_up_due_on is not None and case.follow_up_due_on <= now.astimezone(VN_TZ).date():
        items.append(OpenItem("follow_up_due", "case", case.id, LABELS["follow_up_due"]))
    for stay in case.shelter_stays:
        if stay.end_on is None:
            items.append(OpenItem("shelter_stay_open", "shelter_stay", stay.id, LABELS["shelter_stay_open"]))
    for hook in _OPEN_ITEMS.of():
        items.extend(hook(case))
    return items


def check_confirmation(items: list[OpenItem], confirmed: bool, reason: str | None) -> None:
    """Raise :class:`OpenItemsError` unless the decider confirmed the open items that need it (and gave a
    reason for a grave one). Nothing of that kind open: nothing to confirm."""
    if not any(i.kind in NEEDS_CONFIRMATION for i in items):
        return
    fields: dict[str, list[str]] = {}
    if not confirmed:
        # One sentence under the box: the items themselves are listed above it (and in the API's
        # ``open_items``); repeating them all in red under the box buried the form on a phone.
        fields["confirm_open_items"] = [_("Tick this box once you have checked the open items listed above.")]
    if any(i.kind in GRAVE for i in items) and not (reason or "").strip():
        fields["confirm_reason"] = [_("Her safety may still be at risk: say why the case can close now.")]
    if fields:
        raise OpenItemsError(_("Some things are still open. Check them and confirm before closing the case."),
                             items, fields)


def request_note(case: Case) -> str | None:
    """What the host wrote when she asked to close the case (the newest request), decrypted."""
    from sqlalchemy import select

    from casework.cases.models import CaseEvent
    from casework.extensions import db

    event = db.session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "closure_requested")
        .order_by(CaseEvent.at.desc()).limit(1))
    return event.note if event is not None else None
