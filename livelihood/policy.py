"""Who sees which survivor, proposal and budget, and who sees her identity (STYLE rule 4, DESIGN §3.3).

Every list goes through a ``<things>_visible_to(user)`` query and every single record through
``get_<thing>_or_404(user, id)``: a record outside the officer's area answers 404 exactly like a missing one,
and the refusal is kept in the audit trail.

| role             | survivors and proposals | budgets         | budget changes  | identity |
|------------------|-------------------------|-----------------|-----------------|----------|
| commune_officer  | of her commune          | none            | none            | yes      |
| province_officer | of her province         | of her province | of her province | **no**   |
| coordinator      | none                    | none            | all             | –        |
| everyone else    | none                    | none            | none            | –        |
"""

from __future__ import annotations

import re

from sqlalchemy import Select, false, select

from casework.auth.models import User
from casework.auth.policy import deny
from casework.auth.roles import Role
from casework.extensions import db
from livelihood.models import Budget, BudgetChange, Proposal, Survivor

_OPAQUE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _opaque(value: str | None) -> str | None:
    return value if value and _OPAQUE.match(value) else None


def _in_officers_area(model: type[Survivor] | type[Proposal], user: User) -> Select:
    """Rows of ``model`` in the officer's area: her commune for a commune officer, her province for a province
    officer; none for anybody else."""
    query = select(model)
    if user.role == Role.COMMUNE_OFFICER and user.commune_code:
        return query.where(model.commune_code == user.commune_code)
    if user.role == Role.PROVINCE_OFFICER and user.province_code:
        return query.where(model.province_code == user.province_code)
    return query.where(false())


def survivors_visible_to(user: User) -> Select:
    """Commune officers see the survivors of their commune; province officers those of their province
    (without identity: see ``can_see_identity``); nobody else sees any."""
    return _in_officers_area(Survivor, user)


def proposals_visible_to(user: User) -> Select:
    return _in_officers_area(Proposal, user)


def budgets_visible_to(user: User) -> Select:
    query = select(Budget)
    if user.role == Role.PROVINCE_OFFICER and user.province_code:
        return query.where(Budget.province_code == user.province_code)
    return query.where(false())


def find_survivor(user: User, survivor_id: str | None) -> Survivor | None:
    if not _opaque(survivor_id):
        return None
    return db.session.scalar(survivors_visible_to(user).where(Survivor.id == survivor_id))


def find_proposal(user: User, proposal_id: str | None) -> Proposal | None:
    if not _opaque(proposal_id):
        return None
    return db.session.scalar(proposals_visible_to(user).where(Proposal.id == proposal_id))


def get_survivor_or_404(user: User, survivor_id: str) -> Survivor:
    """The survivor if the user may see her; otherwise 404 and an ``access_denied`` event."""
    survivor = find_survivor(user, survivor_id)
    if survivor is None:
        deny("survivor", _opaque(survivor_id))
    return survivor  # type: ignore[return-value]


def get_proposal_or_404(user: User, proposal_id: str) -> Proposal:
    proposal = find_proposal(user, proposal_id)
    if proposal is None:
        deny("proposal", _opaque(proposal_id))
    return proposal  # type: ignore[return-value]


def can_see_identity(user: User, survivor: Survivor) -> bool:
    """Only her commune's officer sees her name, phone, birth year and survey answers.

    Province officers decide on a proposal with what the decision needs: her code, commune, status,
    sex, age band and ethnicity, the plan and its money (data minimisation, DESIGN §3.3).
    """
    return user.role == Role.COMMUNE_OFFICER and user.commune_code == survivor.commune_code


def budget_changes_visible_to(user: User) -> Select:
    """Changes of the user's province's budgets (province officers) or of every province (coordinators)."""
    query = select(BudgetChange).join(Budget, Budget.id == BudgetChange.budget_id)
    if user.role == Role.PROVINCE_OFFICER and user.province_code:
        return query.where(Budget.province_code == user.province_code)
    if user.role == Role.COORDINATOR:
        return query
    return query.where(false())


def get_budget_change_or_404(user: User, change_id: str) -> BudgetChange:
    change = None
    if _opaque(change_id):
        change = db.session.scalar(budget_changes_visible_to(user).where(BudgetChange.id == change_id))
    if change is None:
        deny("budget_change", _opaque(change_id))
    return change  # type: ignore[return-value]
