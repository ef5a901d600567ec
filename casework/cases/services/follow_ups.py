"""Follow-ups and the date of the next one (``codes.FOLLOW_UP_DAYS``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _

from casework.auth.models import User
from casework.cases import codes
from casework.cases.models import Case, FollowUp
from casework.cases.schemas import FollowUpIn
from casework.cases.services.common import _add, _day_moment, _invalid, local_today
from casework.cases.timeline import add_timeline_entry
from casework.errors import StateError
from casework.extensions import db
from casework.protect import audit
from casework.text import VN_TZ


def _schedule_follow_up(case: Case, risk_changed: bool) -> None:
    """The next follow-up date after an intake or a new risk assessment (codes.FOLLOW_UP_DAYS).

    Before any follow-up it is the intake day plus the risk level's interval. A higher risk later brings the
    date forward (today plus the new interval, if that is sooner); a lower risk leaves the date the host has.
    """
    if case.status == "closed" or case.intake_at is None:
        return
    days = timedelta(days=codes.follow_up_days(case.risk_level))
    with db.session.no_autoflush:  # loading the follow-ups must not write this half-applied change early
        followed_up = bool(case.follow_ups)
    if not followed_up:
        case.follow_up_due_on = case.intake_at.astimezone(VN_TZ).date() + days
    elif risk_changed:
        sooner = local_today() + days
        if case.follow_up_due_on is None or sooner < case.follow_up_due_on:
            case.follow_up_due_on = sooner


def FollowUpData(**values: Any) -> FollowUpIn:  # noqa: N802 - the name its callers know
    """A follow-up from Python values (the offline reader, tests), read by the same schema as a request."""
    return FollowUpIn.from_values(**values)


def default_next_follow_up(case: Case, on: date | None = None) -> date:
    """The next follow-up date suggested after a follow-up on ``on`` (today by default)."""
    return (on or local_today()) + timedelta(days=codes.follow_up_days(case.risk_level))


def add_follow_up(actor: User, case: Case, data: FollowUpIn) -> FollowUp:
    """Record a follow-up; its day against the intake and today here, its fields in ``schemas.FollowUpIn``."""
    errors: dict[str, list[str]] = {}
    intake_day = case.intake_at.astimezone(VN_TZ).date()
    if data.on > local_today():
        _add(errors, "on", _("The date cannot be in the future."))
    elif data.on < intake_day:
        _add(errors, "on", _("The follow-up cannot be before the intake."))
    _invalid(errors)
    if case.status == "closed":
        raise StateError(_("This case is closed. Reopen it first."))
    next_on = data.next_on or default_next_follow_up(case, data.on)
    newest = max((f.on for f in case.follow_ups), default=None)
    row = FollowUp(case=case, on=data.on, kind=data.kind, situation=data.situation,
                   violence_recurred=data.violence_recurred, next_on=next_on, by_id=actor.id)
    # The queue's "follow-up due" item is the newest follow-up's next date: a follow-up typed in late for an
    # earlier day does not move it.
    if newest is None or data.on >= newest:
        case.follow_up_due_on = next_on
    if data.note:
        row.note = data.note
    db.session.add(row)
    db.session.flush()
    add_timeline_entry(actor, case, "follow_up", object_type="follow_up", object_id=row.id,
                       at=_day_moment(row.on, case.intake_at))
    audit.record("follow_up_add", object_type="case", object_id=case.id, actor=actor)
    return row
