"""Trusted-address casework: the services every screen and API route calls (STYLE rule 3).

Each service takes the acting user explicitly, validates, changes rows, writes the audit event (ids
and codes only), flushes and never commits; the request commits once. Errors are domain errors with a
translated message per field; an invalid call changes nothing because the request rolls back.

Public entry points other domains use (see the report in the docs):

- ``cases_visible_to(user)``, ``get_case_or_404(user, case_id)`` (re-exported from ``policy``);
- ``add_timeline_entry(actor, case, kind, note=None, object_type=None, object_id=None)`` and
  ``casework.cases.extensions.register_timeline_kind(app, kind, label)``;
- consent questions in ``casework.cases.consent``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, tuple_
from sqlalchemy.orm import joinedload, lazyload, load_only, raiseload
from sqlalchemy.orm.exc import StaleDataError

from casework import paging
from casework.auth.models import User
from casework.cases import closure, codes, handover
from casework.cases.consent import ConsentChoice, record_intake_consents
from casework.cases.models import (
    Address,
    AddressSupport,
    AddressTraining,
    Case,
    CaseAct,
    CaseEvent,
    ContactBan,
    FollowUp,
    Person,
    ProvinceSetting,
    ShelterStay,
    new_reference,
    priority_of,
)
from casework.cases.policy import (  # noqa: F401  (re-exported: the documented entry points)
    addresses_visible_to,
    can_decide_closure,
    can_manage_address,
    can_see_identity,
    case_scope,
    cases_visible_to,
    get_address_or_404,
    get_case_or_404,
)
from casework.cases.schemas import (  # noqa: F401  (add_months: re-exported)
    CLOCK_SKEW,
    AddressIn,
    CaseFieldsIn,
    ContactBanDecisionIn,
    ContactBanIn,
    ContactBanRevocationIn,
    FollowUpIn,
    IntakeIn,
    ShelterStayIn,
    add_months,
    split_part,
)
from casework.errors import NotFound, StateError, ValidationError
from casework.extensions import db
from casework.geo import data as geo
from casework.geo import legacy
from casework.models import one_of, utcnow
from casework.protect import audit
from casework.protect.fields import ProtectedMixin
from casework.protect.fields import search as protected_search
from casework.text import VN_TZ, nfc

PAGE_SIZE = 50


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


def require_open(case: Case) -> None:
    if case.status == "closed":
        raise StateError(_("This case is closed. Reopen it first."))


# --- timeline ---------------------------------------------------------------------------------------

def own_timeline_kinds() -> dict[str, Any]:
    """The timeline kinds of this domain and their labels (registered by ``casework.cases.register``)."""
    from flask_babel import lazy_gettext as _l

    return {
        "intake": _l("Intake recorded"),
        "updated": _l("Intake details changed"),
        "risk_assessed": _l("Risk assessed"),
        "commune_notified": _l("Commune People's Committee notified"),
        "consent_given": _l("Consent given"),
        "consent_withdrawn": _l("Consent withdrawn"),
        "consent_override": _l("Consent overridden: life in danger"),
        "shelter_started": _l("Shelter stay started"),
        "shelter_ended": _l("Shelter stay ended"),
        "shelter_ended_on_closure": _l("Shelter stay ended with the closure"),
        "contact_ban_requested": _l("Contact ban requested"),
        "contact_ban_decided": _l("Contact ban decided"),
        "contact_ban_revoked": _l("Contact ban revoked"),
        "follow_up": _l("Follow-up"),
        "closure_requested": _l("Closure requested"),
        "closure_approved": _l("Closure approved"),
        "closure_returned": _l("Closure returned"),
        "reopened": _l("Case reopened"),
    }


_KIND = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def add_timeline_entry(actor: User, case: Case, kind: str, *, note: str | None = None,
                       object_type: str | None = None, object_id: str | None = None,
                       at: datetime | None = None) -> CaseEvent:
    """Append an entry to the case's timeline; ``note`` (free text) is stored encrypted.

    The caller has already loaded the case through ``get_case_or_404`` and writes its own audit event.
    """
    if not _KIND.match(kind):
        raise ValueError("timeline kind must be a short code")
    entry = CaseEvent(case_id=case.id, kind=kind, object_type=object_type, object_id=object_id,
                      at=at or utcnow(), actor_id=getattr(actor, "id", None), actor_role=getattr(actor, "role", None))
    if note:
        entry.note = note
    db.session.add(entry)
    return entry


def timeline(case: Case) -> list[CaseEvent]:
    return list(db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                   .order_by(CaseEvent.at.desc(), CaseEvent.id)))


# --- addresses ----------------------------------------------------------------------------------------


def _check_address(actor: User, data: AddressIn) -> Any:
    """The address's commune, which must be one the actor manages (the values are read by ``AddressIn``)."""
    commune = geo.commune(data.commune_code)
    if commune is None:
        _invalid({"commune_code": [_("Choose an existing commune code (5 digits).")]})
    elif not can_manage_address(actor, commune_code=commune.code):
        _invalid({"commune_code": [_("You can only manage trusted addresses of your own commune.")]})
    return commune


