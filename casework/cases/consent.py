"""Her consent, per purpose, and the one-call questions other domains ask (DESIGN §2 Consent).

Purposes: ``record`` (keep the record; needed for any intake), ``statistics`` (count her, without
identity, in statistics) and ``share`` with one kind of service (``codes.SERVICES``), naming the parts
of the case she agreed to share (``codes.SHAREABLE_FIELDS``).

The questions, for referral and statistics:

    may_share(case, "police", "phone")          -> bool
    shareable_fields(case, "police")            -> frozenset of field names
    require_share(case, "police", ["phone"])    -> None, or raises ConsentMissing (409)
    has_consent(case, "statistics")             -> bool

An override for a threat to life is its own permission (``User.can_override_consent``), needs a reason
(kept encrypted on the case's timeline) and is audited; it then answers like a consent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from casework.auth.models import User
from casework.cases import codes
from casework.cases.models import Case, Consent
from casework.errors import Forbidden, StateError, ValidationError
from casework.extensions import db
from casework.models import utcnow
from casework.protect import audit
from casework.text import nfc


class ConsentMissing(StateError):
    """The action needs consent she has not given (HTTP 409)."""

    code = "consent_missing"


@dataclass(frozen=True)
class ConsentInput:
    purpose: str
    service: str | None = None
    fields: tuple[str, ...] = ()
    given_by: str = "self"
    given_at: datetime | None = None


@dataclass(frozen=True)
class ConsentChoice:
    """What she agreed to at intake: the record, statistics, and the services she may be referred to."""

    record: bool = False
    statistics: bool = False
    share: tuple[tuple[str, tuple[str, ...]], ...] = ()  # ((service, fields or ()), ...)
    given_by: str = "self"


def active_consents(case: Case) -> list[Consent]:
    return [c for c in _rows(case) if c.withdrawn_at is None]


def _rows(case: Case) -> list[Consent]:
    return list(db.session.scalars(select(Consent).where(Consent.case_id == case.id).order_by(Consent.given_at)))


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
    return frozenset(row.field_list) if row is not None else frozenset()


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


def _check(data: ConsentInput) -> tuple[str | None, tuple[str, ...]]:
    errors: dict[str, list[str]] = {}
    if data.purpose not in codes.PURPOSES:
        errors["purpose"] = [_("Choose what she agrees to.")]
    if data.given_by not in codes.CONSENT_GIVERS:
        errors["given_by"] = [_("Choose who gave the consent.")]
    service: str | None = None
    fields: tuple[str, ...] = ()
    if data.purpose == "share":
        if data.service not in codes.SERVICES:
            errors["service"] = [_("Choose a kind of service from the list.")]
        else:
            service = data.service
        unknown = [f for f in data.fields if f not in codes.SHAREABLE_FIELDS]
        if unknown:
            errors["fields"] = [_("Unknown information to share: %(names)s.", names=", ".join(sorted(unknown)))]
        fields = tuple(f for f in codes.SHAREABLE_FIELDS if f in set(data.fields)) or codes.DEFAULT_SHARE_FIELDS
    elif data.service or data.fields:
        errors["service"] = [_("A service is chosen only for consent to share.")]
    if data.given_at is not None and data.given_at > utcnow():
        errors["given_at"] = [_("The time cannot be in the future.")]
    if errors:
        raise ValidationError(_("Please correct the marked fields."), errors)
    return service, fields


def give_consent(actor: User, case: Case, data: ConsentInput, *, basis: str = "consent",
                 timeline: bool = True) -> Consent:
    """Record her consent; one already given for the same purpose and service is superseded."""
    from casework.cases.services import add_timeline_entry, require_open

    require_open(case)
    service, fields = _check(data)
    current = _active(case, data.purpose, service)
    joined = ",".join(fields)
    if current is not None and current.fields == joined and current.basis == basis:
        return current
    now = utcnow()
    if current is not None:
        current.withdrawn_at, current.withdrawn_by_id = now, actor.id
    row = Consent(case=case, purpose=data.purpose, service=service, fields=joined, basis=basis,
                  given_by=data.given_by if basis == "consent" else "override",
                  given_at=data.given_at or now, recorded_by_id=actor.id)
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
    from casework.cases.services import add_timeline_entry

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


def override_consent(actor: User, case: Case, service: str, reason: str,
                     fields: Iterable[str] = ()) -> Consent:
    """Share without consent because her life is in danger (DESIGN §2): own permission, reason, audit."""
    from casework.cases.services import add_timeline_entry

    if not getattr(actor, "can_override_consent", False):
        raise Forbidden(_("You are not allowed to override consent."))
    reason = nfc(reason or "")
    if len(reason) < 10:
        raise ValidationError(_("Please correct the marked fields."),
                              {"reason": [_("Explain in a sentence why her life is in danger.")]})
    row = give_consent(actor, case, ConsentInput("share", service=service, fields=tuple(fields)),
                       basis="life_threat", timeline=False)
    add_timeline_entry(actor, case, "consent_override", object_type="consent", object_id=row.id, note=reason)
    audit.record("consent_override", object_type="case", object_id=case.id, actor=actor, detail=service,
                 fields=row.field_list)
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
