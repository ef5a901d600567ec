"""Money paid and planned: tranches (four-eyes: the approver's own tranche, or one above the threshold, waits
for a second province officer) and the province's yearly budget (every change waits for a second person).

A tranche is added to the proposal's ``disbursed_vnd`` in one conditional UPDATE (``<= approved``); rows are
locked in the same order everywhere (the proposal, then the budget) and the audit events are written last."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, select, update
from sqlalchemy.exc import IntegrityError

from casework.auth.models import User
from casework.auth.roles import Role
from casework.errors import NotFound, StateError, ValidationError
from casework.extensions import db, execute_dml
from casework.models import utcnow
from casework.protect import audit
from casework.protect.attachments import NewAttachment, add_attachment
from casework.text import format_vnd
from livelihood import handover
from livelihood.models import (
    Budget,
    BudgetChange,
    Disbursement,
    Proposal,
)
from livelihood.policy import (
    _opaque,
    budget_changes_visible_to,
)
from livelihood.schemas import (
    BudgetIn,
    TrancheIn,
    today,
)
from livelihood.services.common import (
    DISBURSABLE_STATES,
    PendingConfirmation,
    SecondPersonRequired,
    _audit_moves,
    _move,
    _refuse,
    _require_province_officer,
    _require_state,
    budget_for,
    threshold_for,
)

# --- disbursement ---------------------------------------------------------------------------------


def DisbursementInput(amount_vnd: object, paid_on: object, form: str, handed_over_by: str = "",
                      items: str = "") -> TrancheIn:
    """A ``TrancheIn`` from Python callers (the demo loader, tests), read by the schema."""
    return TrancheIn.of(amount_vnd=amount_vnd, date=paid_on, form=form, handed_over_by=handed_over_by, items=items)


def tranche_needs_second_officer(actor: User, proposal: Proposal, amount: int) -> bool:
    """Four-eyes on money paid: a tranche recorded by an officer who approved the proposal (first or
    final approval), or above the proposal's threshold (``threshold_for``), waits for a second
    province officer; every other tranche counts at once."""
    if actor.id in (proposal.decided_by_id, proposal.first_approved_by_id):
        return True
    threshold = threshold_for(proposal, proposal.budget)
    return threshold is not None and amount > threshold


def disburse(actor: User, proposal: Proposal, new: TrancheIn,
             receipt: NewAttachment | None = None) -> Disbursement:
    """Record a tranche, with its receipt (a photo or PDF, encrypted); the total paid and waiting can
    never pass the approved amount. A receipt that is not a JPEG, PNG or PDF, or too large, raises
    ValidationError on ``file`` and, the request rolling back, nothing of the tranche is kept.

    A tranche that needs a second officer (``tranche_needs_second_officer``) is stored "pending": its
    amount is reserved on the proposal but counts as paid (proposal and budget) only once another
    province officer confirms it (``confirm_tranche``)."""
    _require_province_officer(actor, proposal)
    _require_state(proposal, DISBURSABLE_STATES, _l("Money can be paid only on an approved proposal."))
    amount, paid_on = new.amount_vnd, new.date
    pending = tranche_needs_second_officer(actor, proposal, amount)
    db.session.flush()
    table = cast(Table, Proposal.__table__)
    added = ({"pending_disbursement_vnd": table.c.pending_disbursement_vnd + amount} if pending
             else {"disbursed_vnd": table.c.disbursed_vnd + amount})
    result = execute_dml(
        update(table)
        .where(table.c.id == proposal.id, table.c.state.in_(DISBURSABLE_STATES),
               table.c.disbursed_vnd + table.c.pending_disbursement_vnd + amount <= table.c.approved_amount_vnd)
        .values(**added, updated_at=utcnow()))
    db.session.refresh(proposal)
    if result.rowcount != 1:
        if proposal.state not in DISBURSABLE_STATES:
            raise StateError(_("Money can be paid only on an approved proposal."))
        message = _("This is more than what is left to pay: %(left)s.", left=format_vnd(proposal.remaining_vnd))
        raise ValidationError(message, {"amount_vnd": [message]})
    if not pending:
        budgets = cast(Table, Budget.__table__)
        db.session.execute(update(budgets).where(budgets.c.id == proposal.budget_id)
                           .values(disbursed_vnd=budgets.c.disbursed_vnd + amount, updated_at=utcnow()))
    tranche = Disbursement(proposal_id=proposal.id, amount_vnd=amount, paid_on=paid_on, form=new.form,
                           recorded_by_id=actor.id, state="pending" if pending else "confirmed")
    tranche.handed_over_by = new.handed_over_by
    tranche.items = new.items
    db.session.add(tranche)
    db.session.flush()
    moves = []
    if proposal.state == "approved" and not pending:
        moves.append(_move(actor, proposal, "disbursing", "disburse", amount_vnd=amount))
    _audit_moves(actor, proposal, *moves)
    audit.record("disbursement_create", object_type="proposal", object_id=proposal.id, actor=actor,
                 detail=tranche.state, fields=["amount_vnd", "date", "form", *(["items"] if new.items else [])])
    if tranche.state == "pending":
        handover.tranche_pending(actor, proposal, tranche)
    if receipt is not None and receipt.data:
        add_attachment(actor, tranche, NewAttachment(data=receipt.data, filename=receipt.filename, kind="receipt"))
    if proposal.budget is not None:
        db.session.refresh(proposal.budget)
    return tranche


def find_tranche(proposal: Proposal, tranche_id: str | None) -> Disbursement | None:
    if not _opaque(tranche_id):
        return None
    return db.session.scalar(select(Disbursement).where(Disbursement.id == tranche_id,
                                                        Disbursement.proposal_id == proposal.id))


def confirm_tranche(actor: User, proposal: Proposal, tranche_id: str) -> Disbursement:
    """A second province officer (not the one who recorded it) confirms a pending tranche: from now
    on it counts as paid on the proposal and the budget. 403 ``second_person_required`` for the
    recorder; 409 when it is no longer pending (two officers confirming at once: one wins)."""
    _require_province_officer(actor, proposal)
    tranche = find_tranche(proposal, tranche_id)
    if tranche is None:
        raise NotFound(_("Not found."))
    if tranche.state != "pending":
        raise StateError(_("This payment is not waiting for a confirmation."))
    if tranche.recorded_by_id == actor.id:
        _refuse(SecondPersonRequired(_("You recorded this payment; another province officer must confirm it.")),
                "disbursement_confirm", "disbursement", tranche.id)
    amount = tranche.amount_vnd
    now = utcnow()
    # Lock order as everywhere: the proposal row, then the tranche, then the budget; the audit chain last.
    db.session.flush()
    table = cast(Table, Proposal.__table__)
    result = execute_dml(
        update(table)
        .where(table.c.id == proposal.id, table.c.state.in_(DISBURSABLE_STATES),
               table.c.pending_disbursement_vnd >= amount)
        .values(pending_disbursement_vnd=table.c.pending_disbursement_vnd - amount,
                disbursed_vnd=table.c.disbursed_vnd + amount, updated_at=now))
    tranches = cast(Table, Disbursement.__table__)
    if result.rowcount == 1:
        result = execute_dml(
            update(tranches).where(tranches.c.id == tranche.id, tranches.c.state == "pending")
            .values(state="confirmed", confirmed_by_id=actor.id, confirmed_at=now))
    if result.rowcount != 1:
        raise StateError(_("Someone else changed this payment a moment ago. Open the proposal again."))
    budgets = cast(Table, Budget.__table__)
    db.session.execute(update(budgets).where(budgets.c.id == proposal.budget_id)
                       .values(disbursed_vnd=budgets.c.disbursed_vnd + amount, updated_at=now))
    db.session.refresh(proposal)
    db.session.refresh(tranche)
    moves = []
    if proposal.state == "approved":
        moves.append(_move(actor, proposal, "disbursing", "disburse", amount_vnd=amount))
    _audit_moves(actor, proposal, *moves)
    audit.record("disbursement_confirm", object_type="disbursement", object_id=tranche.id, actor=actor,
                 fields=["state"])
    if proposal.budget is not None:
        db.session.refresh(proposal.budget)
    return tranche


# --- budgets --------------------------------------------------------------------------------------


def BudgetInput(province_code: str, year: object, amount_vnd: object,
                second_approval_above_vnd: object = None) -> BudgetIn:
    """A ``BudgetIn`` from Python callers (the demo loader, tests), read by the schema."""
    return BudgetIn.of(province_code=province_code, year=year, amount_vnd=amount_vnd,
                       second_approval_above_vnd=second_approval_above_vnd)


BUDGET_CHANGE_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class BudgetOutcome:
    """What ``set_budget`` did: "created" (the first budget of the year, in force at once),
    "unchanged" (the same values again) or "pending" (a change waiting for a second person)."""

    budget: Budget
    status: str
    change: BudgetChange | None = None


def _below_committed(budget: Budget) -> ValidationError:
    message = _("The budget cannot be less than the %(amount)s already committed.",
                amount=format_vnd(budget.committed_vnd))
    return ValidationError(message, {"amount_vnd": [message]})


def _expire_budget_changes(budget_id: str) -> None:
    """Pending changes older than 24 hours lapse (their budget can take a new proposal)."""
    table = cast(Table, BudgetChange.__table__)
    db.session.execute(update(table).where(table.c.pending_key == budget_id, table.c.expires_at <= utcnow())
                       .values(state="expired", pending_key=None))


def pending_budget_change(budget: Budget) -> BudgetChange | None:
    """The change of this budget waiting for a second person, if any (not expired)."""
    return db.session.scalar(select(BudgetChange).where(BudgetChange.pending_key == budget.id,
                                                        BudgetChange.expires_at > utcnow()))


def set_budget(actor: User, new: BudgetIn) -> BudgetOutcome:
    """Set a province's allocation for a year (four-eyes on every change).

    The first budget of a province-year takes effect at once. Any later change of the allocation or
    of the second-approval threshold is only *proposed* here: it waits (24 hours at most) until
    another province officer of the province or a national coordinator confirms it
    (``confirm_budget_change``); the same values again change nothing. A second proposal while one is
    pending is refused (409 ``pending_confirmation``). The allocation may not drop below what is
    already committed. Another province's budget is outside the actor's scope (NotFound).
    """
    if actor.role != Role.PROVINCE_OFFICER or new.province_code != actor.province_code:
        raise NotFound(_("Not found."))
    year, amount, threshold = new.year, new.amount_vnd, new.second_approval_above_vnd
    budget = budget_for(new.province_code, year)  # her own province: checked above
    if budget is None:
        budget = Budget(province_code=actor.province_code, year=year, amount_vnd=amount, committed_vnd=0,
                        disbursed_vnd=0, second_approval_above_vnd=threshold, updated_by_id=actor.id)
        db.session.add(budget)
        try:
            db.session.flush()
        except IntegrityError:
            # Another officer created the same year's budget a moment ago (unique province and year).
            # No savepoint: SQLite's driver would commit it early; the whole request rolls back instead.
            db.session.rollback()
            raise StateError(_("The budget for this year was created by someone else a moment ago. "
                               "Open the page again.")) from None
        audit.record("budget_set", object_type="budget", object_id=budget.id, actor=actor,
                     detail=f"{actor.province_code}:{year}", fields=["amount_vnd", "second_approval_above_vnd"])
        return BudgetOutcome(budget, "created")
    if (amount, threshold) == (budget.amount_vnd, budget.second_approval_above_vnd):
        return BudgetOutcome(budget, "unchanged")
    if amount < budget.committed_vnd:
        raise _below_committed(budget)
    budget_id = budget.id
    _expire_budget_changes(budget_id)
    if pending_budget_change(budget) is not None:
        _refuse(PendingConfirmation(_("A change of this budget is already waiting for confirmation. It must be "
                                      "confirmed, or lapse after 24 hours, before another one is proposed.")),
                "budget_change_propose", "budget", budget.id)
    now = utcnow()
    change = BudgetChange(budget_id=budget.id, amount_vnd=amount, second_approval_above_vnd=threshold,
                          state="pending", pending_key=budget.id, proposed_by_id=actor.id, proposed_at=now,
                          expires_at=now + BUDGET_CHANGE_TTL)
    db.session.add(change)
    try:
        db.session.flush()
    except IntegrityError:
        # Another officer proposed a change of the same budget a moment ago (one pending per budget).
        db.session.rollback()
        _refuse(PendingConfirmation(_("A change of this budget is already waiting for confirmation. It must be "
                                      "confirmed, or lapse after 24 hours, before another one is proposed.")),
                "budget_change_propose", "budget", budget_id)
    audit.record("budget_change_propose", object_type="budget_change", object_id=change.id, actor=actor,
                 detail=f"{budget.province_code}:{budget.year}", fields=["amount_vnd", "second_approval_above_vnd"])
    handover.budget_change_proposed(actor, budget, change)
    return BudgetOutcome(budget, "pending", change)


def pending_budget_changes(user: User) -> list[BudgetChange]:
    return list(db.session.scalars(budget_changes_visible_to(user).where(
        BudgetChange.state == "pending", BudgetChange.expires_at > utcnow()).order_by(BudgetChange.proposed_at)))


def can_confirm_budget_change(user: User, change: BudgetChange) -> bool:
    return (change.state == "pending" and change.expires_at > utcnow() and user.id != change.proposed_by_id
            and (user.role == Role.COORDINATOR or (user.role == Role.PROVINCE_OFFICER
                                                   and user.province_code == change.budget.province_code)))


def confirm_budget_change(actor: User, change: BudgetChange) -> Budget:
    """Another province officer of the province, or a coordinator, confirms a pending budget change:
    the budget takes the proposed values now. The proposer gets 403 ``second_person_required``; a
    change no longer pending (confirmed by someone else, lapsed) is a 409."""
    budget = change.budget
    if not (actor.role == Role.COORDINATOR or (actor.role == Role.PROVINCE_OFFICER
                                               and actor.province_code == budget.province_code)):
        raise NotFound(_("Not found."))
    if change.state != "pending" or change.expires_at <= utcnow():
        raise StateError(_("This change is no longer waiting for confirmation (confirmed, or lapsed after "
                           "24 hours)."))
    if change.proposed_by_id == actor.id:
        _refuse(SecondPersonRequired(_("You proposed this change; another province officer or a national "
                                       "coordinator must confirm it.")),
                "budget_change_confirm", "budget_change", change.id)
    now = utcnow()
    changes = cast(Table, BudgetChange.__table__)
    result = execute_dml(
        update(changes).where(changes.c.id == change.id, changes.c.state == "pending")
        .values(state="applied", pending_key=None, decided_by_id=actor.id, decided_at=now))
    if result.rowcount != 1:
        raise StateError(_("This change is no longer waiting for confirmation (confirmed, or lapsed after "
                           "24 hours)."))
    table = cast(Table, Budget.__table__)
    result = execute_dml(
        update(table).where(table.c.id == budget.id, table.c.committed_vnd <= change.amount_vnd)
        .values(amount_vnd=change.amount_vnd, second_approval_above_vnd=change.second_approval_above_vnd,
                updated_by_id=actor.id, updated_at=now))
    db.session.refresh(budget)
    db.session.refresh(change)
    if result.rowcount != 1:
        raise _below_committed(budget)
    audit.record("budget_change_confirm", object_type="budget_change", object_id=change.id, actor=actor,
                 detail=f"{budget.province_code}:{budget.year}", fields=["amount_vnd", "second_approval_above_vnd"])
    return budget


def disbursements_of(proposal: Proposal) -> list[Disbursement]:
    return list(db.session.scalars(select(Disbursement).where(Disbursement.proposal_id == proposal.id)
                                   .order_by(Disbursement.paid_on, Disbursement.recorded_at)))


def budget_summary(user: User, year: int | None = None) -> Budget | None:
    if user.role != Role.PROVINCE_OFFICER or not user.province_code:
        return None
    return budget_for(user.province_code, year or today().year)


def percent(part: int, whole: int) -> int:
    """A share rounded to 5 % steps for the budget bar (0 only when the part is 0)."""
    if whole <= 0 or part <= 0:
        return 0
    share = min(100, round(part * 100 / whole / 5) * 5)
    return max(share, 5)