def address_errors(actor: User, data: AddressIn) -> dict[str, list[str]]:
    """The reasons ``create_address``/``update_address`` would refuse ``data`` (the commune is not the actor's)."""
    try:
        _check_address(actor, data)
    except ValidationError as error:
        return error.fields
    return {}


def create_address(actor: User, data: AddressIn) -> Address:
    commune = _check_address(actor, data)
    address = Address(name=data.name, kind=data.kind, commune_code=commune.code, province_code=commune.province_code,
                      geo_scheme=geo.SCHEME, declared_on=data.declared_on, published_on=data.published_on,
                      active=data.active, legacy_commune_code=data.legacy_commune_code or None)
    db.session.add(address)
    db.session.flush()
    audit.record("address_create", object_type="address", object_id=address.id, actor=actor)
    return address


def update_address(actor: User, address: Address, data: AddressIn) -> Address:
    if not can_manage_address(actor, address):
        raise NotFound(_("Not found."))
    commune = _check_address(actor, data)
    address.name, address.kind = data.name, data.kind
    address.commune_code, address.province_code = commune.code, commune.province_code
    address.declared_on, address.published_on, address.active = data.declared_on, data.published_on, data.active
    address.legacy_commune_code = data.legacy_commune_code or None
    db.session.flush()
    audit.record("address_update", object_type="address", object_id=address.id, actor=actor)
    return address


def add_training(actor: User, address: Address, held_on: date | None, topic: str,
                 organiser: str = "") -> AddressTraining:
    if not can_manage_address(actor, address):
        raise NotFound(_("Not found."))
    errors: dict[str, list[str]] = {}
    _check_past_day(errors, "held_on", held_on)
    topic_ = _text(topic, 200)
    if not topic_:
        _add(errors, "topic", _("Enter the topic of the training."))
    _invalid(errors)
    return _add_to_address(actor, address, "address_training_add", AddressTraining(
        address=address, held_on=held_on, topic=topic_, organiser=_text(organiser, 200) or ""))


def add_support(actor: User, address: Address, received_on: date | None, kind: str, description: str = "",
                amount_vnd: int | None = None) -> AddressSupport:
    if not can_manage_address(actor, address):
        raise NotFound(_("Not found."))
    errors: dict[str, list[str]] = {}
    _check_past_day(errors, "received_on", received_on)
    if kind not in codes.SUPPORT_KINDS:
        _add(errors, "kind", _("Choose a kind from the list."))
    if amount_vnd is not None and not 0 <= amount_vnd <= 10_000_000_000:
        _add(errors, "amount_vnd", _("Enter an amount in đồng, from 0."))
    _invalid(errors)
    return _add_to_address(actor, address, "address_support_add", AddressSupport(
        address=address, received_on=received_on, kind=kind, description=_text(description, 200) or "",
        amount_vnd=amount_vnd))


def _check_past_day(errors: dict[str, list[str]], field: str, day: date | None) -> None:
    """The day of something that happened at the address (a training, support received): given, not after today."""
    if day is None:
        _add(errors, field, _("Enter the date."))
    elif day > local_today():
        _add(errors, field, _("The date cannot be in the future."))


def _add_to_address[R: (AddressTraining, AddressSupport)](actor: User, address: Address, action: str, row: R) -> R:
    """Keep a record of the address's history, with its audit event."""
    db.session.add(row)
    db.session.flush()
    audit.record(action, object_type="address", object_id=address.id, actor=actor)
    return row


def _province_setting(province_code: str) -> ProvinceSetting | None:
    """The province's settings row (None: the defaults apply), read once per request: the case page asks
    for its notice hours and its nights of shelter several times (issue 18). Outside a request, read anew."""
    if not has_request_context():
        return db.session.get(ProvinceSetting, province_code)
    read: dict[str, ProvinceSetting | None] = request.environ.setdefault("tincay.province_settings", {})
    if province_code not in read:
        read[province_code] = db.session.get(ProvinceSetting, province_code)
    return read[province_code]


def max_shelter_days(province_code: str) -> int:
    row = _province_setting(province_code)
    if row is not None:
        return row.max_shelter_days
    return int(current_app.config.get("CASES_MAX_SHELTER_DAYS", codes.DEFAULT_MAX_SHELTER_DAYS))


def _default_notice_hours() -> int:
    return int(current_app.config.get("CASES_NOTICE_HOURS", codes.NOTICE_HOURS))


