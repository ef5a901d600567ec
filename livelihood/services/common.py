"""What the livelihood services share: their errors, the scope of each officer (who sees which survivor,
proposal and budget), the compare-and-set state moves of a proposal with their transition rows and audit
events, and the budget and second-approval threshold a proposal is judged against."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import cast

from flask_babel import LazyString
from flask_babel import gettext as _
from sqlalchemy import Select, Table, false, select, update
from sqlalchemy.orm.attributes import set_committed_value

from casework.auth.models import User
from casework.auth.roles import Role
from casework.errors import Forbidden, NotFound, StateError, ValidationError
from casework.extensions import db, execute_dml
from casework.models import utcnow
from casework.protect import audit
from casework.text import nfc
from livelihood.models import (
    Budget,
    Proposal,
    ProposalTransition,
    Survivor,
)
from livelihood.schemas import (
    ENTITLED_BY_STATUS,
    today,
)
from livelihood.work import MONITORING_DAYS

Errors = dict[str, list[str]]


class SecondPersonRequired(Forbidden):
    """The four-eyes rule: the person who started an action cannot be the one who completes it."""

    code = "second_person_required"


class PendingConfirmation(StateError):
    """A change is already waiting for a second person's confirmation."""

    code = "pending_confirmation"


def _refuse(error: Forbidden | StateError, action: str, object_type: str, object_id: str | None) -> None:
    """Raise ``error`` and keep one ``denied`` audit event, although the request rolls back."""
    audit.record_after_rollback(action, object_type=object_type, object_id=audit.opaque_id(object_id),
                                outcome="denied", detail=error.code)
    raise error


# Who may decide what, in which state (DESIGN §2).
EDITABLE_STATES = ("draft", "returned")


DECIDABLE_STATES = ("submitted", "under_appraisal")


DISBURSABLE_STATES = ("approved", "disbursing")


MONITORED_STATES = ("approved", "disbursing", "completed")


WITHDRAWABLE_STATES = ("draft", "returned")  # by the commune officer


CLOSABLE_STATES = ("approved", "disbursing")  # by the province officer


def _schedule_monitoring(proposal: Proposal, to_state: str) -> None:
    """The first monitoring visit is due a quarter after the approval; none once the proposal ends."""
    if to_state == "approved":
        proposal.monitoring_due_on = today() + timedelta(days=MONITORING_DAYS)
    elif to_state in ("completed", "closed", "rejected"):
        proposal.monitoring_due_on = None


def _raise_if(errors: Errors) -> None:
    if errors:
        raise ValidationError(_("Please correct the marked fields."), errors)


def _clean(value: str | None, max_length: int) -> str:
    return nfc(value or "")[:max_length]


# --- scope ----------------------------------------------------------------------------------------

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
    from casework.auth.policy import deny

    survivor = find_survivor(user, survivor_id)
    if survivor is None:
        deny("survivor", _opaque(survivor_id))
    return survivor  # type: ignore[return-value]


def get_proposal_or_404(user: User, proposal_id: str) -> Proposal:
    from casework.auth.policy import deny

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


def record_survivor_view(user: User, survivor: Survivor, fields: Iterable[str]) -> None:
    """Her record was read: ``fields`` are the names the page or answer read (``presenters.reading``, issue 18)."""
    audit.record("survivor_view", object_type="survivor", object_id=survivor.id, actor=user, fields=list(fields))


def record_proposal_view(user: User, proposal: Proposal, fields: Iterable[str]) -> None:
    """A proposal was read: ``fields`` as for ``record_survivor_view``."""
    audit.record("proposal_view", object_type="proposal", object_id=proposal.id, actor=user, fields=list(fields))


def entitlements_of(survivor_or_status: Survivor | str) -> tuple[str, ...]:
    status = survivor_or_status if isinstance(survivor_or_status, str) else survivor_or_status.status
    return ENTITLED_BY_STATUS.get(status, ())


def _move(actor: User, proposal: Proposal, to_state: str, action: str, *, note: str = "",
          amount_vnd: int | None = None, audit_fields: Sequence[str] = (),
          expect: dict[str, object] | None = None, values: dict[str, object] | None = None) -> ProposalTransition:
    """Compare-and-set the state (the UPDATE names the state we saw), then record who, when and why.

    ``expect`` adds columns whose value we saw (None: IS NULL) and ``values`` columns to set in the
    same UPDATE. If another officer changed the proposal since we read it, the UPDATE matches no row
    and the move is refused with a StateError: no one acts on a state she did not see (DESIGN §5).
    """
    db.session.flush()
    from_state = proposal.state
    now = utcnow()
    table = cast(Table, Proposal.__table__)
    conditions = [table.c.id == proposal.id, table.c.state == from_state]
    for name, seen in (expect or {}).items():
        conditions.append(table.c[name].is_(None) if seen is None else table.c[name] == seen)
    result = execute_dml(update(table).where(*conditions)
                                .values(state=to_state, state_changed_at=now, updated_at=now, **(values or {})))
    if result.rowcount != 1:
        raise StateError(_("Someone else changed this proposal a moment ago. Open it again to see its state."))
    for name, value in {"state": to_state, "state_changed_at": now, **(values or {})}.items():
        set_committed_value(proposal, name, value)
    _schedule_monitoring(proposal, to_state)
    transition = ProposalTransition(proposal_id=proposal.id, action=action, from_state=from_state,
                                    to_state=to_state, actor_id=actor.id, at=now, amount_vnd=amount_vnd)
    transition.note = _clean(note, 2000) or None
    transition.audit_fields = [*audit_fields, *(["note"] if note else [])]  # written by _audit_moves
    db.session.add(transition)
    db.session.flush()
    return transition


def _audit_moves(actor: User, proposal: Proposal, *moves: ProposalTransition) -> None:
    """The audit events of the moves, written last: on PostgreSQL the audit chain takes a lock that
    every writer waits for, so money rows are always locked before it and never after (no deadlock)."""
    for move in moves:
        audit.record(f"proposal_{move.action}", object_type="proposal", object_id=proposal.id, actor=actor,
                     detail=move.to_state, fields=getattr(move, "audit_fields", ()))


def _require_state(proposal: Proposal, states: Iterable[str], message: LazyString) -> None:
    """StateError (409) unless the proposal is in one of ``states``; the message is translated only then."""
    if proposal.state not in tuple(states):
        raise StateError(str(message))


def _require_province_officer(actor: User, proposal: Proposal) -> None:
    if actor.role != Role.PROVINCE_OFFICER or actor.province_code != proposal.province_code:
        raise NotFound(_("Not found."))


def _require_other_than_drafter(actor: User, proposal: Proposal) -> None:
    # DESIGN §2: the person who drafted a proposal can never decide it (four-eyes).
    if actor.id in (proposal.drafted_by_id, proposal.last_edited_by_id):
        raise Forbidden(_("You drafted or changed this proposal, so another officer must decide it."))


def budget_for(province_code: str, year: int) -> Budget | None:
    return db.session.scalar(select(Budget).where(Budget.province_code == province_code, Budget.year == year))


def threshold_for(proposal: Proposal, budget: Budget | None) -> int | None:
    """The second-approval threshold a proposal is judged against: the one in force when it was
    submitted (stored on it) or the budget's current one, whichever is lower. Nobody can lift the
    rule from a proposal by changing the budget after it was submitted; a threshold set later still
    applies (None: no threshold in either)."""
    values = [v for v in (proposal.second_approval_above_vnd,
                          budget.second_approval_above_vnd if budget is not None else None) if v is not None]
    return min(values) if values else None
