"""The receiver's answers (accept, decline, record the service given) and the sender's cancellation, each one
conditional UPDATE on the expected state."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import update

from casework.auth.models import User
from casework.errors import NotFound, StateError, ValidationError
from casework.extensions import db, execute_dml
from casework.models import utcnow
from casework.protect import audit
from casework.schemas import FieldErrors
from casework.text import VN_TZ
from referral.models import OPEN_RANK, Referral
from referral.policy import case_of, is_receiver, is_sender_side
from referral.schemas import CompletionIn, DeclineIn

# action -> (states it may start from, state it leads to). Anything else is a 409 (DESIGN §2 Referral).
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({"sent"}), "accepted"),
    "decline": (frozenset({"sent"}), "declined"),
    "complete": (frozenset({"accepted"}), "completed"),
    "cancel": (frozenset({"sent"}), "cancelled"),
}


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