def notice_hours(province_code: str) -> int:
    """The province's hours for the commune notice: a project rule (default 24), not the law's."""
    row = _province_setting(province_code)
    return row.notice_hours if row is not None else _default_notice_hours()


def notice_hours_by_province(province_codes: Iterable[str]) -> dict[str, int]:
    codes_ = set(province_codes)
    if len(codes_) == 1:  # a host's or a commune officer's page: the request's settings row, read once
        (code,) = codes_
        return {code: notice_hours(code)}
    out = dict.fromkeys(codes_, _default_notice_hours())
    if codes_:
        for code, hours in db.session.execute(select(ProvinceSetting.province_code, ProvinceSetting.notice_hours)
                                              .where(ProvinceSetting.province_code.in_(codes_))):
            out[code] = hours
    return out


def _set_province_setting(actor: User, province_code: str, field: str, value: int | None, most: int,
                          message: str) -> ProvinceSetting:
    """A province officer (of that province) or an admin sets one of the province's settings, from 1 to
    ``most`` (``message`` otherwise); audited with the field's name."""
    from casework.auth.roles import Role

    role = str(actor.role)
    if not (role == Role.ADMIN or (role == Role.PROVINCE_OFFICER and actor.province_code == province_code)):
        raise NotFound(_("Not found."))
    if geo.province(province_code) is None:
        raise ValidationError(_("Please correct the marked fields."),
                              {"province_code": [_("Choose an existing province.")]})
    if value is None or not 1 <= value <= most:
        raise ValidationError(_("Please correct the marked fields."), {field: [message]})
    row = db.session.get(ProvinceSetting, province_code)
    if row is None:
        row = ProvinceSetting(province_code=province_code, max_shelter_days=max_shelter_days(province_code))
        db.session.add(row)
    setattr(row, field, value)
    if has_request_context():  # the rest of this request reads the row again
        request.environ.get("tincay.province_settings", {}).pop(province_code, None)
    db.session.flush()
    audit.record("province_setting_update", object_type="province", object_id=province_code, actor=actor,
                 fields=[field])
    return row


def set_notice_hours(actor: User, province_code: str, hours: int | None) -> ProvinceSetting:
    """A province officer (or an admin) sets the hours after which a missing commune notice is flagged."""
    return _set_province_setting(actor, province_code, "notice_hours", hours, codes.MAX_NOTICE_HOURS,
                                 _("Enter a number of hours from 1 to %(n)d.", n=codes.MAX_NOTICE_HOURS))


def set_max_shelter_days(actor: User, province_code: str, days: int | None) -> ProvinceSetting:
    return _set_province_setting(actor, province_code, "max_shelter_days", days, 365,
                                 _("Enter a number of nights from 1 to 365."))


# --- intake -------------------------------------------------------------------------------------------


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
        row.parts = ",".join(p for p in codes.ACT_PARTS.get(a, {}) if p in parts.get(a, set()))
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


def update_errors(case: Case, data: IntakeData) -> dict[str, list[str]]:
    """The reasons this edit would be refused that need the case (its address's province)."""
    errors: dict[str, list[str]] = {}
    _check_legacy_unit(data, case.province_code, case.address.legacy_commune_code, errors)
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
        acts=tuple(case.act_codes), act_parts=frozenset(f"{a.code}:{p}" for a in case.acts for p in a.part_list),
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


# --- shelter --------------------------------------------------------------------------------------


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


def add_shelter_stay(actor: User, case: Case, data: ShelterStayIn) -> ShelterStay:
    require_open(case)
    _check_shelter(case, data)
    if data.end_on is None and any(s.end_on is None for s in case.shelter_stays):
        raise ValidationError(_("Please correct the marked fields."),
                              {"start_on": [_("A stay is still open: record its end first.")]})
    stay = ShelterStay(case=case, start_on=data.start_on, end_on=data.end_on, recorded_by_id=actor.id,
                       money_vnd=data.money_vnd if "money" in data.essentials else None)
    for item in codes.ESSENTIALS:
        setattr(stay, item, item in data.essentials)
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
    for item in codes.ESSENTIALS:
        setattr(stay, item, item in data.essentials)
    stay.money_vnd = data.money_vnd if "money" in data.essentials else None
    db.session.flush()
    if ended_now:
        add_timeline_entry(actor, case, "shelter_ended", object_type="shelter_stay", object_id=stay.id,
                           at=_day_moment(stay.end_on, case.intake_at))  # type: ignore[arg-type]
    audit.record("shelter_update", object_type="case", object_id=case.id, actor=actor)
    return stay


def _day_moment(day: date, not_before: datetime) -> datetime:
    """When an event known only by its day goes on the timeline: now if today, else noon of that day."""
    if day >= local_today():
        return max(utcnow(), not_before)
    return max(datetime.combine(day, datetime.min.time().replace(hour=12), tzinfo=VN_TZ), not_before)


