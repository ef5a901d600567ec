"""Organisation directory and referrals. Services flush and never commit (STYLE rule 3).

Referrals (DESIGN §2, issue 5): a host or commune officer sends a case to an organisation for one kind
of service; the receiving organisation's staff (``service_provider``) accept or decline it and record
the service given. The consent gate is here, on the server: a referral shares exactly the parts of
the case she agreed to share with that kind of service, frozen when it is sent, or nothing at all.
Each transition is one conditional UPDATE on the expected state, so two receivers answering at the
same moment cannot both win.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, not_, select, tuple_, update

from casework import paging
from casework.auth.models import User
from casework.auth.policy import deny
from casework.auth.roles import Role
from casework.errors import NotFound, StateError, ValidationError
from casework.extensions import db, execute_dml
from casework.geo import data as geo
from casework.models import utcnow
from casework.protect import audit
from casework.schemas import Errors, FieldErrors
from casework.service_types import DEFAULT_ACK_HOURS, SERVICE_TYPES, URGENT_ACK_HOURS
from casework.text import VN_TZ
from referral.models import (
    OPEN_RANK,
    Organisation,
    OrganisationCommune,
    OrganisationService,
    Referral,
    ReferralDeadline,
)
from referral.schemas import (
    CHOOSE_ORGANISATION,
    OPAQUE_ID,
    CompletionIn,
    Deadline,
    DeclineIn,
    OrganisationIn,
    OrganisationPlace,
    ReferralIn,
    ReferralTarget,
    Refused,
    not_communes,
)


def organisations_visible_to(user: User) -> Select:
    """Admins see every organisation; province officers their province's; hosts and commune officers
    those serving their commune (to refer to); a service provider her own."""
    q = select(Organisation)
    role = Role(user.role)
    if role == Role.ADMIN:
        return q
    if role == Role.PROVINCE_OFFICER:
        return q.where(Organisation.province_code == user.province_code)
    if role in (Role.HOST, Role.COMMUNE_OFFICER) and user.commune_code:
        served = select(OrganisationCommune.organisation_id).where(
            OrganisationCommune.commune_code == user.commune_code)
        return q.where(Organisation.id.in_(served))
    if role == Role.SERVICE_PROVIDER and user.organisation_id:
        return q.where(Organisation.id == user.organisation_id)
    return q.where(db.false())


def can_manage_organisations(user: User) -> bool:
    return Role(user.role) in (Role.ADMIN, Role.PROVINCE_OFFICER)


def get_organisation_or_404(user: User, organisation_id: str, manage: bool = False) -> Organisation:
    org = db.session.scalar(organisations_visible_to(user).where(Organisation.id == organisation_id))
    if org is None or (manage and not can_manage_organisations(user)):
        deny("organisation", organisation_id)
    return org


def organisations_serving(commune_code: str, service: str | None = None) -> Select:
    """Active organisations that serve a commune, optionally offering one service type."""
    q = select(Organisation).where(Organisation.active.is_(True), Organisation.id.in_(
        select(OrganisationCommune.organisation_id).where(OrganisationCommune.commune_code == commune_code)))
    if service:
        q = q.where(Organisation.id.in_(select(OrganisationService.organisation_id)
                                        .where(OrganisationService.service == service)))
    return q


def in_vietnamese_order(organisations) -> list:
    """Organisations by name in Vietnamese collation (casework.text.vi_sort_key), never the database's order."""
    from casework.text import vi_sort_key

    return sorted(organisations, key=lambda o: (vi_sort_key(o.name), o.id))


def _check_place(actor: User, place: OrganisationIn | OrganisationPlace) -> tuple[str, FieldErrors]:
    """The organisation's province and that its communes are of it: a province officer's own, an admin's the one
    given. Returns the province code and the messages per field."""
    errors = Errors()
    province = geo.province(place.province_code)
    if Role(actor.role) == Role.PROVINCE_OFFICER:
        if place.province_code not in (None, actor.province_code):
            errors.add("province_code", _("You can only add organisations of your own province."))
        province = geo.province(actor.province_code)
    if province is None:
        if "province_code" not in errors.fields:
            errors.add("province_code", _("Enter an existing province code (2 digits)."))
        return "", errors.fields
    elsewhere = [c for c in place.commune_codes if (commune := geo.commune(c)) is None
                 or commune.province_code != province.code]
    if elsewhere:
        errors.add("commune_codes", not_communes(elsewhere))
    return province.code, errors.fields


