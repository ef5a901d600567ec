"""What the case services share: their errors (a 422 per field, the 409 of a stale version), the length
limits of free text, today in Vietnam and the moment an event known only by its day goes on the timeline."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from casework.errors import StateError, ValidationError
from casework.extensions import db
from casework.models import utcnow
from casework.text import VN_TZ, nfc


def _invalid(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(_("Please correct the marked fields."), errors)


def _add(errors: dict[str, list[str]], name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _text(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = nfc(value)
    return value[:limit] if value else None


def local_today() -> date:
    return utcnow().astimezone(VN_TZ).date()


def _stale() -> StateError:
    return StateError(_("Someone else changed this case after you opened it. Your changes were not saved: "
                        "open the case again and re-enter them."), {"version": [_("This version is out of date.")]})


def _flush() -> None:
    """Flush, turning a lost race on the case's version into the same 409 as a stale form."""
    try:
        db.session.flush()
    except StaleDataError:
        raise _stale() from None


def _day_moment(day: date, not_before: datetime) -> datetime:
    """When an event known only by its day goes on the timeline: now if today, else noon of that day."""
    if day >= local_today():
        return max(utcnow(), not_before)
    return max(datetime.combine(day, datetime.min.time().replace(hour=12), tzinfo=VN_TZ), not_before)