def shelter_nights(case: Case) -> int:
    today = local_today()
    return sum(s.nights(today) for s in case.shelter_stays)


# --- contact bans ------------------------------------------------------------------------------------


def request_contact_ban(actor: User, case: Case, data: ContactBanIn) -> ContactBan:
    """Record a request to the commune chair for a contact ban (Law 13/2022 Art. 25(1)(a)), or the chair's
    own initiative when her life is threatened (Art. 25(1)(b)); the decision is due within 12 hours
    (Art. 25(2)). Who may ask, and her consent, are read by ``schemas.ContactBanIn``."""
    require_open(case)
    errors: dict[str, list[str]] = {}
    now = utcnow()
    requested_at = data.requested_at or now
    requester, origin = data.requester or "", data.origin
    victim_consented, life_threatened = data.victim_consented, data.life_threatened
    if requested_at > now + CLOCK_SKEW:
        _add(errors, "requested_at", _("The time of the request cannot be in the future."))
    elif requested_at < case.intake_at - timedelta(days=1):
        _add(errors, "requested_at", _("The request cannot be more than a day before the intake."))
    _invalid(errors)
    if any(b.decision is None for b in case.contact_bans):
        raise StateError(_("A contact-ban request is still waiting for its decision."))
    ban = ContactBan(case=case, kind="commune", origin=origin, requested_at=requested_at, requester=requester,
                     victim_consented=bool(victim_consented) or requester in ("victim", "guardian",
                                                                            "legal_representative"),
                     life_threatened=bool(life_threatened), recorded_by_id=actor.id,
                     decision_due_at=requested_at + timedelta(hours=codes.CONTACT_BAN_DECISION_HOURS))
    db.session.add(ban)
    db.session.flush()
    add_timeline_entry(actor, case, "contact_ban_requested", object_type="contact_ban", object_id=ban.id,
                       at=requested_at)
    audit.record("contact_ban_request", object_type="case", object_id=case.id, actor=actor, detail=origin)
    handover.contact_ban_requested(actor, case, ban)
    return ban


def record_court_ban(actor: User, case: Case, data: ContactBanIn) -> ContactBan:
    """Record a court's contact ban (Law 13/2022 Art. 26): issued by the court dealing with a civil case,
    lasting at most 4 months (``schemas.ContactBanIn``, with the court, the decision's time and its end).
    It is recorded as decided; nothing is due."""
    require_open(case)
    court, decided_at, valid_until, requester = data.court_name, data.decided_at, data.valid_until, data.requester
    assert decided_at is not None and valid_until is not None  # schemas.ContactBanIn  # noqa: S101  # nosec B101
    if decided_at > utcnow() + CLOCK_SKEW:
        raise ValidationError(_("Please correct the marked fields."),
                              {"decided_at": [_("The time of the decision cannot be in the future.")]})
    valid_from = data.valid_from or decided_at
    ban = ContactBan(case=case, kind="court", origin="request", requested_at=decided_at, requester=requester or "",
                     victim_consented=True, court_name=court, recorded_by_id=actor.id,
                     decision_due_at=decided_at, decision="granted", decided_at=decided_at,
                     decision_ref=data.decision_ref or "", valid_from=valid_from, valid_until=valid_until)
    db.session.add(ban)
    db.session.flush()
    add_timeline_entry(actor, case, "contact_ban_decided", object_type="contact_ban", object_id=ban.id,
                       at=decided_at)
    audit.record("contact_ban_court", object_type="case", object_id=case.id, actor=actor)
    return ban


def revoke_contact_ban(actor: User, case: Case, ban_id: str, data: ContactBanRevocationIn) -> ContactBan:
    """Record that a granted ban was revoked before its end (Law 13/2022 Art. 25(4)), with the reason and
    the date; a refused, pending, ended or already revoked ban cannot be revoked (409)."""
    ban = next((b for b in case.contact_bans if b.id == ban_id), None)
    if ban is None:
        raise NotFound(_("Not found."))
    if ban.decision != "granted" or ban.revoked_on is not None:
        raise StateError(_("Only a granted contact ban that is not revoked yet can be revoked."))
    errors: dict[str, list[str]] = {}
    text, on = data.reason, data.date  # not after today: schemas.ContactBanRevocationIn
    if ban.valid_from is not None and on < ban.valid_from.astimezone(VN_TZ).date():
        _add(errors, "date", _("The revocation cannot be before the ban started."))
    elif ban.valid_until is not None and on > ban.valid_until.astimezone(VN_TZ).date():
        _add(errors, "date", _("The ban had already ended on that date."))
    _invalid(errors)
    ban.revoked_on, ban.revoked_by_id, ban.revoke_reason = on, actor.id, text
    db.session.flush()
    add_timeline_entry(actor, case, "contact_ban_revoked", object_type="contact_ban", object_id=ban.id,
                       at=_day_moment(on, ban.decided_at or case.intake_at))
    audit.record("contact_ban_revoke", object_type="case", object_id=case.id, actor=actor)
    return ban