def _refuse(refused: FieldErrors, found: FieldErrors) -> ValidationError:
    """The schema's messages and the service's, for the fields the schema did not already refuse: one answer
    (issue 13)."""
    errors = Errors({name: list(messages) for name, messages in refused.items()})
    errors.merge({name: messages for name, messages in found.items() if name not in refused})
    return ValidationError(_("Please correct the marked fields."), errors.fields)


def save_organisation(actor: User, data: OrganisationIn | Refused[OrganisationPlace],
                      organisation: Organisation | None = None) -> Organisation:
    """Create or update an organisation. Admins anywhere, province officers in their province (422 for another
    province, or communes outside the province, beside the messages of a refused body)."""
    if not can_manage_organisations(actor):
        deny("organisation", organisation.id if organisation else None)
    if isinstance(data, Refused):
        raise _refuse(data.fields, _check_place(actor, data.part)[1])
    province_code, errors = _check_place(actor, data)
    if errors:
        raise ValidationError(_("Please correct the marked fields."), errors)
    creating = organisation is None
    org = organisation or Organisation()
    org.name = data.name
    org.kind = data.kind
    org.province_code = province_code
    org.services = list(data.services)
    org.commune_codes = list(data.commune_codes)
    org.contact = data.contact or ""
    org.active = data.active
    if creating:
        db.session.add(org)
    db.session.flush()
    audit.record("organisation_create" if creating else "organisation_update", object_type="organisation",
                 object_id=org.id, fields=["name", "kind", "services", "communes", "contact", "active"])
    return org


# --- referrals: who sees what ------------------------------------------------------------------------

_OPAQUE = re.compile(f"^{OPAQUE_ID}$")
SENDER_ROLES = (Role.HOST, Role.COMMUNE_OFFICER)
PAGE_SIZE = 50

# action -> (states it may start from, state it leads to). Anything else is a 409 (DESIGN §2 Referral).
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({"sent"}), "accepted"),
    "decline": (frozenset({"sent"}), "declined"),
    "complete": (frozenset({"accepted"}), "completed"),
    "cancel": (frozenset({"sent"}), "cancelled"),
}
# The receiver no longer reads her data once the referral is declined or cancelled (the minimum).
STATES_SHOWING_SHARED = frozenset({"sent", "accepted", "completed"})


def _role(user: User) -> str:
    return str(getattr(user, "role", ""))


def referrals_visible_to(user: User) -> Select:
    """Senders see the referrals of the cases they may see; a service provider those addressed to her
    organisation; nobody else sees any."""
    from casework.cases.models import Case
    from casework.cases.policy import case_scope

    q = select(Referral)
    role = _role(user)
    if role in SENDER_ROLES:
        return q.where(Referral.case_id.in_(select(Case.id).where(case_scope(user))))
    if role == Role.SERVICE_PROVIDER and getattr(user, "organisation_id", None):
        return q.where(Referral.organisation_id == user.organisation_id)
    return q.where(db.false())


def get_referral_or_404(user: User, referral_id: str) -> Referral:
    """The referral if the user may see it; otherwise 404 and an ``access_denied`` audit event."""
    referral = None
    if referral_id and _OPAQUE.match(referral_id):
        referral = db.session.scalar(referrals_visible_to(user).where(Referral.id == referral_id))
    if referral is None:
        deny("referral", referral_id)
    return referral


def is_receiver(user: User, referral: Referral) -> bool:
    return (_role(user) == Role.SERVICE_PROVIDER and bool(getattr(user, "organisation_id", None))
            and user.organisation_id == referral.organisation_id)


def is_sender_side(user: User) -> bool:
    return _role(user) in SENDER_ROLES


def case_of(referral: Referral):
    """The referral's case, loaded without the case policy: the caller has already checked the referral."""
    from casework.cases.models import Case

    return db.session.get(Case, referral.case_id)


# --- consent and children ------------------------------------------------------------------------------


