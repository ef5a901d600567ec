"""What the livelihood services share: their errors, the records of a read, the compare-and-set state moves
of a proposal with their transition rows and audit events, and the budget and second-approval threshold a
proposal is judged against. Who sees which survivor, proposal and budget is ``livelihood.policy``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import cast

from flask_babel import LazyString
from flask_babel import gettext as _
from sqlalchemy import Table, select, update
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