def decide_contact_ban(actor: User, case: Case, ban_id: str, data: ContactBanDecisionIn) -> ContactBan:
    """Record the commune chair's decision; a granted ban lasts at most 3 days (Art. 25)."""
    ban = next((b for b in case.contact_bans if b.id == ban_id), None)
    if ban is None:
        raise NotFound(_("Not found."))
    if ban.decision is not None:
        raise StateError(_("The decision on this request is already recorded."))
    errors: dict[str, list[str]] = {}
    now = utcnow()
    decision, decided_at, valid_until = data.decision, data.decided_at or now, data.valid_until
    valid_from: datetime | None = None
    if decided_at > now + CLOCK_SKEW:
        _add(errors, "decided_at", _("The time of the decision cannot be in the future."))
    elif decided_at < ban.requested_at:
        _add(errors, "decided_at", _("The decision cannot be before the request."))
    if decision == "granted" and valid_until is not None:  # required by schemas.ContactBanDecisionIn
        valid_from = data.valid_from or decided_at
        if valid_until <= valid_from:
            _add(errors, "valid_until", _("The end of the ban must be after its start."))
        elif valid_until - valid_from > timedelta(days=codes.CONTACT_BAN_MAX_DAYS):
            _add(errors, "valid_until", _("A decision of the commune chair lasts at most %(n)d days.",
                                          n=codes.CONTACT_BAN_MAX_DAYS))
    _invalid(errors)
    ban.decision, ban.decided_at = decision, decided_at
    ban.decision_ref = data.decision_ref or ""
    if decision == "granted":
        ban.valid_from, ban.valid_until = valid_from, valid_until
    db.session.flush()
    add_timeline_entry(actor, case, "contact_ban_decided", object_type="contact_ban", object_id=ban.id,
                       at=decided_at)
    audit.record("contact_ban_decide", object_type="case", object_id=case.id, actor=actor, detail=decision)
    return ban


# --- follow-ups ----------------------------------------------------------------------------------------


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


# --- closure -------------------------------------------------------------------------------------------


def request_closure(actor: User, case: Case, reason: str, note: str | None = None) -> Case:
    """The host asks to close the case; the commune officer approves or returns it. Twice is a 409.
    The reason and its note are read by ``schemas.ClosureRequestIn``."""
    if case.status == "closure_requested":
        raise StateError(_("Closure of this case was already requested and waits for the commune officer."),
                         {"reason": [_("Closure was already requested.")]})
    if case.status == "closed":
        raise StateError(_("This case is already closed."), {"reason": [_("This case is already closed.")]})
    case.status, case.closure_reason = "closure_requested", reason
    case.closure_requested_at, case.closure_requested_by_id = utcnow(), actor.id
    case.priority = priority_of(case.status, case.risk_level)
    _flush()
    add_timeline_entry(actor, case, "closure_requested", note=_text(note, 2000))
    audit.record("closure_request", object_type="case", object_id=case.id, actor=actor, detail=reason)
    handover.closure_requested(actor, case)
    return case


def decide_closure(actor: User, case: Case, decision: str, note: str | None = None, *,
                   confirm_open_items: bool = False, confirm_reason: str | None = None) -> Case:
    """The commune officer approves (the case closes) or returns the request (the case stays open).

    Approving while items are open (``closure.open_items``) needs ``confirm_open_items``, and a reason for a
    high-risk case or a pending contact-ban decision; otherwise :class:`closure.OpenItemsError` (409).
    The decision and its note are read by ``schemas.ClosureDecisionIn``; who may decide is checked here."""
    if not can_decide_closure(actor, case):
        raise NotFound(_("Not found."))
    if case.status != "closure_requested":
        raise StateError(_("There is no closure request waiting for a decision."),
                         {"decision": [_("There is no closure request waiting for a decision.")]})
    if case.closure_requested_by_id == actor.id:
        raise ValidationError(_("Please correct the marked fields."),
                              {"decision": [_("Someone else must decide on a closure you requested.")]})
    now = utcnow()
    requester = case.closure_requested_by_id
    ended = []
    if decision == "approve":
        items = closure.open_items(case)
        closure.check_confirmation(items, confirm_open_items, _text(confirm_reason, 2000))
        if items:
            note = "\n".join(x for x in (_text(confirm_reason, 2000), _text(note, 2000)) if x) or None
        case.status, case.closed_at, case.closed_by_id = "closed", now, actor.id
        case.follow_up_due_on = None  # a closed case has no follow-up due
        for stay in case.shelter_stays:
            if stay.end_on is None:
                stay.end_on = max(local_today(), stay.start_on)
                ended.append(stay)
    else:
        case.status = "open"
        case.closure_reason = None
        case.closure_requested_at = case.closure_requested_by_id = None
    case.priority = priority_of(case.status, case.risk_level)
    _flush()
    for stay in ended:
        add_timeline_entry(actor, case, "shelter_ended_on_closure", object_type="shelter_stay", object_id=stay.id)
    add_timeline_entry(actor, case, "closure_approved" if decision == "approve" else "closure_returned",
                       note=_text(note, 2000))
    audit.record("closure_approve" if decision == "approve" else "closure_return", object_type="case",
                 object_id=case.id, actor=actor)
    handover.closure_decided(actor, case, requester, decision)
    return case


