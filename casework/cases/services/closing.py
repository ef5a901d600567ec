"""Closing a case: the host's request, the commune officer's decision (with the open items of
``casework.cases.closure``) and reopening."""

from __future__ import annotations

from flask_babel import gettext as _

from casework.auth.models import User
from casework.cases import closure, handover
from casework.cases.models import Case, priority_of
from casework.cases.policy import can_decide_closure
from casework.cases.services.common import _flush, _text, local_today
from casework.cases.services.follow_ups import default_next_follow_up
from casework.cases.timeline import add_timeline_entry
from casework.errors import NotFound, StateError, ValidationError
from casework.models import utcnow
from casework.protect import audit


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
