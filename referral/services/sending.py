"""Sending a referral: the directory's and the actor's checks and the consent gate (or the override when her
life is in danger)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from casework.auth.models import User
from casework.errors import NotFound, StateError, ValidationError
from casework.extensions import db
from casework.models import utcnow
from casework.protect import audit
from casework.schemas import Errors, FieldErrors
from casework.service_types import SERVICE_TYPES
from referral.models import OPEN_RANK, Organisation, Referral
from referral.schemas import CHOOSE_ORGANISATION, ReferralIn, ReferralTarget, Refused
from referral.services.common import _refuse
from referral.services.deadlines import ack_hours
from referral.services.sharing import consented_fields

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
                        open_rank=OPEN_RANK["sent"], shared_fields=list(fields), sent_at=now,
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
