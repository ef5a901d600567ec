"""Survivors: registration in the officer's own commune (the schema has checked her consent), later changes of
her status, needs survey and supports received, the name search, and support events (training, counselling,
market linkage)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from casework.auth.models import User
from casework.auth.roles import Role
from casework.errors import Forbidden, NotFound, ValidationError
from casework.extensions import db
from casework.geo import data as geo
from casework.models import utcnow
from casework.protect import audit
from livelihood.models import (
    ENTITLEMENTS,
    SupportEvent,
    Survivor,
    SurvivorSupport,
)
from livelihood.policy import (
    can_see_identity,
    survivors_visible_to,
)
from livelihood.schemas import (
    EventIn,
    SurvivorChangeIn,
    SurvivorIn,
    today,
)
from livelihood.services.common import (
    Errors,
    _raise_if,
)

# --- survivors ------------------------------------------------------------------------------------


def PersonInput(full_name: str, birth_year: object = None, sex: str = "female",
                ethnicity_code: str | None = None, phone: str | None = None) -> dict[str, object]:
    """Her identity for ``SurvivorInput`` (Python callers: the demo loader, tests)."""
    return {"full_name": full_name, "birth_year": birth_year, "sex": sex, "ethnicity_code": ethnicity_code,
            "phone": phone}


def SurvivorInput(person: object, commune_code: str | None, status: str, consent_record: bool,
                  consent_statistics: bool = False, consent_given_by: str = "self", status_on: object = None,
                  status_authority: str = "", household_size: object = None, monthly_income_vnd: object = None,
                  skills: str = "", assets: str = "", health: str = "", wishes: str = "",
                  supports_received: Sequence[str] = ()) -> SurvivorIn:
    """A ``SurvivorIn`` from the flat names of Python callers (the demo loader, tests), read by the schema."""
    return SurvivorIn.of(
        person=person, commune_code=commune_code, status=status, status_on=status_on,
        status_authority=status_authority,
        consent={"record": consent_record, "statistics": consent_statistics, "given_by": consent_given_by},
        survey={"household_size": household_size, "monthly_income_vnd": monthly_income_vnd, "skills": skills,
                "assets": assets, "health": health, "wishes": wishes},
        supports_received=tuple(supports_received))


def age_band(birth_year: int | None, on: date) -> str | None:
    if birth_year is None:
        return None
    age = on.year - birth_year
    for limit, band in ((18, "under_18"), (25, "18_24"), (35, "25_34"), (45, "35_44"), (60, "45_59")):
        if age < limit:
            return band
    return "60_plus"


def survivor_scope_errors(actor: User, new: SurvivorIn) -> Errors:
    """What the schema cannot know: a survivor is registered in the actor's own commune."""
    if new.commune_code and new.commune_code != actor.commune_code:
        return {"commune_code": [_("You can register survivors of your own commune only.")]}
    return {}


def _new_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
    for _attempt in range(10):
        code = "NV-" + "".join(secrets.choice(alphabet) for _i in range(6))
        if not db.session.scalar(select(Survivor.id).where(Survivor.code == code)):
            return code
    raise RuntimeError("could not draw a free survivor code")  # pragma: no cover - 32^6 codes


def _apply_survey(survivor: Survivor, new: SurvivorChangeIn) -> None:
    survivor.status = new.status
    survivor.status_on = new.status_on
    survivor.status_authority = new.status_authority
    survivor.household_size = new.survey.household_size
    survivor.monthly_income_vnd = new.survey.monthly_income_vnd
    for name in ("skills", "assets", "health", "wishes"):
        setattr(survivor, name, getattr(new.survey, name))


def _set_supports(actor: User, survivor: Survivor, items: Iterable[str]) -> None:
    wanted = set(items)
    for row in list(survivor.supports):
        if row.item not in wanted:
            survivor.supports.remove(row)
    have = {row.item for row in survivor.supports}
    for item in sorted(wanted - have, key=ENTITLEMENTS.index):
        survivor.supports.append(SurvivorSupport(item=item, recorded_by_id=actor.id))


