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
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, Table, and_, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from casework import paging
from casework.auth.models import User
from casework.auth.roles import Role
from casework.errors import Forbidden, NotFound, StateError, ValidationError
from casework.extensions import db, execute_dml
from casework.geo import data as geo
from casework.models import utcnow
from casework.protect import audit
from casework.protect.attachments import NewAttachment, add_attachment
from casework.text import format_vnd, nfc
from livelihood import handover
from livelihood.models import (
    AGE_BANDS,
    ENTITLEMENTS,
    Appraisal,
    Budget,
    BudgetChange,
    Disbursement,
    MonitoringVisit,
    Proposal,
    ProposalLine,
    ProposalTransition,
    SupportEvent,
    Survivor,
    SurvivorSupport,
)
from livelihood.schemas import (
    ENTITLED_BY_STATUS,
    MAX_AMOUNT_VND,
    MAX_LINES,
    SCORE_CRITERIA,
    AppraisalIn,
    BudgetIn,
    DecisionIn,
    EventIn,
    ProposalIn,
    SurvivorChangeIn,
    SurvivorIn,
    TrancheIn,
    VisitIn,
    parse_day,
    parse_whole_number,
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
PAGE_SIZE = 25


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


# --- survivors ------------------------------------------------------------------------------------


def PersonInput(full_name: str, birth_year: object = None, sex: str = "female",
                ethnicity_code: str | None = None, phone: str | None = None) -> dict[str, object]:
    """Her identity for ``SurvivorInput`` (Python callers: the demo loader, tests)."""
    return {"full_name": full_name, "birth_year": birth_year, "sex": sex, "ethnicity_code": ethnicity_code,
            "phone": phone}


def SurvivorInput(person: object, commune_code: str | None, status: str, consent_record: bool,
                  consent_statistics: bool = False, consent_given_by: str = "self", status_on: object = None,
                  status_authority: str = "", household_size: object = None, monthly_income_vnd: object = None,
                  skills: str = "", assets: str = "", health: str = "", wishes: str = "",
                  supports_received: Sequence[str] = ()) -> SurvivorIn:
    """A ``SurvivorIn`` from the flat names of Python callers (the demo loader, tests), read by the schema."""
    return SurvivorIn.of(
        person=person, commune_code=commune_code, status=status, status_on=status_on,
        status_authority=status_authority,
        consent={"record": consent_record, "statistics": consent_statistics, "given_by": consent_given_by},
        survey={"household_size": household_size, "monthly_income_vnd": monthly_income_vnd, "skills": skills,
                "assets": assets, "health": health, "wishes": wishes},
        supports_received=tuple(supports_received))


def age_band(birth_year: int | None, on: date) -> str | None:
    if birth_year is None:
        return None
    age = on.year - birth_year
    for limit, band in ((18, "under_18"), (25, "18_24"), (35, "25_34"), (45, "35_44"), (60, "45_59")):
        if age < limit:
            return band
    return "60_plus"


def survivor_scope_errors(actor: User, new: SurvivorIn) -> Errors:
    """What the schema cannot know: a survivor is registered in the actor's own commune."""
    if new.commune_code and new.commune_code != actor.commune_code:
        return {"commune_code": [_("You can register survivors of your own commune only.")]}
    return {}


def _new_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
    for _attempt in range(10):
        code = "NV-" + "".join(secrets.choice(alphabet) for _i in range(6))
        if not db.session.scalar(select(Survivor.id).where(Survivor.code == code)):
            return code
    raise RuntimeError("could not draw a free survivor code")  # pragma: no cover - 32^6 codes


def _apply_survey(survivor: Survivor, new: SurvivorChangeIn) -> None:
    survivor.status = new.status
    survivor.status_on = new.status_on
    survivor.status_authority = new.status_authority
    survivor.household_size = new.survey.household_size
    survivor.monthly_income_vnd = new.survey.monthly_income_vnd
    for name in ("skills", "assets", "health", "wishes"):
        setattr(survivor, name, getattr(new.survey, name))


def _set_supports(actor: User, survivor: Survivor, items: Iterable[str]) -> None:
    wanted = set(items)
    for row in list(survivor.supports):
        if row.item not in wanted:
            survivor.supports.remove(row)
    have = {row.item for row in survivor.supports}
    for item in sorted(wanted - have, key=ENTITLEMENTS.index):
        survivor.supports.append(SurvivorSupport(item=item, recorded_by_id=actor.id))


def register_survivor(actor: User, new: SurvivorIn, *, audit_event: bool = True) -> Survivor:
    """List a survivor in the actor's commune (the schema has checked her consent to keep the record)."""
    if actor.role != Role.COMMUNE_OFFICER or not actor.commune_code:
        raise Forbidden(_("Only a commune officer can register a survivor."))
    _raise_if(survivor_scope_errors(actor, new))
    commune = geo.commune(new.commune_code or actor.commune_code)
    if commune is None:  # the actor's own commune: checked when the account was made
        raise ValidationError(_("Choose an existing commune code (5 digits)."),
                              {"commune_code": [_("Choose an existing commune code (5 digits).")]})
    p = new.person
    registered_on = today()
    survivor = Survivor(code=_new_code(), province_code=commune.province_code, commune_code=commune.code,
                        sex=p.sex, ethnicity_code=p.ethnicity_code,
                        age_band=age_band(p.birth_year, registered_on),
                        consent_record=True, consent_statistics=new.consent.statistics,
                        consent_given_by=new.consent.given_by, consent_at=utcnow(),
                        registered_on=registered_on, registered_by_id=actor.id)
    survivor.full_name = p.full_name
    survivor.phone = p.phone
    survivor.birth_year = str(p.birth_year) if p.birth_year is not None else None
    _apply_survey(survivor, new)
    db.session.add(survivor)
    _set_supports(actor, survivor, new.supports_received)
    db.session.flush()
    if audit_event:
        audit.record("survivor_create", object_type="survivor", object_id=survivor.id, actor=actor,
                     fields=["full_name", "phone", "birth_year", "status", "consent", "survey"])
    return survivor


def update_survivor(actor: User, survivor: Survivor, new: SurvivorChangeIn) -> Survivor:
    """Change her status, the needs survey and the support items received (identity stays)."""
    if not can_see_identity(actor, survivor):
        raise NotFound(_("Not found."))
    _apply_survey(survivor, new)
    survivor.consent_statistics = new.consent.statistics
    _set_supports(actor, survivor, new.supports_received)
    db.session.flush()
    audit.record("survivor_update", object_type="survivor", object_id=survivor.id, actor=actor,
                 fields=["status", "survey", "supports", "consent"])
    return survivor


def search_survivors(actor: User, query: str) -> list[Survivor]:
    """Her commune's survivors whose name matches every word of ``query`` (blind index, then exact)."""
    from casework.protect.fields import search

    if actor.role != Role.COMMUNE_OFFICER or not actor.province_code:
        return []
    rows = search(Survivor, "full_name", query, survivors_visible_to(actor), [actor.province_code])
    audit.record("survivor_search", object_type="survivor", actor=actor, detail=f"results:{len(rows)}")
    return rows


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


def _require_province_officer(actor: User, proposal: Proposal) -> None:
    if actor.role != Role.PROVINCE_OFFICER or actor.province_code != proposal.province_code:
        raise NotFound(_("Not found."))


def _require_other_than_drafter(actor: User, proposal: Proposal) -> None:
    # DESIGN §2: the person who drafted a proposal can never decide it (four-eyes).
    if actor.id in (proposal.drafted_by_id, proposal.last_edited_by_id):
        raise Forbidden(_("You drafted or changed this proposal, so another officer must decide it."))


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


# --- monitoring and completion -------------------------------------------------------------------


def VisitInput(visited_on: object, progress: str, income_before_vnd: object = None,
               income_after_vnd: object = None, funds_used_as_planned: bool | None = None, problems: str = "",
               notes: str = "") -> VisitIn:
    """A ``VisitIn`` from Python callers (the demo loader, tests), read by the schema."""
    return VisitIn.of(date=visited_on, progress=progress, income_before_vnd=income_before_vnd,
                      income_after_vnd=income_after_vnd, funds_used_as_planned=funds_used_as_planned,
                      problems=problems, notes=notes)


def record_visit(actor: User, proposal: Proposal, new: VisitIn,
                 photos: Sequence[NewAttachment] = ()) -> MonitoringVisit:
    """A commune officer records a monitoring visit to an approved proposal, with photos (re-encoded
    without their location data and encrypted by ``casework.protect.attachments``)."""
    if actor.role != Role.COMMUNE_OFFICER or actor.commune_code != proposal.commune_code:
        raise NotFound(_("Not found."))
    _require_state(proposal, MONITORED_STATES, _l("Monitoring visits are recorded once a proposal is approved."))
    visit = MonitoringVisit(proposal_id=proposal.id, visited_on=new.date, progress=new.progress,
                            income_before_vnd=new.income_before_vnd, income_after_vnd=new.income_after_vnd,
                            funds_used_as_planned=new.funds_used_as_planned, recorded_by_id=actor.id)
    visit.problems = new.problems
    visit.notes = new.notes
    db.session.add(visit)
    if proposal.state in ("approved", "disbursing"):
        # The next visit is due MONITORING_DAYS after the newest one (a visit typed in late does not move it back).
        due = new.date + timedelta(days=MONITORING_DAYS)
        if proposal.monitoring_due_on is None or due > proposal.monitoring_due_on:
            proposal.monitoring_due_on = due
    db.session.flush()
    audit.record("visit_create", object_type="proposal", object_id=proposal.id, actor=actor,
                 fields=["date", "progress", "income", *(["problems"] if new.problems else [])])
    for photo in photos:
        if photo.data:
            add_attachment(actor, visit, NewAttachment(data=photo.data, filename=photo.filename, kind="photo"))
    return visit


def EventInput(kind: str, held_on: object, completed: bool | None = None,
               description: str = "") -> EventIn:
    """An ``EventIn`` from Python callers (the demo loader, tests), read by the schema."""
    return EventIn.of(kind=kind, date=held_on, completed=completed, description=description)


def record_event(actor: User, survivor: Survivor, new: EventIn) -> SupportEvent:
    """Vocational training, job counselling or a market-linkage event (vietnam-domain §2.5)."""
    if not can_see_identity(actor, survivor):
        raise NotFound(_("Not found."))
    event = SupportEvent(survivor_id=survivor.id, kind=new.kind, held_on=new.date,
                         completed=new.completed if new.kind == "vocational_training" else None,
                         recorded_by_id=actor.id)
    event.description = new.description
    db.session.add(event)
    db.session.flush()
    audit.record("support_event_create", object_type="survivor", object_id=survivor.id, actor=actor,
                 detail=new.kind, fields=["kind", "date", *(["description"] if new.description else [])])
    return event


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


def budget_changes_visible_to(user: User) -> Select:
    """Changes of the user's province's budgets (province officers) or of every province (coordinators)."""
    query = select(BudgetChange).join(Budget, Budget.id == BudgetChange.budget_id)
    if user.role == Role.PROVINCE_OFFICER and user.province_code:
        return query.where(Budget.province_code == user.province_code)
    if user.role == Role.COORDINATOR:
        return query
    return query.where(false())


def pending_budget_changes(user: User) -> list[BudgetChange]:
    return list(db.session.scalars(budget_changes_visible_to(user).where(
        BudgetChange.state == "pending", BudgetChange.expires_at > utcnow()).order_by(BudgetChange.proposed_at)))


def get_budget_change_or_404(user: User, change_id: str) -> BudgetChange:
    from casework.auth.policy import deny

    change = None
    if _opaque(change_id):
        change = db.session.scalar(budget_changes_visible_to(user).where(BudgetChange.id == change_id))
    if change is None:
        deny("budget_change", _opaque(change_id))
    return change  # type: ignore[return-value]


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


# --- reading --------------------------------------------------------------------------------------


def transitions_of(proposal: Proposal) -> list[ProposalTransition]:
    return list(db.session.scalars(select(ProposalTransition).where(ProposalTransition.proposal_id == proposal.id)
                                   .order_by(ProposalTransition.at, ProposalTransition.id)))


def appraisals_of(proposal: Proposal) -> list[Appraisal]:
    return list(db.session.scalars(select(Appraisal).where(Appraisal.proposal_id == proposal.id)
                                   .order_by(Appraisal.at)))


def disbursements_of(proposal: Proposal) -> list[Disbursement]:
    return list(db.session.scalars(select(Disbursement).where(Disbursement.proposal_id == proposal.id)
                                   .order_by(Disbursement.paid_on, Disbursement.recorded_at)))


def visits_of(proposal: Proposal) -> list[MonitoringVisit]:
    return list(db.session.scalars(select(MonitoringVisit).where(MonitoringVisit.proposal_id == proposal.id)
                                   .order_by(MonitoringVisit.visited_on, MonitoringVisit.recorded_at)))


def attachments_by_owner(owners: Iterable[Disbursement | MonitoringVisit]) -> dict[str, list]:
    """The attachments (metadata only) of each tranche or visit, by owner id."""
    from casework.protect.attachments import attachments_of

    return {o.id: attachments_of(o) for o in owners}


def find_owner(proposal: Proposal, kind: str, owner_id: str) -> Disbursement | MonitoringVisit | None:
    """A tranche (``kind`` "receipt") or visit ("photo") of this proposal, or None."""
    owners: dict[str, type[Disbursement] | type[MonitoringVisit]] = {"receipt": Disbursement,
                                                                     "photo": MonitoringVisit}
    model = owners.get(kind)
    if model is None or not _opaque(owner_id):
        return None
    found = db.session.scalar(select(model).where(model.id == owner_id, model.proposal_id == proposal.id))
    return cast("Disbursement | MonitoringVisit | None", found)


def events_of(survivor: Survivor) -> list[SupportEvent]:
    return list(db.session.scalars(select(SupportEvent).where(SupportEvent.survivor_id == survivor.id)
                                   .order_by(SupportEvent.held_on, SupportEvent.recorded_at)))


def proposals_of(user: User, survivor: Survivor) -> list[Proposal]:
    return list(db.session.scalars(proposals_visible_to(user).where(Proposal.survivor_id == survivor.id)
                                   .order_by(Proposal.created_at.desc())))


def proposal_counts(user: User) -> dict[str, int]:
    """Proposals the user can see, by state."""
    sub = proposals_visible_to(user).subquery()
    rows = db.session.execute(select(sub.c.state, func.count()).group_by(sub.c.state))
    return {state: n for state, n in rows}


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


__all__ = [
    "AGE_BANDS", "ENTITLED_BY_STATUS", "MAX_AMOUNT_VND", "MAX_LINES", "SCORE_CRITERIA", "AppraisalInput", "BudgetInput",
    "DecisionInput", "DisbursementInput", "EventInput", "LineInput", "Page", "PersonInput", "ProposalInput",
    "SurvivorInput", "VisitInput", "age_band", "appraise_proposal", "budget_for", "can_see_identity", "close_proposal",
    "complete_proposal", "confirm_budget_change", "confirm_tranche", "decide_proposal", "disburse", "draft_proposal",
    "get_proposal_or_404", "get_survivor_or_404", "parse_day", "parse_whole_number", "proposals_visible_to",
    "record_event", "record_visit", "register_survivor", "revise_proposal", "set_budget", "submit_proposal",
    "survivors_visible_to", "today",
]
