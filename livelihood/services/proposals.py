"""Proposals: draft and revise (totals computed by the schema, never taken from the client), submit, appraise,
decide (an approval commits its amount to the province's budget in one conditional UPDATE; above the threshold
it needs two officers), complete and close (committed money not paid goes back to the budget)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, func, select, update

from casework.auth.models import User
from casework.auth.roles import Role
from casework.errors import NotFound, StateError, ValidationError
from casework.extensions import db, execute_dml
from casework.models import utcnow
from casework.protect import audit
from casework.text import format_vnd
from livelihood import handover
from livelihood.models import (
    Appraisal,
    Budget,
    Disbursement,
    Proposal,
    ProposalLine,
    ProposalTransition,
    Survivor,
)
from livelihood.policy import (
    can_see_identity,
    proposals_visible_to,
)
from livelihood.schemas import (
    SCORE_CRITERIA,
    AppraisalIn,
    DecisionIn,
    ProposalIn,
    today,
)
from livelihood.services.common import (
    CLOSABLE_STATES,
    DECIDABLE_STATES,
    EDITABLE_STATES,
    WITHDRAWABLE_STATES,
    SecondPersonRequired,
    _audit_moves,
    _move,
    _raise_if,
    _refuse,
    _require_other_than_drafter,
    _require_province_officer,
    _require_state,
    budget_for,
    threshold_for,
)

# --- proposals ------------------------------------------------------------------------------------


def LineInput(item: str, quantity: object, unit_cost_vnd: object, unit: str = "",
              co_contribution_vnd: object = 0) -> dict[str, object]:
    """A budget line for ``ProposalInput`` (Python callers: the demo loader, tests)."""
    return {"item": item, "quantity": quantity, "unit_cost_vnd": unit_cost_vnd, "unit": unit,
            "co_contribution_vnd": co_contribution_vnd}


def ProposalInput(kind: str, title: str, lines: Sequence[object], description: str = "",
                  expected_results: str = "") -> ProposalIn:
    """A ``ProposalIn`` from Python callers (the demo loader, tests), read by the schema."""
    return ProposalIn.of(kind=kind, title=title, budget_lines=list(lines), description=description,
                         expected_results=expected_results)


def _apply_proposal(actor: User, proposal: Proposal, new: ProposalIn) -> None:
    proposal.kind = new.kind
    proposal.title = new.title
    proposal.description = new.description
    proposal.expected_results = new.expected_results
    proposal.lines = [ProposalLine(position=i, item=line.item, unit=line.unit or "", quantity=line.quantity,
                                   unit_cost_vnd=line.unit_cost_vnd, co_contribution_vnd=line.own_vnd)
                      for i, line in enumerate(new.budget_lines)]
    proposal.total_vnd = new.total_vnd
    proposal.co_contribution_vnd = new.co_contribution_vnd
    proposal.requested_vnd = new.requested_vnd
    proposal.last_edited_by_id = actor.id


def draft_proposal(actor: User, survivor: Survivor, new: ProposalIn) -> Proposal:
    """A commune officer drafts a proposal with a survivor of her commune."""
    if not can_see_identity(actor, survivor):
        raise NotFound(_("Not found."))
    proposal = Proposal(survivor_id=survivor.id, province_code=survivor.province_code,
                        commune_code=survivor.commune_code, state="draft", drafted_by_id=actor.id,
                        last_edited_by_id=actor.id)
    _apply_proposal(actor, proposal, new)
    db.session.add(proposal)
    db.session.flush()
    audit.record("proposal_create", object_type="proposal", object_id=proposal.id, actor=actor,
                 fields=["kind", "title", "budget_lines"])
    return proposal


def revise_proposal(actor: User, proposal: Proposal, new: ProposalIn) -> Proposal:
    """Change a draft, or a proposal returned for revision; the budget lines are replaced."""
    if actor.role != Role.COMMUNE_OFFICER or actor.commune_code != proposal.commune_code:
        raise NotFound(_("Not found."))
    if proposal.state not in EDITABLE_STATES:
        raise StateError(_("Only a draft or a proposal returned for revision can be changed."))
    _apply_proposal(actor, proposal, new)
    db.session.flush()
    audit.record("proposal_update", object_type="proposal", object_id=proposal.id, actor=actor,
                 fields=["kind", "title", "budget_lines"])
    return proposal


def submit_proposal(actor: User, proposal: Proposal, note: str | None = None) -> Proposal:
    """Send a draft (or a revised proposal) to the province for appraisal."""
    if actor.role != Role.COMMUNE_OFFICER or actor.commune_code != proposal.commune_code:
        raise NotFound(_("Not found."))
    _require_state(proposal, EDITABLE_STATES, _l("Only a draft or a proposal returned for revision can be submitted."))
    if not proposal.lines or proposal.requested_vnd <= 0:
        message = _("Add at least one budget line.")
        raise ValidationError(message, {"budget_lines": [message]})
    move = _move(actor, proposal, "submitted", "submit" if proposal.state == "draft" else "resubmit",
                 note=note or "")
    proposal.submitted_at = utcnow()
    proposal.first_approved_by_id = None
    proposal.first_approved_amount_vnd = None
    # Four-eyes: the proposal is judged against the threshold in force now, whatever happens to the
    # budget later (see ``threshold_for``).
    budget = budget_for(proposal.province_code, today().year)
    proposal.second_approval_above_vnd = budget.second_approval_above_vnd if budget is not None else None
    db.session.flush()
    _audit_moves(actor, proposal, move)
    handover.proposal_moved(actor, proposal)
    return proposal


def start_appraisal(actor: User, proposal: Proposal) -> Proposal:
    _require_province_officer(actor, proposal)
    _require_other_than_drafter(actor, proposal)
    _require_state(proposal, ("submitted",), _l("Only a submitted proposal can be taken up for appraisal."))
    _audit_moves(actor, proposal, _move(actor, proposal, "under_appraisal", "start_appraisal"))
    return proposal


def AppraisalInput(feasibility: object, market: object, skills: object, risks: object, cost: object,
                   comment: str = "") -> AppraisalIn:
    """An ``AppraisalIn`` from Python callers (the demo loader, tests), read by the schema."""
    return AppraisalIn.of(feasibility=feasibility, market=market, skills=skills, risks=risks, cost=cost,
                          comment=comment)


def appraise_proposal(actor: User, proposal: Proposal, sheet: AppraisalIn) -> Appraisal:
    """Record a scoring sheet (each criterion 1–5, total out of 25); takes up a submitted proposal."""
    _require_province_officer(actor, proposal)
    _require_other_than_drafter(actor, proposal)
    _require_state(proposal, DECIDABLE_STATES, _l("Only a submitted proposal or one under appraisal can be scored."))
    moves = [_move(actor, proposal, "under_appraisal", "start_appraisal")] if proposal.state == "submitted" else []
    scores = sheet.scores
    appraisal = Appraisal(proposal_id=proposal.id, appraiser_id=actor.id, total=sum(scores.values()), **scores)
    appraisal.comment = sheet.comment
    db.session.add(appraisal)
    db.session.flush()
    _audit_moves(actor, proposal, *moves)
    audit.record("proposal_appraise", object_type="proposal", object_id=proposal.id, actor=actor,
                 fields=[*SCORE_CRITERIA, *(["comment"] if sheet.comment else [])])
    return appraisal


def DecisionInput(decision: str, approved_amount_vnd: object = None, note: str = "") -> DecisionIn:
    """A ``DecisionIn`` from Python callers (the demo loader, tests), read by the schema."""
    return DecisionIn.of(decision=decision, approved_amount_vnd=approved_amount_vnd, note=note)


def decide_proposal(actor: User, proposal: Proposal, d: DecisionIn) -> Proposal:
    """Approve (an amount up to the request), return for revision (what to change) or reject (why).

    Raises Forbidden for the drafter, StateError unless the proposal is submitted or under
    appraisal, ValidationError for an amount above the request or an approval the province's budget
    cannot carry. With a province threshold set, an approval above it needs a second, different officer:
    the first approval is recorded and the proposal stays under appraisal until the second one.
    """
    _require_province_officer(actor, proposal)
    _require_state(proposal, DECIDABLE_STATES, _l("Only a submitted proposal or one under appraisal can be decided."))
    _require_other_than_drafter(actor, proposal)
    note = d.note or ""
    if d.decision == "approve" and cast(int, d.approved_amount_vnd) > proposal.requested_vnd:  # required: schema
        _raise_if({"approved_amount_vnd": [_("The approved amount cannot be more than the %(amount)s requested.",
                                             amount=format_vnd(proposal.requested_vnd))]})
    moves = [_move(actor, proposal, "under_appraisal", "start_appraisal")] if proposal.state == "submitted" else []
    if d.decision == "return":
        moves.append(_move(actor, proposal, "returned", "return", note=note))
        _clear_first_approval(proposal)
    elif d.decision == "reject":
        moves.append(_move(actor, proposal, "rejected", "reject", note=note))
        _clear_first_approval(proposal)
        proposal.decided_at, proposal.decided_by_id = utcnow(), actor.id
    else:
        moves.append(_approve(actor, proposal, cast(int, d.approved_amount_vnd), note))
    db.session.flush()
    _audit_moves(actor, proposal, *moves)
    handover.proposal_moved(actor, proposal)
    return proposal


def _clear_first_approval(proposal: Proposal) -> None:
    proposal.first_approved_by_id = None
    proposal.first_approved_amount_vnd = None


def _approve(actor: User, proposal: Proposal, amount: int, note: str) -> ProposalTransition:
    year = today().year
    budget = budget_for(proposal.province_code, year)
    if budget is None:
        raise ValidationError(_("The province has no livelihood budget for %(year)d yet.", year=year),
                              {"approved_amount_vnd": [_("The province has no livelihood budget for %(year)d yet.",
                                                         year=year)]})
    threshold = threshold_for(proposal, budget)
    if threshold is not None and amount > threshold:
        if proposal.first_approved_by_id is None:
            # First of two approvals: recorded, no money committed yet. The compare-and-set on the
            # first approver makes two officers approving at once count as first and second.
            return _move(actor, proposal, "under_appraisal", "approve_first", note=note, amount_vnd=amount,
                         audit_fields=["approved_amount_vnd"], expect={"first_approved_by_id": None},
                         values={"first_approved_by_id": actor.id, "first_approved_amount_vnd": amount})
        if proposal.first_approved_by_id == actor.id:
            _refuse(SecondPersonRequired(_("You gave the first approval; a second officer must confirm it.")),
                    "proposal_approve", "proposal", proposal.id)
        if amount > (proposal.first_approved_amount_vnd or 0):
            message = _("The second approval cannot be more than the first one (%(amount)s).",
                        amount=format_vnd(proposal.first_approved_amount_vnd))
            raise ValidationError(message, {"approved_amount_vnd": [message]})
    # Lock order: the proposal row (compare-and-set), then the budget row; the audit chain comes last.
    transition = _move(actor, proposal, "approved", "approve", note=note, amount_vnd=amount,
                       audit_fields=["approved_amount_vnd"],
                       expect={"first_approved_by_id": proposal.first_approved_by_id})
    _commit_money(budget, amount)
    proposal.approved_amount_vnd = amount
    proposal.committed_vnd = amount
    proposal.budget_id = budget.id
    proposal.decided_at, proposal.decided_by_id = transition.at, actor.id
    return transition


def _commit_money(budget: Budget, amount: int) -> None:
    """Add ``amount`` to the committed money in one conditional UPDATE, or refuse (see module doc)."""
    table = cast(Table, Budget.__table__)
    result = execute_dml(
        update(table)
        .where(table.c.id == budget.id, table.c.committed_vnd + amount <= table.c.amount_vnd)
        .values(committed_vnd=table.c.committed_vnd + amount, updated_at=utcnow()))
    db.session.refresh(budget)
    if result.rowcount != 1:
        message = _("This approval would take the province's committed money over its budget for %(year)d: "
                    "%(left)s is left of %(amount)s.", year=budget.year, left=format_vnd(budget.available_vnd),
                    amount=format_vnd(budget.amount_vnd))
        raise ValidationError(message, {"approved_amount_vnd": [message]})


def _release_money(actor: User, proposal: Proposal) -> None:
    """Give back to the budget what was committed to the proposal and will not be paid."""
    db.session.flush()
    db.session.refresh(proposal)  # the row is locked by the move: these figures are final
    if proposal.pending_disbursement_vnd:
        # Tranches nobody confirmed were never paid: they end with the proposal.
        tranches = cast(Table, Disbursement.__table__)
        db.session.execute(update(tranches).where(tranches.c.proposal_id == proposal.id,
                                                  tranches.c.state == "pending").values(state="cancelled"))
        proposal.pending_disbursement_vnd = 0
        db.session.flush()
    remainder = proposal.committed_vnd - proposal.disbursed_vnd
    if remainder <= 0 or proposal.budget_id is None:
        return
    proposal.committed_vnd = proposal.disbursed_vnd
    table = cast(Table, Budget.__table__)
    db.session.execute(update(table).where(table.c.id == proposal.budget_id)
                       .values(committed_vnd=table.c.committed_vnd - remainder, updated_at=utcnow()))
    db.session.flush()
    if proposal.budget is not None:
        db.session.refresh(proposal.budget)


def complete_proposal(actor: User, proposal: Proposal, outcome: str, note: str | None = None) -> Proposal:
    """End a proposal that received money, with its outcome (read by ``CompleteIn``); money not paid goes
    back to the budget."""
    if actor.role == Role.COMMUNE_OFFICER:
        if actor.commune_code != proposal.commune_code:
            raise NotFound(_("Not found."))
    else:
        _require_province_officer(actor, proposal)
    _require_state(proposal, ("disbursing",), _l("Only a proposal that has received money can be completed."))
    move = _move(actor, proposal, "completed", "complete", note=note or "", audit_fields=["outcome"])
    proposal.outcome = outcome
    proposal.outcome_note = note or None
    _release_money(actor, proposal)
    _audit_moves(actor, proposal, move)
    return proposal


def close_proposal(actor: User, proposal: Proposal, reason: str) -> Proposal:
    """Close without completion, with the reason (read by ``CloseIn``): the commune officer withdraws a draft
    or a returned proposal, the province officer stops an approved one; committed money not paid goes back to
    the budget."""
    if actor.role == Role.COMMUNE_OFFICER:
        if actor.commune_code != proposal.commune_code:
            raise NotFound(_("Not found."))
        allowed = WITHDRAWABLE_STATES
    else:
        _require_province_officer(actor, proposal)
        allowed = CLOSABLE_STATES
    _require_state(proposal, allowed, _l("This proposal cannot be closed in its current state."))
    move = _move(actor, proposal, "closed", "close", note=reason)
    _release_money(actor, proposal)
    _audit_moves(actor, proposal, move)
    return proposal


# --- reading --------------------------------------------------------------------------------------


def transitions_of(proposal: Proposal) -> list[ProposalTransition]:
    return list(db.session.scalars(select(ProposalTransition).where(ProposalTransition.proposal_id == proposal.id)
                                   .order_by(ProposalTransition.at, ProposalTransition.id)))


def appraisals_of(proposal: Proposal) -> list[Appraisal]:
    return list(db.session.scalars(select(Appraisal).where(Appraisal.proposal_id == proposal.id)
                                   .order_by(Appraisal.at)))


def proposals_of(user: User, survivor: Survivor) -> list[Proposal]:
    return list(db.session.scalars(proposals_visible_to(user).where(Proposal.survivor_id == survivor.id)
                                   .order_by(Proposal.created_at.desc())))


def proposal_counts(user: User) -> dict[str, int]:
    """Proposals the user can see, by state."""
    sub = proposals_visible_to(user).subquery()
    rows = db.session.execute(select(sub.c.state, func.count()).group_by(sub.c.state))
    return {state: n for state, n in rows}