def consented_fields(case: Any, service: str) -> tuple[str, ...]:
    """The parts of the case she consents to share with this kind of service, in the order of the list."""
    from casework.cases import codes
    from casework.cases.consent import shareable_fields

    allowed = shareable_fields(case, service) if service in SERVICE_TYPES else frozenset()
    return tuple(f for f in codes.SHAREABLE_FIELDS if f in allowed)


def visible_fields(referral: Referral, case: Any) -> tuple[str, ...]:
    """What the receiver may read now: the names frozen at sending, still covered by her consent (a
    withdrawal takes effect at once) or by the override; nothing once declined or cancelled."""
    if referral.state not in STATES_SHOWING_SHARED:
        return ()
    frozen = referral.shared_field_list
    if referral.override:
        return tuple(frozen)
    allowed = set(consented_fields(case, referral.service))
    return tuple(f for f in frozen if f in allowed)


def _age_now(case: Any) -> int | None:
    year = case.person.birth_year  # the sender sees her identity anyway; the receiver never calls this
    if year and str(year).isdigit():
        return utcnow().astimezone(VN_TZ).year - int(year)
    return None


def is_child(case: Any) -> bool:
    """Under 16 by her age band or year of birth: the referral suggests child protection (vietnam-domain §1.5)."""
    age = _age_now(case)
    return case.person.age_band == "under_16" or (age is not None and age < 16)


def has_young_children(case: Any) -> bool:
    return any(a.isdigit() and int(a) < 16 for a in (case.children_ages or "").split(","))


