"""Changing an intake's details: the values a form or a PATCH starts from, and the version check against a
stale editor (409)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from casework.auth.models import User
from casework.cases.closure import require_open
from casework.cases.models import Case
from casework.cases.services.common import _flush, _invalid, _stale
from casework.cases.services.intake import (
    IDENTITY_FIELDS,
    IntakeData,
    PersonData,
    _age_band,
    _apply,
    _check_legacy_unit,
)
from casework.cases.timeline import add_timeline_entry
from casework.models import utcnow
from casework.protect import audit


def update_errors(case: Case, data: IntakeData) -> dict[str, list[str]]:
    """The reasons this edit would be refused that need the case (its address's province)."""
    errors: dict[str, list[str]] = {}
    _check_legacy_unit(data, case.province_code, case.address.legacy_commune_code, errors)
    return errors


def intake_data_of(case: Case) -> IntakeData:
    """The case's current values in the shape ``update_case`` takes (a PATCH overlays its changes)."""
    p = case.person
    birth_date = date.fromisoformat(p.birth_date) if p.birth_date else None
    ages = tuple(int(a) for a in case.children_ages.split(",") if a)
    return IntakeData(
        address_id=case.address_id, intake_at=case.intake_at,
        person=PersonData(full_name=p.full_name, other_names=p.other_names, sex=p.sex,
                          birth_year=int(p.birth_year) if p.birth_year else None, birth_date=birth_date,
                          age_band=p.age_band, ethnicity_code=p.ethnicity_code, phone=p.phone,
                          id_number=p.id_number, home_commune_code=p.home_commune_code,
                          home_address=p.home_address, legacy_home_commune_code=p.legacy_commune_code),
        acts=tuple(case.act_codes), act_parts=frozenset(f"{a.code}:{p}" for a in case.acts for p in a.parts),
        relationship=case.relationship_code, arrival=case.arrival,
        children_count=case.children_count, children_ages=ages, perpetrator_sex=case.perpetrator_sex,
        perpetrator_age_band=case.perpetrator_age_band, injuries=case.injuries,
        first_aid_given=case.first_aid_given, first_aid=case.first_aid, risk_factors=frozenset(case.risk_factors),
        risk_judged_high=case.risk_judged_high, safety_plan=case.safety_plan,
        commune_notified_at=case.commune_notified_at, narrative=case.narrative,
        legacy_commune_code=case.legacy_commune_code)


def check_version(case: Case, version: int | None) -> None:
    """A form or PATCH carries the version it was loaded with; an older one is refused (409)."""
    if version is None or version != case.version:
        raise _stale()


def update_case(actor: User, case: Case, version: int | None, data: IntakeData) -> Case:
    """Change the intake details. ``version`` must be the one the editor loaded, else StateError (409)."""
    check_version(case, version)
    require_open(case)
    _invalid(update_errors(case, data))
    band = _age_band(data.person, data.intake_at)
    had_notice = case.commune_notified_at is not None
    risk_changed = _apply(case, case.person, data, band, actor)
    case.updated_at = utcnow()  # always touch the row, so the version moves even if only the person changed
    _flush()
    add_timeline_entry(actor, case, "updated")
    if risk_changed:
        add_timeline_entry(actor, case, "risk_assessed")
    if not had_notice and case.commune_notified_at is not None:
        add_timeline_entry(actor, case, "commune_notified", at=case.commune_notified_at)
    audit.record("case_update", object_type="case", object_id=case.id, actor=actor,
                 fields=[*IDENTITY_FIELDS, "acts", "relationship", "risk", "narrative"])
    return case


def with_changes(data: IntakeData, **changes: Any) -> IntakeData:
    return replace(data, **changes)
