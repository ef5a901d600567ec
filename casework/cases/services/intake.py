"""Recording an intake: the person, the acts (and those Decree 76/2023 does not count), the risk, her consent,
and the commune notice (Law 13/2022 Art. 36)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from casework.auth.models import User
from casework.cases import codes
from casework.cases.closure import require_open
from casework.cases.consent import ConsentChoice, record_intake_consents
from casework.cases.models import Case, CaseAct, Person, new_reference, priority_of
from casework.cases.schemas import CLOCK_SKEW, CaseFieldsIn, IntakeIn, split_part
from casework.cases.services.common import _add, _flush, _invalid, _text
from casework.cases.services.follow_ups import _schedule_follow_up
from casework.cases.timeline import add_timeline_entry
from casework.errors import StateError
from casework.extensions import db
from casework.geo import legacy
from casework.models import utcnow
from casework.protect import audit
from casework.text import VN_TZ


@dataclass(frozen=True)
class PersonData:
    full_name: str | None = None
    other_names: str | None = None
    sex: str = "female"
    birth_year: int | None = None
    birth_date: date | None = None
    age_band: str | None = None
    ethnicity_code: str | None = None
    phone: str | None = None
    id_number: str | None = None
    home_commune_code: str | None = None
    home_address: str | None = None
    # Her home commune in the units before 1 July 2025 (casework.geo.legacy), for an intake before that day.
    legacy_home_commune_code: str | None = None


@dataclass(frozen=True)
class IntakeData:
    """Everything an intake records. ``update_case`` takes the same shape (address and consent ignored).

    The API and the screens build it from ``schemas.IntakeIn``/``CaseEditIn`` (:meth:`of`), which have judged
    every value; the services check what needs the database or the actor (the address, its province).
    """

    address_id: str | None
    intake_at: datetime | None
    person: PersonData
    acts: tuple[str, ...] = ()
    # Parts of letters (``"l:obstruct_marriage"``), see ``codes.ACT_PARTS``.
    act_parts: frozenset[str] = frozenset()
    relationship: str | None = None
    # The host's one tick: "recorded, but not counted as domestic violence under Decree 76/2023".
    acts_not_counted_confirmed: bool = False
    arrival: str = "came_alone"
    children_count: int = 0
    children_ages: tuple[int, ...] = ()
    perpetrator_sex: str = "unknown"
    perpetrator_age_band: str = "unknown"
    injuries: str | None = None
    first_aid_given: bool = False
    first_aid: str | None = None
    risk_factors: frozenset[str] = frozenset()
    risk_judged_high: bool = False
    safety_plan: str | None = None
    commune_notified_at: datetime | None = None
    narrative: str | None = None
    consent: ConsentChoice = field(default_factory=ConsentChoice)
    # Where it happened in the units of its time (casework.geo.legacy), for an intake before 1 July 2025;
    # empty: the address's pre-2025 commune, if it has one.
    legacy_commune_code: str | None = None

    @classmethod
    def of(cls, value: CaseFieldsIn, address_id: str | None = None) -> IntakeData:
        """The typed intake (or edit) as the services take it."""
        p = value.person
        consent = value.consent if isinstance(value, IntakeIn) else None
        return cls(
            address_id=value.address_id if isinstance(value, IntakeIn) else address_id,
            intake_at=value.intake_at,
            person=PersonData(full_name=p.full_name, other_names=p.other_names, sex=p.sex or "female",
                              birth_year=p.birth_year, birth_date=p.birth_date, age_band=p.age_band,
                              ethnicity_code=p.ethnicity_code, phone=p.phone, id_number=p.id_number,
                              home_commune_code=p.home_commune_code, home_address=p.home_address,
                              legacy_home_commune_code=p.legacy_home_commune_code),
            acts=tuple(value.acts or ()), act_parts=frozenset(value.act_parts or ()),
            relationship=value.relationship, acts_not_counted_confirmed=bool(value.acts_not_counted_confirmed),
            arrival=value.arrival or "came_alone", children_count=value.children.count or 0,
            children_ages=tuple(value.children.ages or ()),
            perpetrator_sex=value.perpetrator.sex or "unknown",
            perpetrator_age_band=value.perpetrator.age_band or "unknown",
            injuries=value.injuries, first_aid_given=bool(value.first_aid_given), first_aid=value.first_aid,
            risk_factors=frozenset(value.risk.factors or ()), risk_judged_high=bool(value.risk.judged_high),
            safety_plan=value.safety_plan, commune_notified_at=value.commune_notified_at,
            narrative=value.narrative, legacy_commune_code=value.legacy_commune_code,
            consent=ConsentChoice(record=bool(consent.record), statistics=bool(consent.statistics),
                                  share=tuple(consent.share or ()), given_by=consent.given_by or "self")
            if consent is not None else ConsentChoice())


def _age_band(p: PersonData, intake_at: datetime | None) -> str:
    """Her age band at the intake: from the year or date of birth when given (and plausible), else as chosen."""
    year_now = (intake_at or utcnow()).astimezone(VN_TZ).year
    birth_year = p.birth_date.year if p.birth_date is not None else p.birth_year
    if birth_year is not None and 0 <= year_now - birth_year <= codes.MAX_AGE:
        return codes.age_band_for(year_now - birth_year)
    return p.age_band or "unknown"


def _check_legacy_unit(data: IntakeData, province_code: str | None, address_legacy: str | None,
                       errors: dict[str, list[str]]) -> None:
    """The case's pre-2025 commune: an existing one, in the address's province once mapped, only for an intake
    before 1 July 2025; required for an intake before 2025, whose year is counted in the pre-2025 units."""
    day = data.intake_at.astimezone(VN_TZ).date() if data.intake_at is not None else None
    code = data.legacy_commune_code
    if code:
        old = legacy.commune(code)
        if old is None:
            _add(errors, "legacy_commune_code", _("Choose an existing commune of the units before 1 July 2025."))
        elif day is not None and not legacy.applies(day):
            _add(errors, "legacy_commune_code", _("Units before 1 July 2025 are only for an intake before that day."))
        elif province_code and legacy.to_2025_province(old.province_code) != province_code:
            _add(errors, "legacy_commune_code", _("This commune before 1 July 2025 is not in the province of "
                                                  "the address."))
    elif day is not None and day.year < legacy.CHANGEOVER.year and not address_legacy:
        _add(errors, "legacy_commune_code", _("An intake before 2025 is counted in the units of its time: choose "
                                              "the commune where it happened, as it was before 1 July 2025."))


def parts_by_act(act_parts) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for value in act_parts:
        split = split_part(value)
        if split:
            out.setdefault(split[0], set()).add(split[1])
    return out


def acts_not_counted(data: IntakeData) -> list[str]:
    """The acts of ``data`` that Decree 76/2023 does not count as domestic violence for its relationship."""
    return codes.acts_not_counted(data.relationship, data.acts, parts_by_act(data.act_parts))


def warnings_of(case: Case) -> list[dict[str, Any]]:
    """What the host is told after saving, never blocking it: the acts recorded but not counted as domestic
    violence for the relationship (Decree 76/2023 Arts. 2–5), and whether she confirmed it."""
    if not case.acts_not_counted:
        return []
    return [{"code": "act_not_counted", "acts": case.acts_not_counted,
             "confirmed": case.not_counted_confirmed_at is not None}]


def confirm_acts_not_counted(actor: User, case: Case) -> Case:
    """The host's one tick: recorded, but not counted as domestic violence under Decree 76/2023."""
    require_open(case)
    if not case.acts_not_counted:
        raise StateError(_("Every act of this case counts as domestic violence; there is nothing to confirm."))
    if case.not_counted_confirmed_at is None:
        case.not_counted_confirmed_at = utcnow()
        case.not_counted_confirmed_by_id = actor.id
        _flush()
        audit.record("case_acts_not_counted_confirm", object_type="case", object_id=case.id, actor=actor,
                     detail=",".join(case.acts_not_counted))
    return case