def reopen_case(actor: User, case: Case, reason: str) -> Case:
    """Reopen a closed case; the reason is read by ``schemas.ReopenIn``."""
    if case.status != "closed":
        raise StateError(_("Only a closed case can be reopened."), {"reason": [_("This case is not closed.")]})
    case.status = "open"
    case.closure_reason = None
    case.closure_requested_at = case.closure_requested_by_id = None
    case.closed_at = case.closed_by_id = None
    case.priority = priority_of(case.status, case.risk_level)
    case.follow_up_due_on = default_next_follow_up(case)
    _flush()
    add_timeline_entry(actor, case, "reopened", note=_text(reason, 2000))
    audit.record("case_reopen", object_type="case", object_id=case.id, actor=actor)
    return case


# --- flags and suggestions -----------------------------------------------------------------------


def notice_overdue(case: Case, now: datetime | None = None, hours: int | None = None) -> bool:
    """No commune notice (Law 13/2022 Art. 36) within the province's hours after the intake (open cases only).
    The hours are the project's rule, a province setting (default 24): the law sets none."""
    now = now or utcnow()
    hours = hours if hours is not None else notice_hours(case.province_code)
    return (case.commune_notified_at is None and case.is_open
            and case.intake_at + timedelta(hours=hours) < now)


@dataclass
class CaseFlags:
    notice_overdue: bool = False
    notice_hours: int = codes.NOTICE_HOURS
    ban_decision_due: bool = False
    ban_decision_overdue: bool = False
    ban_expiring: bool = False
    shelter_over_limit: bool = False

    @property
    def any(self) -> bool:
        return self.notice_overdue or self.ban_decision_due or self.ban_expiring or self.shelter_over_limit


def flags_for(cases: list[Case], now: datetime | None = None) -> dict[str, CaseFlags]:
    """Reminders for a page of cases, in three queries whatever the page size (none for bans and stays when
    the one case given has them loaded already, as the case page has)."""
    now = now or utcnow()
    hours = notice_hours_by_province({c.province_code for c in cases})
    out = {c.id: CaseFlags(notice_overdue=notice_overdue(c, now, hours[c.province_code]),
                           notice_hours=hours[c.province_code]) for c in cases}
    ids = [c.id for c in cases if c.is_open]
    if not ids:
        return out
    loaded = _loaded_bans_and_stays(cases)
    if loaded is not None:
        bans, open_stays = loaded
    else:
        bans = list(db.session.scalars(select(ContactBan).where(one_of(ContactBan.case_id, ids)).options(load_only(
            ContactBan.case_id, ContactBan.decision, ContactBan.decision_due_at, ContactBan.valid_until,
            ContactBan.revoked_on, raiseload=True))))
        open_stays = [(case_id, start) for case_id, start in db.session.execute(
            select(ShelterStay.case_id, ShelterStay.start_on).where(one_of(ShelterStay.case_id, ids),
                                                                    ShelterStay.end_on.is_(None)))]
    for ban in bans:
        f = out[ban.case_id]
        if ban.decision is None:
            f.ban_decision_due = True
            f.ban_decision_overdue = f.ban_decision_overdue or ban.decision_due_at < now
        elif ban.decision == "granted" and ban.in_force_until and now <= ban.in_force_until < now + timedelta(hours=24):
            f.ban_expiring = True  # a new request is needed for protection beyond the 3 days
    if open_stays:
        province_of = {c.id: c.province_code for c in cases}
        limits: dict[str, int] = {}
        today = local_today()
        for case_id, start in open_stays:
            province = province_of[case_id]
            limit = limits.setdefault(province, max_shelter_days(province))
            if (today - start).days > limit:
                out[case_id].shelter_over_limit = True
    return out