def register_survivor(actor: User, new: SurvivorIn, *, audit_event: bool = True) -> Survivor:
    """List a survivor in the actor's commune (the schema has checked her consent to keep the record)."""
    if actor.role != Role.COMMUNE_OFFICER or not actor.commune_code:
        raise Forbidden(_("Only a commune officer can register a survivor."))
    _raise_if(survivor_scope_errors(actor, new))
    commune = geo.commune(new.commune_code or actor.commune_code)
    if commune is None:  # the actor's own commune: checked when the account was made
        raise ValidationError(_("Choose an existing commune code (5 digits)."),
                              {"commune_code": [_("Choose an existing commune code (5 digits).")]})
    p = new.person
    registered_on = today()
    survivor = Survivor(code=_new_code(), province_code=commune.province_code, commune_code=commune.code,
                        sex=p.sex, ethnicity_code=p.ethnicity_code,
                        age_band=age_band(p.birth_year, registered_on),
                        consent_record=True, consent_statistics=new.consent.statistics,
                        consent_given_by=new.consent.given_by, consent_at=utcnow(),
                        registered_on=registered_on, registered_by_id=actor.id)
    survivor.full_name = p.full_name
    survivor.phone = p.phone
    survivor.birth_year = str(p.birth_year) if p.birth_year is not None else None
    _apply_survey(survivor, new)
    db.session.add(survivor)
    _set_supports(actor, survivor, new.supports_received)
    db.session.flush()
    if audit_event:
        audit.record("survivor_create", object_type="survivor", object_id=survivor.id, actor=actor,
                     fields=["full_name", "phone", "birth_year", "status", "consent", "survey"])
    return survivor


def update_survivor(actor: User, survivor: Survivor, new: SurvivorChangeIn) -> Survivor:
    """Change her status, the needs survey and the support items received (identity stays)."""
    if not can_see_identity(actor, survivor):
        raise NotFound(_("Not found."))
    _apply_survey(survivor, new)
    survivor.consent_statistics = new.consent.statistics
    _set_supports(actor, survivor, new.supports_received)
    db.session.flush()
    audit.record("survivor_update", object_type="survivor", object_id=survivor.id, actor=actor,
                 fields=["status", "survey", "supports", "consent"])
    return survivor


def search_survivors(actor: User, query: str) -> list[Survivor]:
    """Her commune's survivors whose name matches every word of ``query`` (blind index, then exact)."""
    from casework.protect.fields import search

    if actor.role != Role.COMMUNE_OFFICER or not actor.province_code:
        return []
    rows = search(Survivor, "full_name", query, survivors_visible_to(actor), [actor.province_code])
    audit.record("survivor_search", object_type="survivor", actor=actor, detail=f"results:{len(rows)}")
    return rows


def EventInput(kind: str, held_on: object, completed: bool | None = None,
               description: str = "") -> EventIn:
    """An ``EventIn`` from Python callers (the demo loader, tests), read by the schema."""
    return EventIn.of(kind=kind, date=held_on, completed=completed, description=description)


def record_event(actor: User, survivor: Survivor, new: EventIn) -> SupportEvent:
    """Vocational training, job counselling or a market-linkage event (vietnam-domain §2.5)."""
    if not can_see_identity(actor, survivor):
        raise NotFound(_("Not found."))
    event = SupportEvent(survivor_id=survivor.id, kind=new.kind, held_on=new.date,
                         completed=new.completed if new.kind == "vocational_training" else None,
                         recorded_by_id=actor.id)
    event.description = new.description
    db.session.add(event)
    db.session.flush()
    audit.record("support_event_create", object_type="survivor", object_id=survivor.id, actor=actor,
                 detail=new.kind, fields=["kind", "date", *(["description"] if new.description else [])])
    return event


def events_of(survivor: Survivor) -> list[SupportEvent]:
    return list(db.session.scalars(select(SupportEvent).where(SupportEvent.survivor_id == survivor.id)
                                   .order_by(SupportEvent.held_on, SupportEvent.recorded_at)))