def _apply(case: Case, person: Person, data: IntakeData, band: str, actor: User) -> bool:
    """Copy the validated data onto the rows; returns whether the risk assessment changed."""
    p = data.person
    person.full_name = _text(p.full_name, 200)
    person.other_names = _text(p.other_names, 200)
    person.sex = p.sex
    birth_year = p.birth_date.year if p.birth_date else p.birth_year
    person.birth_year = str(birth_year) if birth_year is not None else None
    person.birth_date = p.birth_date.isoformat() if p.birth_date else None
    person.age_band = band
    person.ethnicity_code = p.ethnicity_code or None
    person.phone = _text(p.phone, 32)
    person.id_number = _text(p.id_number, 32)
    person.home_commune_code = p.home_commune_code or None
    person.legacy_commune_code = p.legacy_home_commune_code or None
    person.home_address = _text(p.home_address, 300)

    case.intake_at = data.intake_at  # type: ignore[assignment]
    case.legacy_commune_code = data.legacy_commune_code or case.address.legacy_commune_code \
        if legacy.applies(data.intake_at.astimezone(VN_TZ).date()) else None  # type: ignore[union-attr]
    case.arrival = data.arrival
    ages = sorted(data.children_ages)
    case.children_count = max(data.children_count, len(ages))
    case.children_ages = ",".join(str(a) for a in ages)
    case.relationship_code = data.relationship or ""
    case.perpetrator_sex = data.perpetrator_sex
    case.perpetrator_age_band = data.perpetrator_age_band
    wanted = [a for a in codes.ACT_CODES if a in set(data.acts)]
    parts = parts_by_act(data.act_parts)
    before_not_counted = case.acts_not_counted if case.acts else []
    rows = {a.code: a for a in case.acts}
    new_rows = []
    for i, a in enumerate(wanted):
        row = rows.get(a) or CaseAct(code=a)
        row.position = i
        row.parts = [p for p in codes.ACT_PARTS.get(a, {}) if p in parts.get(a, set())]
        row.counted = codes.act_counts(data.relationship, a, parts.get(a, set()))
        new_rows.append(row)
    if [r.code for r in case.acts] != wanted or any(r not in case.acts for r in new_rows):
        case.acts = new_rows
    counted = [r.code for r in new_rows if r.counted]
    case.dv_counted = bool(counted)
    not_counted = [r.code for r in new_rows if not r.counted]
    if not not_counted or not_counted != before_not_counted:
        case.not_counted_confirmed_at, case.not_counted_confirmed_by_id = None, None
    if not_counted and data.acts_not_counted_confirmed and case.not_counted_confirmed_at is None:
        case.not_counted_confirmed_at, case.not_counted_confirmed_by_id = utcnow(), getattr(actor, "id", None)
    # The four forms in clear columns are those of the acts that count (statistics and filters).
    forms = codes.forms_of(counted)
    for form in codes.FORMS:
        setattr(case, f"form_{form}", form in forms)
    case.injuries = _text(data.injuries, 2000)
    case.first_aid_given = bool(data.first_aid_given)
    case.first_aid = _text(data.first_aid, 2000)
    before = (case.risk_factors, bool(case.risk_judged_high))
    for factor in codes.RISK_FACTORS:
        setattr(case, f"risk_{factor}", factor in data.risk_factors)
    case.risk_judged_high = bool(data.risk_judged_high)
    case.risk_level = codes.risk_level(set(data.risk_factors), bool(data.risk_judged_high))
    risk_changed = before != (case.risk_factors, bool(case.risk_judged_high)) or case.risk_assessed_at is None
    if risk_changed:
        case.risk_assessed_at = utcnow()
    case.safety_plan = _text(data.safety_plan, 4000)
    case.commune_notified_at = data.commune_notified_at
    case.narrative = _text(data.narrative, 8000)
    case.priority = priority_of(case.status or "open", case.risk_level)
    _schedule_follow_up(case, risk_changed)
    return risk_changed


