"""In-app notifications about referrals (issue 5): codes and links only, never personal data.

A notification names a kind, a code and the referral it is about. The sender and the commune officer
read the case code; the receiving organisation reads the referral code, because it never learns the
case code. The text is written when the page is shown, in the reader's language.

Overdue referrals are found by ``notify_overdue``: pages of the users concerned call it before they
count unread notifications, and ``flask referral notify-overdue`` does the same from a timer. Each
overdue referral is claimed by one conditional UPDATE, so two workers never notify it twice.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, tuple_, update

from casework.auth.models import User
from casework.auth.roles import Role
from casework.errors import ValidationError
from casework.extensions import db
from casework.models import utcnow
from referral.models import Notification, Referral

KINDS = {
    "referral_received": _l("New referral %(ref)s for your organisation."),
    "referral_cancelled": _l("Referral %(ref)s was cancelled by the sender."),
    "referral_overdue_receiver": _l("Referral %(ref)s is waiting for your answer past its deadline."),
    "referral_accepted": _l("The referral of case %(ref)s was accepted."),
    "referral_declined": _l("The referral of case %(ref)s was declined."),
    "referral_completed": _l("The service for case %(ref)s was recorded."),
    "referral_overdue": _l("The referral of case %(ref)s was not answered in time."),
    "referral_override": _l("A referral of case %(ref)s was sent without her consent (life in danger)."),
}
PAGE_SIZE = 50
NOTIFIED_ROLES = (Role.HOST, Role.COMMUNE_OFFICER, Role.SERVICE_PROVIDER)


def message(notification: Notification) -> str:
    """The notification's sentence in the reader's language, with its code filled in."""
    template = KINDS.get(notification.kind)
    if template is None:
        return _("A referral changed: %(ref)s.", ref=notification.reference)
    return str(template) % {"ref": notification.reference}


def notify_users(user_ids: Iterable[str | None], kind: str, referral: Referral, reference: str) -> int:
    ids = sorted({u for u in user_ids if u})
    for user_id in ids:
        db.session.add(Notification(user_id=user_id, kind=kind, reference=reference, referral_id=referral.id))
    if ids:
        db.session.flush()
    return len(ids)


def _active_users(*conditions) -> list[str]:
    return list(db.session.scalars(select(User.id).where(User.active.is_(True), *conditions)))


def notify_organisation(organisation_id: str, kind: str, referral: Referral) -> int:
    """Every active account of the receiving organisation, with the referral's own code."""
    users = _active_users(User.role == Role.SERVICE_PROVIDER.value, User.organisation_id == organisation_id)
    return notify_users(users, kind, referral, referral.reference)


def notify_commune_officers(commune_code: str, kind: str, referral: Referral, case_reference: str) -> int:
    users = _active_users(User.role == Role.COMMUNE_OFFICER.value, User.commune_code == commune_code)
    return notify_users(users, kind, referral, case_reference)


def notify_overdue(now: datetime | None = None, limit: int = 200) -> int:
    """Notify the sender, the commune officers and the receiving organisation of each referral that has
    passed its acknowledgement deadline; each referral once. Returns how many referrals were claimed."""
    from casework.cases.models import Case

    now = now or utcnow()
    rows = db.session.execute(
        select(Referral.id, Case.reference).join(Case, Case.id == Referral.case_id)
        .where(Referral.state == "sent", Referral.ack_due_at < now, Referral.overdue_notified_at.is_(None))
        .order_by(Referral.ack_due_at).limit(limit)).all()
    claimed = 0
    for referral_id, case_reference in rows:
        won = db.session.execute(
            update(Referral).where(Referral.id == referral_id, Referral.overdue_notified_at.is_(None))
            .values(overdue_notified_at=now).execution_options(synchronize_session=False)).rowcount
        if won != 1:
            continue
        claimed += 1
        referral = db.session.get(Referral, referral_id)
        if referral is None:  # pragma: no cover - deleted with its case between the two statements
            continue
        notify_users([referral.sent_by_id], "referral_overdue", referral, case_reference)
        notify_commune_officers(referral.commune_code, "referral_overdue", referral, case_reference)
        notify_organisation(referral.organisation_id, "referral_overdue_receiver", referral)
    return claimed


def unread_count(user: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0)


@dataclass
class NotificationPage:
    items: list[Notification]
    next_cursor: str | None


def _encode(n: Notification) -> str:
    raw = f"{int(n.created_at.timestamp() * 1_000_000)}.{n.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(value: str) -> tuple[datetime, str]:
    try:
        micros, notification_id = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode().split(".", 1)
        if not notification_id or len(notification_id) > 22:
            raise ValueError
        return datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC), notification_id
    except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError, OSError):
        message = _("This page link is not valid.")
        raise ValidationError(message, {"after": [message]}) from None


def notifications_for(user: Any, after: str | None = None, limit: int = PAGE_SIZE) -> NotificationPage:
    """The user's notifications, newest first, a keyset page at a time."""
    q = select(Notification).where(Notification.user_id == user.id)
    if after:
        when, notification_id = _decode(after)
        q = q.where(tuple_(Notification.created_at, Notification.id) < tuple_(when, notification_id))
    rows = list(db.session.scalars(q.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)))
    return NotificationPage(rows[:limit], _encode(rows[limit - 1]) if len(rows) > limit else None)


def mark_read(user: Any, notification_id: str | None = None) -> int:
    """Mark one of the user's notifications, or all of them, as read; another user's id changes nothing."""
    q = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        q = q.where(Notification.id == notification_id)
    return db.session.execute(q.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount or 0


class MenuLabel:
    """The menu entry "Notifications (3)": a label whose text counts the reader's unread notifications."""

    def __str__(self) -> str:
        from flask_login import current_user

        count = 0
        if current_user and current_user.is_authenticated and current_user.role in NOTIFIED_ROLES:
            notify_overdue()
            count = unread_count(current_user)
        return _("Notifications (%(n)d)", n=count) if count else _("Notifications")