def _loaded_bans_and_stays(cases: list[Case]) -> tuple[list[ContactBan], list[tuple[str, date]]] | None:
    """The bans and open stays of one case object that has both relations loaded, as ``flags_for``'s
    queries would return them; None otherwise (rows of a list, or relations not loaded)."""
    if len(cases) != 1 or not isinstance(cases[0], Case):
        return None
    case = cases[0]
    if {"contact_bans", "shelter_stays"} & sa_inspect(case).unloaded:
        return None
    return list(case.contact_bans), [(s.case_id, s.start_on) for s in case.shelter_stays if s.end_on is None]


def suggestions(case: Case) -> list[str]:
    """What the screens suggest next: urgent referral and a contact ban when the risk is high."""
    out: list[str] = []
    if case.is_open and case.risk_level == "high":
        out.append("urgent_referral")
        if not any(b.decision is None or (b.in_force_until and b.in_force_until > utcnow()) for b in case.contact_bans):
            out.append("contact_ban")
    return out


# --- lists and search ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilters:
    status: str | None = None
    risk: str | None = None
    form: str | None = None
    period_from: date | None = None
    period_to: date | None = None
    address_id: str | None = None


@dataclass
class Page:
    items: list[Case]
    next_cursor: str | None


def encode_cursor(case: Case) -> str:
    return paging.encode_cursor(case.priority, case.intake_at, case.id)


def _filtered(user: User, filters: CaseFilters):
    q = cases_visible_to(user)
    if filters.status in codes.STATUSES:
        q = q.where(Case.status == filters.status)
    if filters.risk in codes.RISK_LEVELS:
        q = q.where(Case.risk_level == filters.risk)
    if filters.form in codes.FORMS:
        q = q.where(getattr(Case, f"form_{filters.form}").is_(True))
    if filters.period_from:
        q = q.where(Case.intake_at >= datetime.combine(filters.period_from, datetime.min.time(), tzinfo=VN_TZ))
    if filters.period_to:
        end = datetime.combine(filters.period_to + timedelta(days=1), datetime.min.time(), tzinfo=VN_TZ)
        q = q.where(Case.intake_at < end)
    if filters.address_id:
        q = q.where(Case.address_id == filters.address_id)
    return q


@dataclass(slots=True)
class CaseRow:
    """One row of a screen's case list, read column by column (issue 18: no ORM object per case, nothing
    the row does not show): what the row, its reminders (``flags_for``) and the next page's cursor use."""

    id: str
    reference: str
    address_id: str
    province_code: str
    intake_at: datetime
    status: str
    risk_level: str
    priority: int
    commune_notified_at: datetime | None
    address_name: str
    full_name: str | None

    @property
    def is_open(self) -> bool:
        return self.status in codes.OPEN_STATUSES

    @classmethod
    def of(cls, case: Case) -> CaseRow:
        return cls(case.id, case.reference, case.address_id, case.province_code, case.intake_at, case.status,
                   case.risk_level, case.priority, case.commune_notified_at, case.address.name, case.person.full_name)


class _SealedName:
    """Just enough of a ``Person`` to decrypt her name with the model's own code (same data key, same
    associated data), from columns read without the ORM."""

    __tablename__ = Person.__tablename__
    _where = ProtectedMixin._where
    _data_key = ProtectedMixin._data_key
    _aad = ProtectedMixin._aad
    _decrypt = ProtectedMixin._decrypt

    def __init__(self, person_id: str, dek_wrapped: bytes | None, kek_version: int | None, dek_version: int) -> None:
        self.id, self.dek_wrapped, self.kek_version, self.dek_version = person_id, dek_wrapped, kek_version, dek_version


_ROW_COLUMNS = (Case.id, Case.reference, Case.address_id, Case.province_code, Case.intake_at, Case.status,
                Case.risk_level, Case.priority, Case.commune_notified_at, Address.name, Person.id,
                Person.full_name_ct, Person.dek_wrapped, Person.kek_version, Person.dek_version)


def list_case_rows(user: User, filters: CaseFilters = CaseFilters(), after: str | None = None,
                   limit: int = PAGE_SIZE) -> Page:
    """``list_cases`` for the screen of a user who sees identity: the same scope, order and cursor, one
    query of the columns shown, and each name decrypted once."""
    if not can_see_identity(user):
        raise NotFound(_("Not found."))
    q = _filtered(user, filters).with_only_columns(*_ROW_COLUMNS).join(Address, Address.id == Case.address_id) \
        .join(Person, Person.id == Case.person_id)
    if after:
        priority, when, case_id = paging.decode_cursor(after, int, datetime, str)
        q = q.where(tuple_(Case.priority, Case.intake_at, Case.id) < tuple_(priority, when, case_id))
    q = q.order_by(Case.priority.desc(), Case.intake_at.desc(), Case.id.desc()).limit(limit + 1)
    rows = []
    for r in db.session.execute(q).all():
        sealed = _SealedName(r[10], r[12], r[13], r[14])
        # _SealedName stands in for a Person (see above); a Row's slice is not typed by its length.
        name = None if r[11] is None else sealed._decrypt("full_name_ct", r[11])  # type: ignore[misc]
        rows.append(CaseRow(*r[:10], name))  # type: ignore[call-arg]
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None  # type: ignore[arg-type]
    return Page(rows[:limit], next_cursor)  # type: ignore[arg-type]