def shared_values(referral: Referral, case: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The values of exactly ``fields``: each protected attribute is decrypted only when it is named."""
    person = case.person
    out: dict[str, Any] = {}
    for name in fields:
        if name in ("full_name", "other_names", "birth_date", "phone", "id_number", "home_address"):
            out[name] = getattr(person, name)
        elif name == "birth_year":
            year = person.birth_year
            out[name] = int(year) if year and str(year).isdigit() else None
        elif name in ("sex", "age_band", "ethnicity_code"):
            out[name] = getattr(person, name)
        elif name == "children":
            out[name] = {"count": case.children_count,
                         "ages": [int(a) for a in (case.children_ages or "").split(",") if a.isdigit()]}
        elif name == "acts":
            out[name] = list(case.act_codes)
        elif name == "relationship":
            out[name] = case.relationship_code
        elif name == "injuries":
            out[name] = {"injuries": case.injuries, "first_aid_given": bool(case.first_aid_given),
                         "first_aid": case.first_aid}
        elif name == "risk":
            out[name] = {"level": case.risk_level, "factors": sorted(case.risk_factors)}
        elif name in ("safety_plan", "narrative"):
            out[name] = getattr(case, name)
    return out


# --- deadlines -----------------------------------------------------------------------------------------


def deadlines_for(province_code: str | None) -> dict[str, tuple[int, int]]:
    """``{service: (hours, urgent hours)}`` for a province: its own settings, else 24 h and 2 h."""
    out = {s: (DEFAULT_ACK_HOURS, URGENT_ACK_HOURS) for s in SERVICE_TYPES}
    if province_code:
        for row in db.session.scalars(select(ReferralDeadline).where(ReferralDeadline.province_code == province_code)):
            if row.service in out:
                out[row.service] = (row.ack_hours, row.urgent_ack_hours)
    return out


def ack_hours(province_code: str, service: str, urgency: str) -> int:
    hours, urgent = deadlines_for(province_code).get(service, (DEFAULT_ACK_HOURS, URGENT_ACK_HOURS))
    return urgent if urgency == "urgent" else hours


def can_set_deadlines(user: User, province_code: str | None = None) -> bool:
    role = _role(user)
    return role == Role.ADMIN or (role == Role.PROVINCE_OFFICER and (province_code in (None, user.province_code)))


def set_deadlines(actor: User, province_code: str | None, values: Mapping[str, Deadline]) -> None:
    """Set a province's acknowledgement deadlines per kind of service (``schemas.read_deadlines``).

    Admins for any province, a province officer for her own (404 otherwise); 422 for a province or a kind
    of service that does not exist.
    """
    if not can_set_deadlines(actor, province_code):
        raise NotFound(_("Not found."))
    errors = Errors()
    if geo.province(province_code) is None:
        errors.add("province_code", _("Choose an existing province."))
    if any(service not in SERVICE_TYPES for service in values):
        errors.add("service", _("Choose a kind of service from the list."))
    errors.raise_if_any()
    for service, deadline in values.items():
        row = db.session.get(ReferralDeadline, (province_code, service))
        if row is None:
            row = ReferralDeadline(province_code=province_code, service=service)
            db.session.add(row)
        row.ack_hours, row.urgent_ack_hours = deadline.hours, deadline.urgent
    db.session.flush()
    audit.record("referral_deadline_update", object_type="province", object_id=province_code, actor=actor,
                 fields=sorted(values))


# --- sending ---------------------------------------------------------------------------------------------


# The name tests/cases/test_browser_work.py (of the cases package) still imports.
NewReferral = ReferralIn


def referral_errors(actor: User, case: Any,
                    target: ReferralIn | ReferralTarget) -> tuple[FieldErrors, Organisation | None]:
    """The directory's and the actor's reasons to refuse this referral with a 422, per field (empty when
    none): an organisation that is unknown, inactive, not serving the case's commune or not offering the
    service; an override by someone without the permission."""
    errors = Errors()
    org = db.session.get(Organisation, target.organisation_id) if target.organisation_id else None
    if org is None:
        errors.add("organisation_id", CHOOSE_ORGANISATION)
    elif not org.active:
        errors.add("organisation_id", _("This organisation is no longer active."))
    elif case.commune_code not in org.commune_codes:
        errors.add("organisation_id", _("This organisation does not serve the commune of this case."))
    elif target.service is not None and target.service not in org.services:
        errors.add("organisation_id", _("This organisation does not offer this service."))
    if target.override and not getattr(actor, "can_override_consent", False):
        errors.add("override", _("You are not allowed to share without her consent."))
    return errors.fields, org


def send_referral(actor: User, case: Any, data: ReferralIn | Refused[ReferralTarget]) -> Referral:
    """Send a case to an organisation for one kind of service.

    Raises ValidationError (422) per field for a bad service, urgency, reason or organisation (one that
    does not offer the service or does not serve the case's commune); ConsentMissing (409) when she has
    not agreed to share anything with that kind of service and no override is given; StateError (409)
    for a closed case or an open referral of the same kind to the same organisation. An override needs
    ``User.can_override_consent`` and a written reason; it is marked on the referral, audited, put on
    the case timeline and reported to the commune officers.
    """
    from casework.cases import codes
    from casework.cases.consent import ConsentMissing
    from casework.cases.policy import can_work_case
    from casework.cases.services import add_timeline_entry

    if not can_work_case(actor, case):
        raise NotFound(_("Not found."))
    if not case.is_open:
        raise StateError(_("This case is closed. Reopen it first."))
    if isinstance(data, Refused):
        raise _refuse(data.fields, referral_errors(actor, case, data.part)[0])
    found, org = referral_errors(actor, case, data)
    if found or org is None:
        raise ValidationError(_("Please correct the marked fields."), found)
    if data.override:
        chosen = set(data.override_fields or codes.DEFAULT_SHARE_FIELDS)
        fields = tuple(f for f in codes.SHAREABLE_FIELDS if f in chosen)
    else:
        fields = consented_fields(case, data.service)
        if not fields:
            label = SERVICE_TYPES[data.service]
            raise ConsentMissing(
                _("She has not agreed to share anything with this kind of service (%(service)s). Record her "
                  "consent first, or share without it only if her life is in danger.", service=label),
                {"service": [_("No consent to share with this kind of service.")]})
    duplicate = db.session.scalar(select(Referral.id).where(
        Referral.case_id == case.id, Referral.organisation_id == org.id, Referral.service == data.service,
        Referral.state.in_(("sent", "accepted"))))
    if duplicate:
        raise StateError(_("This case already has an open referral to this organisation for this service."),
                         {"organisation_id": [_("Already referred; wait for the answer or cancel it first.")]})
    now = utcnow()
    referral = Referral(case_id=case.id, organisation_id=org.id, service=data.service, urgency=data.urgency,
                        province_code=case.province_code, commune_code=case.commune_code, state="sent",
                        open_rank=OPEN_RANK["sent"], shared_fields=",".join(fields), sent_at=now,
                        sent_by_id=actor.id,
                        ack_due_at=now + timedelta(hours=ack_hours(case.province_code, data.service, data.urgency)),
                        override=data.override, override_by_id=actor.id if data.override else None)
    referral.reason = data.reason
    if data.override:
        referral.override_reason = data.override_reason
    db.session.add(referral)
    db.session.flush()
    add_timeline_entry(actor, case, "referral_sent", object_type="referral", object_id=referral.id,
                       note=org.name)
    audit.record("referral_send", object_type="referral", object_id=referral.id, actor=actor,
                 detail=f"{data.service}:{data.urgency}", fields=fields)
    from referral import notifications

    notifications.notify_organisation(org.id, "referral_received", referral)
    if data.override:
        add_timeline_entry(actor, case, "referral_override", object_type="referral", object_id=referral.id,
                           note=referral.override_reason)
        audit.record("referral_override", object_type="referral", object_id=referral.id, actor=actor,
                     detail=data.service, fields=fields)
        notifications.notify_commune_officers(case.commune_code, "referral_override", referral, case.reference)
    return referral


# --- transitions -------------------------------------------------------------------------------------------


def _illegal(referral: Referral, action: str) -> StateError:
    if action == "complete" and referral.state == "sent":
        message = _("Accept the referral before recording the service.")
    elif action in ("accept", "decline") and referral.state != "sent":
        message = _("This referral was already answered.")
    elif action == "cancel":
        message = _("Only a referral that has not been answered yet can be cancelled.")
    else:
        message = _("This is not possible in the referral's current state.")
    return StateError(message, {"state": [message]})


def _transition(actor: User, referral: Referral, action: str) -> None:
    """Move the referral along the transition table with one conditional UPDATE: of two requests racing
    on the same referral, the second finds the state changed and gets a 409."""
    sources, target = TRANSITIONS[action]
    if referral.state not in sources:
        raise _illegal(referral, action)
    now = utcnow()
    result = execute_dml(
        update(Referral).where(Referral.id == referral.id, Referral.state.in_(sources))
        .values({"state": target, "open_rank": OPEN_RANK[target], "updated_at": now, f"{target}_at": now,
                 f"{target}_by_id": actor.id})
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(referral)
        raise _illegal(referral, action)
    db.session.refresh(referral)


def _require_receiver(actor: User, referral: Referral) -> None:
    if not is_receiver(actor, referral):
        raise NotFound(_("Not found."))


def accept_referral(actor: User, referral: Referral) -> Referral:
    """The receiving organisation takes the referral on. Twice, or after a decline: 409."""
    from casework.cases.services import add_timeline_entry

    _require_receiver(actor, referral)
    _transition(actor, referral, "accept")
    add_timeline_entry(actor, case_of(referral), "referral_accepted", object_type="referral",
                       object_id=referral.id, note=referral.organisation.name)
    audit.record("referral_accept", object_type="referral", object_id=referral.id, actor=actor)
    from referral import notifications

    notifications.notify_users([referral.sent_by_id], "referral_accepted", referral, case_of(referral).reference)
    return referral


def decline_referral(actor: User, referral: Referral, data: DeclineIn) -> Referral:
    """The receiving organisation declines, with its reason."""
    from casework.cases.services import add_timeline_entry

    _require_receiver(actor, referral)
    _transition(actor, referral, "decline")
    text = referral.decline_reason = data.reason
    db.session.flush()
    case = case_of(referral)
    add_timeline_entry(actor, case, "referral_declined", object_type="referral", object_id=referral.id, note=text)
    audit.record("referral_decline", object_type="referral", object_id=referral.id, actor=actor,
                 fields=["decline_reason"])
    from referral import notifications

    notifications.notify_users([referral.sent_by_id], "referral_declined", referral, case.reference)
    return referral


def completion_errors(referral: Referral, data: CompletionIn) -> FieldErrors:
    """A service cannot be given before the referral was sent (its day in Vietnam)."""
    if data.service_date is not None and data.service_date < referral.sent_at.astimezone(VN_TZ).date():
        return {"service_date": [_("The service cannot be before the referral was sent.")]}
    return {}


def complete_referral(actor: User, referral: Referral, data: CompletionIn) -> Referral:
    """Record the service given, its date and outcome; only after acceptance (409 before)."""
    from casework.cases.services import add_timeline_entry

    _require_receiver(actor, referral)
    errors = completion_errors(referral, data)
    if errors:
        raise ValidationError(_("Please correct the marked fields."), errors)
    _transition(actor, referral, "complete")
    referral.result = data.result
    referral.service_date = data.service_date or utcnow().astimezone(VN_TZ).date()
    referral.outcome = data.outcome
    referral.service_given = data.service_given
    db.session.flush()
    case = case_of(referral)
    add_timeline_entry(actor, case, "referral_completed", object_type="referral", object_id=referral.id,
                       note=referral.outcome)
    audit.record("referral_complete", object_type="referral", object_id=referral.id, actor=actor,
                 detail=data.result, fields=["outcome", "service_given", "service_date"])
    from referral import notifications

    notifications.notify_users([referral.sent_by_id], "referral_completed", referral, case.reference)
    return referral


def cancel_referral(actor: User, referral: Referral) -> Referral:
    """The sender withdraws a referral that has not been answered yet (409 afterwards)."""
    from casework.cases.policy import can_work_case
    from casework.cases.services import add_timeline_entry

    case = case_of(referral)
    if not is_sender_side(actor) or not can_work_case(actor, case):
        raise NotFound(_("Not found."))
    _transition(actor, referral, "cancel")
    add_timeline_entry(actor, case, "referral_cancelled", object_type="referral", object_id=referral.id,
                       note=referral.organisation.name)
    audit.record("referral_cancel", object_type="referral", object_id=referral.id, actor=actor)
    from referral import notifications

    notifications.notify_organisation(referral.organisation_id, "referral_cancelled", referral)
    return referral


# --- lists ---------------------------------------------------------------------------------------------------


@dataclass
class ReferralPage:
    items: list[Referral]
    next_cursor: str | None
    overdue: list[Referral] = field(default_factory=list)


def encode_cursor(referral: Referral) -> str:
    return paging.encode_cursor(referral.open_rank, referral.sent_at, referral.id)


def _overdue_condition(now: datetime):
    return and_(Referral.state == "sent", Referral.ack_due_at < now)


def list_referrals(user: User, *, state: str | None = None, case: Any = None, after: str | None = None,
                   limit: int = PAGE_SIZE, now: datetime | None = None, overdue_first: bool = True,
                   only_overdue: bool = False) -> ReferralPage:
    """One page of the user's referrals: waiting for an answer first, then accepted, then finished, newest first.

    With ``overdue_first`` the first page also lists, apart and before everything else, the referrals
    past their acknowledgement deadline (issue 5), earliest deadline first; the main list leaves them out.
    """
    now = now or utcnow()
    q = referrals_visible_to(user)
    if case is not None:
        q = q.where(Referral.case_id == case.id)
    if state:
        q = q.where(Referral.state == state)
    if only_overdue:
        q, overdue_first = q.where(_overdue_condition(now)), False
    overdue: list[Referral] = []
    if overdue_first:
        if after is None and state in (None, "sent"):
            overdue = list(db.session.scalars(q.where(_overdue_condition(now))
                                              .order_by(Referral.ack_due_at, Referral.id).limit(200)))
        q = q.where(not_(_overdue_condition(now)))
    if after:
        rank, when, referral_id = paging.decode_cursor(after, int, datetime, str)
        q = q.where(tuple_(Referral.open_rank, Referral.sent_at, Referral.id) < tuple_(rank, when, referral_id))
    rows = list(db.session.scalars(q.order_by(Referral.open_rank.desc(), Referral.sent_at.desc(), Referral.id.desc())
                                   .limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return ReferralPage(rows[:limit], next_cursor, overdue)


def record_list(user: User, shown: int) -> None:
    audit.record("referral_list", object_type="referral", actor=user, detail=f"rows:{shown}")


def record_view(user: User, referral: Referral, fields: Iterable[str]) -> None:
    """Every view of a referral is an event with the names of the fields shown, never their values."""
    audit.record("referral_view", object_type="referral", object_id=referral.id, actor=user, fields=list(fields))


def case_referrals(user: User, case: Any) -> list[Referral]:
    """Every referral of a case the user may see, newest first (for the case page)."""
    q = referrals_visible_to(user).where(Referral.case_id == case.id)
    return list(db.session.scalars(q.order_by(Referral.sent_at.desc(), Referral.id.desc()).limit(200)))
