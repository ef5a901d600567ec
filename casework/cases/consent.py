"""Her consent, per purpose, and the one-call questions other domains ask (DESIGN §2 Consent).

Purposes: ``record`` (keep the record; needed for any intake), ``statistics`` (count her, without
identity, in statistics) and ``share`` with one kind of service (``codes.SERVICES``), naming the parts
of the case she agreed to share (``codes.SHAREABLE_FIELDS``).

The questions, for referral and statistics:

    may_share(case, "police", "phone")          -> bool
    shareable_fields(case, "police")            -> frozenset of field names
    require_share(case, "police", ["phone"])    -> None, or raises ConsentMissing (409)
    has_consent(case, "statistics")             -> bool

Sharing without her consent when her life is in danger is a referral's override (``referral.services``:
its own permission, a written reason, audited); it records no consent here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, select

from casework.auth.models import User
from casework.cases import codes
from casework.cases.closure import require_open
from casework.cases.models import Case, Consent
from casework.cases.schemas import ConsentInput
from casework.cases.timeline import add_timeline_entry
from casework.errors import StateError, ValidationError
from casework.extensions import db
from casework.loading import columns_of, objects
from casework.models import utcnow
from casework.protect import audit


class ConsentMissing(StateError):
    """The action needs consent she has not given (HTTP 409)."""

    code = "consent_missing"


@dataclass(frozen=True)
class ConsentChoice:
    """What she agreed to at intake: the record, statistics, and the services she may be referred to."""

    record: bool = False
    statistics: bool = False
    share: tuple[tuple[str, tuple[str, ...]], ...] = ()  # ((service, fields or ()), ...)
    given_by: str = "self"


def active_consents(case: Case) -> list[Consent]:
    return [c for c in _rows(case) if c.withdrawn_at is None]


@cache
def _rows_statement() -> Select[Any]:
    return select(*columns_of(Consent)).where(Consent.case_id == bindparam("case_id")).order_by(Consent.given_at)


def _rows(case: Case) -> list[Consent]:
    """Her consents, oldest first (read on every case page that has one: Core, ``casework.loading``)."""
    return objects(Consent, _rows_statement(), {"case_id": case.id}, built_once=True)


def _active(case: Case, purpose: str, service: str | None = None) -> Consent | None:
    q = select(Consent).where(Consent.case_id == case.id, Consent.purpose == purpose,
                              Consent.withdrawn_at.is_(None))
    q = q.where(Consent.service == service) if service else q.where(Consent.service.is_(None))
    return db.session.scalars(q.order_by(Consent.given_at.desc())).first()


# --- the questions -----------------------------------------------------------------------------------


def has_consent(case: Case, purpose: str) -> bool:
    """Whether she currently consents to ``record`` or ``statistics``."""
    return _active(case, purpose) is not None


def shareable_fields(case: Case, service: str) -> frozenset[str]:
    """The parts of the case she currently agrees to share with this kind of service (empty: nothing)."""
    if not has_consent(case, "record"):
        return frozenset()
    row = _active(case, "share", service)
    return frozenset(row.fields) if row is not None else frozenset()


def may_share(case: Case, service: str, field_name: str) -> bool:
    """One call: may field ``field_name`` of this case go to a service of kind ``service``?"""
    return field_name in shareable_fields(case, service)


def require_share(case: Case, service: str, fields: Iterable[str]) -> None:
    """Raise ``ConsentMissing`` naming the fields she did not agree to share with this service."""
    allowed = shareable_fields(case, service)
    missing = sorted(set(fields) - allowed)
    if missing:
        names = ", ".join(str(codes.SHAREABLE_FIELDS.get(f, f)) for f in missing)
        raise ConsentMissing(_("She has not agreed to share this with that service: %(fields)s.", fields=names),
                             {"service": [_("No consent to share: %(fields)s.", fields=names)]})


# --- changes ----------------------------------------------------------------------------------------


def _normalised(data: ConsentInput) -> tuple[str | None, tuple[str, ...]]:
    """The service and the fields a consent row keeps: for sharing, the chosen fields in the catalogue's
    order (none chosen: the standard referral set); nothing for the other purposes. The values were read by
    ``schemas.ConsentIn`` (or the intake's consent)."""
    if data.purpose != "share":
        return None, ()
    chosen = set(data.fields)
    return data.service, tuple(f for f in codes.SHAREABLE_FIELDS if f in chosen) or codes.DEFAULT_SHARE_FIELDS


def give_consent(actor: User, case: Case, data: ConsentInput, *, timeline: bool = True) -> Consent:
    """Record her consent; one already given for the same purpose and service is superseded."""
    require_open(case)
    service, fields = _normalised(data)
    current = _active(case, data.purpose, service)
    if current is not None and current.fields == list(fields) and current.basis == "consent":
        return current
    now = utcnow()
    if current is not None:
        current.withdrawn_at, current.withdrawn_by_id = now, actor.id
    row = Consent(case=case, purpose=data.purpose, service=service, fields=list(fields), basis="consent",
                  given_by=data.given_by, given_at=now, recorded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    if timeline:
        add_timeline_entry(actor, case, "consent_given", object_type="consent", object_id=row.id)
    audit.record("consent_give", object_type="case", object_id=case.id, actor=actor,
                 detail=f"{data.purpose}:{service}" if service else data.purpose, fields=fields)
    return row


def record_intake_consents(actor: User, case: Case, choice: ConsentChoice) -> None:
    if choice.record:
        give_consent(actor, case, ConsentInput("record", given_by=choice.given_by), timeline=False)
    if choice.statistics:
        give_consent(actor, case, ConsentInput("statistics", given_by=choice.given_by), timeline=False)
    for service, fields in choice.share:
        give_consent(actor, case, ConsentInput("share", service=service, fields=fields, given_by=choice.given_by),
                     timeline=False)


def withdraw_consent(actor: User, case: Case, consent_id: str) -> Consent:
    """Stamp a consent withdrawn. Consent to keep the record is withdrawn through a deletion request."""
    row = db.session.scalar(select(Consent).where(Consent.id == consent_id, Consent.case_id == case.id))
    if row is None:
        raise ValidationError(_("This consent does not exist."), {"consent": [_("This consent does not exist.")]})
    if row.withdrawn_at is not None:
        raise StateError(_("This consent was already withdrawn."))
    if row.purpose == "record":
        raise StateError(_("Consent to keep the record cannot be withdrawn here: ask the commune officer to "
                           "handle her request to delete the record."))
    row.withdrawn_at, row.withdrawn_by_id = utcnow(), actor.id
    add_timeline_entry(actor, case, "consent_withdrawn", object_type="consent", object_id=row.id)
    audit.record("consent_withdraw", object_type="case", object_id=case.id, actor=actor,
                 detail=f"{row.purpose}:{row.service}" if row.service else row.purpose)
    return row


@dataclass
class ConsentSummary:
    record: Consent | None = None
    statistics: Consent | None = None
    share: dict[str, Consent] = field(default_factory=dict)
    history: list[Consent] = field(default_factory=list)


def summary(case: Case) -> ConsentSummary:
    out = ConsentSummary(history=_rows(case))
    for row in out.history:
        if row.withdrawn_at is not None:
            continue
        if row.purpose == "record":
            out.record = row
        elif row.purpose == "statistics":
            out.statistics = row
        elif row.service:
            out.share[row.service] = row
    return out