@cache  # loader options are immutable: built once
def list_page_columns() -> tuple[Any, ...]:
    """Loader options for a screen's list of cases (issue 18): the columns the rows, their reminders
    (``flags_for``) and the next page's cursor use, the person's name ciphertext and data key, the address's
    name; nothing else is read, and any other column or relation raises instead of loading row by row."""
    return (
        load_only(Case.id, Case.reference, Case.address_id, Case.person_id, Case.province_code, Case.commune_code,
                  Case.intake_at, Case.status, Case.risk_level, Case.priority, Case.commune_notified_at,
                  Case.version, raiseload=True),
        joinedload(Case.person).load_only(Person.id, Person.province_code, Person.full_name_ct, Person.dek_wrapped,
                                          Person.kek_version, Person.dek_version, raiseload=True),
        joinedload(Case.address).load_only(Address.id, Address.name, raiseload=True),
        raiseload("*"),
    )


def list_cases(user: User, filters: CaseFilters = CaseFilters(), after: str | None = None,
               limit: int = PAGE_SIZE, options: tuple[Any, ...] = ()) -> Page:
    """One page of the user's cases, most urgent first: open before closed, high risk first, newest first.

    Keyset pagination on (priority, intake_at, id), all descending, so a page costs the same at any depth.
    For a user who may not see identity the person is not even loaded: touching it raises. ``options``
    narrows what is loaded (``list_page_columns()`` for the screen's list).
    """
    q = _filtered(user, filters).options(*(options or (lazyload(Case.acts),)))
    if not can_see_identity(user):
        q = q.options(raiseload(Case.person))
    if after:
        priority, when, case_id = paging.decode_cursor(after, int, datetime, str)
        q = q.where(tuple_(Case.priority, Case.intake_at, Case.id) < tuple_(priority, when, case_id))
    q = q.order_by(Case.priority.desc(), Case.intake_at.desc(), Case.id.desc()).limit(limit + 1)
    rows = list(db.session.scalars(q))
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return Page(rows[:limit], next_cursor)


def search_cases(user: User, query: str, filters: CaseFilters = CaseFilters(), limit: int = PAGE_SIZE,
                 options: tuple[Any, ...] = ()) -> list[Case]:
    """Cases whose person's name or phone matches, through the blind index; only for users who see identity.

    The search is audited with the number of results, never the term (DESIGN §3.3–3.4).
    """
    if not can_see_identity(user):
        raise NotFound(_("Not found."))
    query = nfc(query or "")[:100]
    if not query:
        raise ValidationError(_("Please correct the marked fields."), {"q": [_("Enter a name or a phone number.")]})
    digits = re.sub(r"\D", "", query)
    field_ = "phone" if digits and len(digits) >= 6 and not re.search(r"[^\d\s+().-]", query) else "full_name"
    scoped_ids = _filtered(user, filters).with_only_columns(Case.person_id).scalar_subquery()
    provinces = _user_provinces(user)
    people = protected_search(Person, field_, query, select(Person).where(Person.id.in_(scoped_ids)),
                              provinces, limit=limit)
    found: list[Case] = []
    if people:
        ids = [p.id for p in people]
        found = list(db.session.scalars(_filtered(user, filters).where(Case.person_id.in_(ids)).options(*options)
                                        .order_by(Case.priority.desc(), Case.intake_at.desc(), Case.id.desc())))
    audit.record("case_search", object_type="case", actor=user, detail=f"results:{len(found)}",
                 fields=[field_])
    return found[:limit]


def _user_provinces(user: User) -> list[str]:
    if user.role == "host":
        return sorted({a.province_code for a in user.addresses})
    return [user.province_code] if user.province_code else []


# --- audit of reads ----------------------------------------------------------------------------------


def record_view(user: User, case: Case, fields: Iterable[str], action: str = "case_view") -> None:
    """Every view of a person's record is an event with the names of the fields shown, never their values."""
    audit.record(action, object_type="case", object_id=case.id, actor=user, fields=list(fields))


def record_list(user: User, shown: list[Case], fields: Iterable[str]) -> None:
    audit.record("case_list", object_type="case", actor=user, detail=f"rows:{len(shown)}", fields=list(fields))


def with_changes(data: IntakeData, **changes: Any) -> IntakeData:
    return replace(data, **changes)
