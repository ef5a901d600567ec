"""Shelter stays at the trusted address."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import gettext as _

from casework.auth.models import User
from casework.cases import codes
from casework.cases.closure import require_open
from casework.cases.models import Case, ShelterStay
from casework.cases.schemas import ShelterStayIn
from casework.cases.services.common import _add, _day_moment, _invalid, local_today
from casework.cases.timeline import add_timeline_entry
from casework.errors import NotFound, ValidationError
from casework.extensions import db
from casework.protect import audit
from casework.text import VN_TZ


def ShelterData(**values: Any) -> ShelterStayIn:  # noqa: N802 - the name its callers know
    """A shelter stay from Python values (the offline reader, tests), read by the same schema as a request."""
    return ShelterStayIn.from_values(**values)


def _check_shelter(case: Case, data: ShelterStayIn) -> None:
    """The stay's days against the intake and today (the fields themselves: ``schemas.ShelterStayIn``)."""
    errors: dict[str, list[str]] = {}
    today = local_today()
    intake_day = case.intake_at.astimezone(VN_TZ).date()
    if data.start_on > today + timedelta(days=1):
        _add(errors, "start_on", _("The stay cannot start in the future."))
    elif data.start_on < intake_day:
        _add(errors, "start_on", _("The stay cannot start before the intake (%(day)s).",
                                   day=intake_day.strftime("%d/%m/%Y")))
    if data.end_on is not None and data.end_on > today + timedelta(days=1):
        _add(errors, "end_on", _("The end of the stay cannot be in the future."))
    _invalid(errors)


def _given(data: ShelterStayIn) -> list[str]:
    """The essentials ticked, in the catalogue's order."""
    return [item for item in codes.ESSENTIALS if item in data.essentials]


def add_shelter_stay(actor: User, case: Case, data: ShelterStayIn) -> ShelterStay:
    require_open(case)
    _check_shelter(case, data)
    if data.end_on is None and any(s.end_on is None for s in case.shelter_stays):
        raise ValidationError(_("Please correct the marked fields."),
                              {"start_on": [_("A stay is still open: record its end first.")]})
    stay = ShelterStay(case=case, start_on=data.start_on, end_on=data.end_on, recorded_by_id=actor.id,
                       essentials=_given(data), money_vnd=data.money_vnd if "money" in data.essentials else None)
    db.session.add(stay)
    db.session.flush()
    started = _day_moment(stay.start_on, case.intake_at)
    add_timeline_entry(actor, case, "shelter_started", object_type="shelter_stay", object_id=stay.id, at=started)
    if stay.end_on is not None:
        add_timeline_entry(actor, case, "shelter_ended", object_type="shelter_stay", object_id=stay.id,
                           at=_day_moment(stay.end_on, started))
    audit.record("shelter_add", object_type="case", object_id=case.id, actor=actor)
    return stay


def update_shelter_stay(actor: User, case: Case, stay_id: str, data: ShelterStayIn) -> ShelterStay:
    require_open(case)
    stay = next((s for s in case.shelter_stays if s.id == stay_id), None)
    if stay is None:
        raise NotFound(_("Not found."))
    _check_shelter(case, data)
    ended_now = stay.end_on is None and data.end_on is not None
    stay.start_on, stay.end_on = data.start_on, data.end_on
    stay.essentials = _given(data)
    stay.money_vnd = data.money_vnd if "money" in data.essentials else None
    db.session.flush()
    if ended_now:
        add_timeline_entry(actor, case, "shelter_ended", object_type="shelter_stay", object_id=stay.id,
                           at=_day_moment(stay.end_on, case.intake_at))  # type: ignore[arg-type]
    audit.record("shelter_update", object_type="case", object_id=case.id, actor=actor)
    return stay


def shelter_nights(case: Case) -> int:
    today = local_today()
    return sum(s.nights(today) for s in case.shelter_stays)
