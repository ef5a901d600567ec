"""Livelihood services: each takes the acting user, validates, changes rows, writes the audit event,
flushes and never commits (STYLE rule 3). Errors are ``ValidationError`` (422, per field),
``StateError`` (409, a transition not allowed now), ``Forbidden`` (403, the four-eyes rule) and
``NotFound`` (404, outside the actor's scope).

Money rules (DESIGN §2):

- amounts are whole VND, more than zero; totals are computed here, never taken from the client;
- an approval adds its amount to the budget row's ``committed_vnd`` in one conditional UPDATE
  (``... WHERE committed_vnd + :amount <= amount_vnd``). On PostgreSQL a second approver's UPDATE
  waits for the first one's row lock and re-checks the condition against the committed row, so two
  approvals at the same moment can never both pass; on SQLite writers are serialised. A CHECK
  constraint on the table is the last line of defence;
- a tranche is added to the proposal's ``disbursed_vnd`` the same way (``<= approved``);
- rows are locked in the same order everywhere (the proposal, then the budget) and the audit events
  are written last, because on PostgreSQL the audit chain's lock serialises every writer: taking it
  before a budget row in one transaction and after it in another could deadlock.

Every state change goes through ``_move``: a compare-and-set UPDATE on the state, a transition row
(who, when, note) and an audit event with ids and codes only.

Split by subject (issue 14): ``common`` (errors, state moves), ``survivors``, ``proposals``, ``money``
(tranches and budgets) and ``visits``; the scope (``livelihood.policy``) is re-exported here, so every name is
reached as ``livelihood.services.X`` as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_

from casework import paging
from casework.extensions import db
from livelihood.models import AGE_BANDS
from livelihood.policy import (
    budget_changes_visible_to,
    budgets_visible_to,
    can_see_identity,
    find_proposal,
    find_survivor,
    get_budget_change_or_404,
    get_proposal_or_404,
    get_survivor_or_404,
    proposals_visible_to,
    survivors_visible_to,
)
from livelihood.schemas import (
    ENTITLED_BY_STATUS,
    MAX_AMOUNT_VND,
    MAX_LINES,
    SCORE_CRITERIA,
    parse_day,
    parse_whole_number,
    today,
)
from livelihood.services.common import (
    CLOSABLE_STATES,
    DECIDABLE_STATES,
    DISBURSABLE_STATES,
    EDITABLE_STATES,
    MONITORED_STATES,
    WITHDRAWABLE_STATES,
    Errors,
    PendingConfirmation,
    SecondPersonRequired,
    _move,
    budget_for,
    entitlements_of,
    record_proposal_view,
    record_survivor_view,
    threshold_for,
)
from livelihood.services.money import (
    BUDGET_CHANGE_TTL,
    BudgetInput,
    BudgetOutcome,
    DisbursementInput,
    budget_summary,
    can_confirm_budget_change,
    confirm_budget_change,
    confirm_tranche,
    disburse,
    disbursements_of,
    find_tranche,
    pending_budget_change,
    pending_budget_changes,
    percent,
    set_budget,
    tranche_needs_second_officer,
)
from livelihood.services.proposals import (
    AppraisalInput,
    DecisionInput,
    LineInput,
    ProposalInput,
    appraisals_of,
    appraise_proposal,
    close_proposal,
    complete_proposal,
    decide_proposal,
    draft_proposal,
    proposal_counts,
    proposals_of,
    revise_proposal,
    start_appraisal,
    submit_proposal,
    transitions_of,
)
from livelihood.services.survivors import (
    EventInput,
    PersonInput,
    SurvivorInput,
    age_band,
    events_of,
    record_event,
    register_survivor,
    search_survivors,
    survivor_scope_errors,
    update_survivor,
)
from livelihood.services.visits import (
    VisitInput,
    attachments_by_owner,
    find_owner,
    record_visit,
    visits_of,
)

PAGE_SIZE = 25


# --- keyset pagination ----------------------------------------------------------------------------


@dataclass
class Page:
    items: list
    next: str | None


def page_of(query: Select, model, after: str | None, size: int | None = None) -> Page:
    """Newest first, ``size`` rows after the cursor; the cursor carries no personal data."""
    size = size or PAGE_SIZE
    if after:
        at, row_id = paging.decode_cursor(after, datetime, str)
        query = query.where(or_(model.created_at < at, and_(model.created_at == at, model.id < row_id)))
    rows = list(db.session.scalars(query.order_by(model.created_at.desc(), model.id.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, paging.encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None)


__all__ = [
    "AGE_BANDS", "AppraisalInput", "BUDGET_CHANGE_TTL", "BudgetInput", "BudgetOutcome", "CLOSABLE_STATES",
    "DECIDABLE_STATES", "DISBURSABLE_STATES", "DecisionInput", "DisbursementInput", "EDITABLE_STATES",
    "ENTITLED_BY_STATUS", "Errors", "EventInput", "LineInput", "MAX_AMOUNT_VND", "MAX_LINES", "MONITORED_STATES",
    "PAGE_SIZE", "Page", "PendingConfirmation", "PersonInput", "ProposalInput", "SCORE_CRITERIA",
    "SecondPersonRequired", "SurvivorInput", "VisitInput", "WITHDRAWABLE_STATES", "_move", "age_band",
    "appraisals_of", "appraise_proposal", "attachments_by_owner", "budget_changes_visible_to", "budget_for",
    "budget_summary", "budgets_visible_to", "can_confirm_budget_change", "can_see_identity", "close_proposal",
    "complete_proposal", "confirm_budget_change", "confirm_tranche", "decide_proposal", "disburse",
    "disbursements_of", "draft_proposal", "entitlements_of", "events_of", "find_owner", "find_proposal",
    "find_survivor", "find_tranche", "get_budget_change_or_404", "get_proposal_or_404", "get_survivor_or_404",
    "page_of", "parse_day", "parse_whole_number", "pending_budget_change", "pending_budget_changes", "percent",
    "proposal_counts", "proposals_of", "proposals_visible_to", "record_event", "record_proposal_view",
    "record_survivor_view", "record_visit", "register_survivor", "revise_proposal", "search_survivors",
    "set_budget", "start_appraisal", "submit_proposal", "survivor_scope_errors", "survivors_visible_to",
    "threshold_for", "today", "tranche_needs_second_officer", "transitions_of", "update_survivor", "visits_of",
]
