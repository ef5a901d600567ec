"""Contact bans: the commune chair's (Law 13/2022 Art. 25), requested and decided within 12 hours, and a
court's (Art. 26); their revocation."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _

from casework.auth.models import User
from casework.cases import codes, handover
from casework.cases.closure import require_open
from casework.cases.models import Case, ContactBan
from casework.cases.schemas import CLOCK_SKEW, ContactBanDecisionIn, ContactBanIn, ContactBanRevocationIn
from casework.cases.services.common import _add, _day_moment, _invalid
from casework.cases.timeline import add_timeline_entry
from casework.errors import NotFound, StateError, ValidationError
from casework.extensions import db
from casework.models import utcnow
from casework.protect import audit
from casework.text import VN_TZ


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
