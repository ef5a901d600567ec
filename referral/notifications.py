"""In-app notifications about referrals (issue 5): codes and links only, never personal data.

A notification names a kind, a code and the referral it is about. The sender and the commune officer
read the case code; the receiving organisation reads the referral code, because it never learns the
case code. The text is written when the page is shown, in the reader's language.

Overdue referrals are found by ``notify_overdue``, run by ``flask notify overdue`` (or ``flask referral
notify-overdue``) from cron and by each web process's sweeper thread, never inside a page (issue 18). Each
overdue referral is claimed by one conditional UPDATE, so two workers never notify it twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from casework import notify
from casework.auth.models import User
from casework.auth.roles import Role
from casework.extensions import db, execute_dml
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


def message(notification: Notification) -> str:
    """The notification's sentence in the reader's language, with its code filled in."""
    return notify.message(notification)


def notify_users(user_ids: Iterable[str | None], kind: str, referral: Referral, reference: str) -> int:
    return notify.notify(user_ids, kind, "referral", referral.id, reference)


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
        won = execute_dml(
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


unread_count = notify.unread_count
notifications_for = notify.notifications_for
mark_read = notify.mark_read
NotificationPage = notify.NotificationPage


def register(app: Flask) -> None:
    """The referral kinds, the screen a referral notification opens, and the overdue sweep."""
    for kind, template in KINDS.items():
        notify.add_kind(app, kind, template)
    notify.add_link(app, "referral", "referral.view", "referral_id")
    notify.add_sweep(app, notify_overdue)
