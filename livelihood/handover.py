"""Who is told when a proposal changes hands (issue 13): codes only, never her name (DESIGN §3.3).

A submitted proposal goes to the province's officers; a first approval above the threshold goes to the
other officers of the province, who must give the second; a decision goes back to the commune officer who
drafted it. The notification carries the survivor's code, the proposal's id and a kind.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from casework import notify
from casework.auth.models import User
from livelihood.models import Budget, BudgetChange, Disbursement, Proposal, Survivor

KINDS = {
    "proposal_submitted": _l("A livelihood proposal for %(ref)s was submitted for appraisal."),
    "proposal_second_approval": _l("A proposal for %(ref)s has its first approval and waits for your second."),
    "proposal_approved": _l("The proposal for %(ref)s was approved."),
    "proposal_returned": _l("The proposal for %(ref)s was returned for revision."),
    "proposal_rejected": _l("The proposal for %(ref)s was rejected."),
    "budget_change_pending": _l("A change of the %(ref)s budget waits for your confirmation."),
    "tranche_pending": _l("A tranche for %(ref)s waits for a second officer's confirmation."),
}


def _code(proposal: Proposal) -> str:
    from casework.extensions import db

    survivor = db.session.get(Survivor, proposal.survivor_id)
    return survivor.code if survivor is not None else ""


def proposal_moved(actor: User, proposal: Proposal) -> int:
    """Notify whoever must act next after the proposal reached its current state."""
    state, code = proposal.state, _code(proposal)
    if state == "submitted":
        users = notify.users_with_role("province_officer", province_code=proposal.province_code)
        return notify.notify(users, "proposal_submitted", "proposal", proposal.id, code)
    if state == "under_appraisal" and proposal.first_approved_by_id:
        users = notify.users_with_role("province_officer", province_code=proposal.province_code,
                                       exclude=(proposal.first_approved_by_id, proposal.drafted_by_id,
                                                proposal.last_edited_by_id))
        return notify.notify(users, "proposal_second_approval", "proposal", proposal.id, code)
    decided = {"approved": "proposal_approved", "returned": "proposal_returned", "rejected": "proposal_rejected"}
    kind = decided.get(state)
    if kind is None:
        return 0
    return notify.notify([proposal.drafted_by_id], kind, "proposal", proposal.id, code)


def budget_change_proposed(actor: User, budget: Budget, change: BudgetChange) -> int:
    """The other officers of the province (and coordinators) may confirm it; the proposer may not."""
    officers = notify.users_with_role("province_officer", province_code=budget.province_code, exclude=(actor.id,))
    return notify.notify(officers, "budget_change_pending", "budget_change", change.id, str(budget.year))


def tranche_pending(actor: User, proposal: Proposal, tranche: Disbursement) -> int:
    officers = notify.users_with_role("province_officer", province_code=proposal.province_code, exclude=(actor.id,))
    return notify.notify(officers, "tranche_pending", "proposal", proposal.id, _code(proposal))


def register(app: Flask) -> None:
    for kind, template in KINDS.items():
        notify.add_kind(app, kind, template)
    notify.add_link(app, "proposal", "livelihood.proposal", "proposal_id")
    notify.add_link(app, "budget_change", "livelihood.budgets", "_anchor")