IDENTITY_FIELDS = ("full_name", "other_names", "birth_year", "birth_date", "phone", "id_number", "home_address")


def intake_errors(actor: User, data: IntakeData) -> dict[str, list[str]]:
    """The reasons this intake would be refused that need the actor or the database (``IntakeIn`` judges the
    values): the address must be one of the actor's, and the pre-2025 commune in its province."""
    from casework.cases.policy import intake_addresses

    errors: dict[str, list[str]] = {}
    address = next((a for a in intake_addresses(actor) if a.id == data.address_id), None)
    if address is None:
        _add(errors, "address_id", _("Choose one of your trusted addresses."))
    _check_legacy_unit(data, address.province_code if address else None,
                       address.legacy_commune_code if address else None, errors)
    if not data.consent.record:  # DESIGN §2 Consent: without it nothing is stored, however the call was made
        _add(errors, "consent.record", _("She must agree that this record is kept; without her consent nothing "
                                         "is stored."))
    return errors


def create_case(actor: User, data: IntakeData) -> Case:
    """Record an intake at one of the actor's addresses, with the person, acts, risk and her consent.

    Raises ValidationError (nothing stored) for any invalid field; the address must be one where the
    actor may record an intake. Consent to keep the record is required (DESIGN §2 Consent).
    """
    from casework.cases.policy import intake_addresses

    _invalid(intake_errors(actor, data))
    address = next(a for a in intake_addresses(actor) if a.id == data.address_id)
    band = _age_band(data.person, data.intake_at)
    person = Person(province_code=address.province_code, geo_scheme=address.geo_scheme, sex="female",
                    age_band="unknown")
    case = Case(reference=_unused_reference(), address=address, person=person, province_code=address.province_code,
                commune_code=address.commune_code, geo_scheme=address.geo_scheme, status="open",
                created_by_id=actor.id)
    _apply(case, person, data, band, actor)
    db.session.add_all([person, case])
    db.session.flush()
    record_intake_consents(actor, case, data.consent)
    add_timeline_entry(actor, case, "intake", at=case.intake_at)
    if case.commune_notified_at is not None:
        add_timeline_entry(actor, case, "commune_notified", at=case.commune_notified_at)
    audit.record("case_create", object_type="case", object_id=case.id, actor=actor,
                 fields=[*IDENTITY_FIELDS, "acts", "relationship", "risk", "narrative"])
    return case


def _unused_reference() -> str:
    """A random reference no case has yet (30^8 values: at a million cases a repeat is likely without this)."""
    while True:
        reference = new_reference()
        if db.session.scalar(select(Case.id).where(Case.reference == reference)) is None:
            return reference


def record_commune_notice(actor: User, case: Case, at: datetime | None) -> Case:
    """Law 13/2022 Art. 36: the trusted address told the commune People's Committee about this intake."""
    require_open(case)
    errors: dict[str, list[str]] = {}
    at = at or utcnow()
    if at > utcnow() + CLOCK_SKEW:
        _add(errors, "commune_notified_at", _("The time of the notice cannot be in the future."))
    elif at < case.intake_at - timedelta(hours=24):
        _add(errors, "commune_notified_at", _("The notice cannot be more than a day before the intake."))
    _invalid(errors)
    if case.commune_notified_at is not None:
        raise StateError(_("The commune notice is already recorded."))
    case.commune_notified_at = at
    _flush()
    add_timeline_entry(actor, case, "commune_notified", at=at)
    audit.record("case_notice", object_type="case", object_id=case.id, actor=actor)
    return case
