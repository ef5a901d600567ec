"""Proposals: totals, every transition and every illegal one, the four-eyes rule, the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from casework.errors import Forbidden, StateError, ValidationError
from casework.extensions import db
from casework.protect.audit import AuditEvent
from livelihood import services
from livelihood.models import PROPOSAL_STATES, Proposal, ProposalTransition
from tests.livelihood.conftest import lines


def _transitions(proposal) -> list[tuple[str, str, str]]:
    return [(t.action, t.from_state, t.to_state) for t in services.transitions_of(proposal)]


def _events(proposal) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "proposal", AuditEvent.object_id == proposal.id).order_by(AuditEvent.id)))


# --- money ----------------------------------------------------------------------------------------


def test_totals_are_computed_from_the_lines(officers, make_survivor):
    survivor = make_survivor()
    proposal = services.draft_proposal(officers.user(officers.commune), survivor, services.ProposalInput(
        kind="livestock", title="Nuôi lợn", lines=lines(("Lợn giống", 2, 4_500_000, 1_000_000), ("Cám", 10, 400_000))))
    assert proposal.total_vnd == 13_000_000
    assert proposal.co_contribution_vnd == 1_000_000
    assert proposal.requested_vnd == 12_000_000
    assert [ln.total_vnd for ln in proposal.lines] == [9_000_000, 4_000_000]


@pytest.mark.parametrize(("quantity", "cost"), [(0, 100_000), (-1, 100_000), (1, 0), (1, -5), (1.5, 100_000),
                                                 (1, 100_000.5), (1, "1,5"), (1, "abc")])
def test_zero_negative_or_decimal_quantities_and_costs_are_refused(officers, make_survivor, quantity, cost):
    survivor = make_survivor()
    with pytest.raises(ValidationError) as e:
        services.draft_proposal(officers.user(officers.commune), survivor, services.ProposalInput(
            kind="livestock", title="Nuôi lợn", lines=(services.LineInput("Lợn", quantity, cost),)))
    assert set(e.value.fields) & {"budget_lines.0.quantity", "budget_lines.0.unit_cost_vnd"}
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(Proposal)) == 0


def test_vietnamese_thousand_separators_are_read_as_whole_dong():
    assert services.parse_whole_number("1.500.000") == 1_500_000
    assert services.parse_whole_number("1 500 000 ₫") == 1_500_000
    with pytest.raises(ValueError, match="thập phân"):
        services.parse_whole_number("1,5")
    with pytest.raises(ValueError, match="thập phân"):
        services.parse_whole_number(2.0)


def test_own_contribution_above_the_line_total_is_refused(officers, make_survivor):
    with pytest.raises(ValidationError) as e:
        services.draft_proposal(officers.user(officers.commune), make_survivor(), services.ProposalInput(
            kind="crops", title="Trồng gừng", lines=lines(("Giống", 1, 100_000, 200_000))))
    assert "budget_lines.0.co_contribution_vnd" in e.value.fields


def test_proposal_without_lines_is_refused(officers, make_survivor):
    with pytest.raises(ValidationError) as e:
        services.draft_proposal(officers.user(officers.commune), make_survivor(), services.ProposalInput(
            kind="crops", title="Trồng gừng", lines=()))
    assert "budget_lines" in e.value.fields


# --- transitions ------------------------------------------------------------------------------------


def test_full_path_records_every_transition_with_actor_and_audit(officers, make_proposal, make_budget):
    make_budget()
    proposal = make_proposal("completed")
    assert proposal.state == "completed"
    assert _transitions(proposal) == [
        ("submit", "draft", "submitted"),
        ("start_appraisal", "submitted", "under_appraisal"),
        ("approve", "under_appraisal", "approved"),
        ("disburse", "approved", "disbursing"),
        ("complete", "disbursing", "completed"),
    ]
    actors = [t.actor_id for t in services.transitions_of(proposal)]
    # The tranche is recorded by the second province officer (the approver's own would wait for one).
    assert actors == [officers.commune.id, officers.province.id, officers.province.id, officers.second_province.id,
                      officers.commune.id]
    assert _events(proposal) == ["proposal_create", "proposal_submit", "proposal_start_appraisal",
                                 "proposal_approve", "proposal_disburse", "disbursement_create", "proposal_complete"]


def test_return_then_revise_and_resubmit(officers, make_proposal):
    proposal = make_proposal("returned")
    assert proposal.state == "returned"
    returned = services.transitions_of(proposal)[-1]
    assert (returned.action, returned.note) == ("return", "Ghi rõ nơi bán")
    commune_officer = officers.user(officers.commune)
    services.revise_proposal(commune_officer, proposal, services.ProposalInput(
        kind="livestock", title="Nuôi lợn nái (sửa)", lines=lines(("Lợn giống", 1, 4_500_000))))
    services.submit_proposal(commune_officer, proposal)
    assert proposal.state == "submitted"
    assert _transitions(proposal)[-1] == ("resubmit", "returned", "submitted")


def test_reject_is_final(officers, make_proposal):
    proposal = make_proposal("rejected")
    assert proposal.state == "rejected"
    with pytest.raises(StateError):
        services.submit_proposal(officers.user(officers.commune), proposal)
    with pytest.raises(StateError):
        services.decide_proposal(officers.user(officers.province), proposal,
                                 services.DecisionInput("approve", proposal.requested_vnd))


def test_commune_officer_withdraws_a_draft(officers, make_proposal):
    proposal = make_proposal("draft")
    services.close_proposal(officers.user(officers.commune), proposal, "Chị đã chuyển đi nơi khác")
    assert proposal.state == "closed"
    assert _transitions(proposal) == [("close", "draft", "closed")]


def test_province_officer_closes_an_approved_proposal_and_money_returns(officers, make_proposal, make_budget):
    budget = make_budget(50_000_000)
    proposal = make_proposal("disbursing", approve=10_000_000)
    services.close_proposal(officers.user(officers.province), proposal, "Dừng hỗ trợ")
    db.session.commit()
    db.session.refresh(budget)
    assert proposal.state == "closed"
    assert proposal.committed_vnd == proposal.disbursed_vnd == 1_000_000
    assert (budget.committed_vnd, budget.disbursed_vnd) == (1_000_000, 1_000_000)


ILLEGAL = [
    # (state, action) pairs that must answer StateError (409)
    ("submitted", "submit"), ("under_appraisal", "submit"), ("approved", "submit"), ("rejected", "submit"),
    ("draft", "decide"), ("returned", "decide"), ("approved", "decide"), ("rejected", "decide"),
    ("completed", "decide"), ("draft", "disburse"), ("submitted", "disburse"), ("rejected", "disburse"),
    ("completed", "disburse"), ("draft", "visit"), ("submitted", "visit"), ("draft", "complete"),
    ("approved", "complete"), ("completed", "complete"), ("approved", "edit"), ("submitted", "edit"),
    ("draft", "appraise"), ("approved", "appraise"), ("submitted", "province_close"),
    ("completed", "province_close"), ("approved", "commune_close"),
]


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_illegal_transition_is_a_state_error(officers, make_proposal, make_budget, state, action):
    make_budget()
    proposal = make_proposal(state)
    commune_officer, province_officer = officers.user(officers.commune), officers.user(officers.province)
    calls = {
        "submit": lambda: services.submit_proposal(commune_officer, proposal),
        "decide": lambda: services.decide_proposal(province_officer, proposal, services.DecisionInput(
            "approve", proposal.requested_vnd)),
        "disburse": lambda: services.disburse(province_officer, proposal, services.DisbursementInput(
            1_000, services.today(), "cash")),
        "visit": lambda: services.record_visit(commune_officer, proposal, services.VisitInput(
            services.today(), "on_track")),
        "complete": lambda: services.complete_proposal(commune_officer, proposal, "self_reliant"),
        "edit": lambda: services.revise_proposal(commune_officer, proposal, services.ProposalInput(
            kind="crops", title="x", lines=lines())),
        "appraise": lambda: services.appraise_proposal(province_officer, proposal, services.AppraisalInput(
            3, 3, 3, 3, 3)),
        "province_close": lambda: services.close_proposal(province_officer, proposal, "lý do"),
        "commune_close": lambda: services.close_proposal(commune_officer, proposal, "lý do"),
    }
    before = _transitions(proposal)
    with pytest.raises(StateError) as e:
        calls[action]()
    assert e.value.status == 409
    db.session.rollback()
    db.session.refresh(proposal)
    assert proposal.state == state
    assert _transitions(proposal) == before


def test_every_state_is_reachable(make_proposal, make_budget, officers):
    make_budget()
    reached = {make_proposal(s).state for s in ("draft", "submitted", "under_appraisal", "returned", "approved",
                                                 "rejected", "disbursing", "completed")}
    closed = make_proposal("draft")
    services.close_proposal(officers.user(officers.commune), closed, "rút")
    reached.add(closed.state)
    assert reached == set(PROPOSAL_STATES)


def test_stale_state_is_refused_by_compare_and_set(officers, make_proposal):
    """Someone else moved the proposal after we read it: our move must not happen."""
    proposal = make_proposal("submitted")
    db.session.execute(update(Proposal.__table__).where(Proposal.__table__.c.id == proposal.id)
                       .values(state="under_appraisal"))
    # The in-memory object still says "submitted"; deciding to return it must refuse, not overwrite.
    with pytest.raises(StateError):
        services.start_appraisal(officers.user(officers.province), proposal)


# --- decisions and four eyes --------------------------------------------------------------------------


def test_approved_amount_may_be_less_but_never_more_than_requested(officers, make_proposal, make_budget):
    make_budget()
    proposal = make_proposal("submitted")
    province_officer = officers.user(officers.province)
    with pytest.raises(ValidationError) as e:
        services.decide_proposal(province_officer, proposal, services.DecisionInput(
            "approve", proposal.requested_vnd + 1))
    assert "approved_amount_vnd" in e.value.fields
    db.session.rollback()
    db.session.refresh(proposal)
    services.decide_proposal(province_officer, proposal, services.DecisionInput("approve", 5_000_000))
    assert (proposal.state, proposal.approved_amount_vnd, proposal.committed_vnd) == ("approved", 5_000_000, 5_000_000)


def test_return_and_reject_need_a_note(officers, make_proposal):
    proposal = make_proposal("submitted")
    for decision in ("return", "reject"):
        with pytest.raises(ValidationError) as e:
            services.decide_proposal(officers.user(officers.province), proposal, services.DecisionInput(decision))
        assert "note" in e.value.fields


def test_drafter_can_never_decide_her_own_proposal(officers, make_survivor, make_budget):
    """A commune officer moved to the province keeps her old drafts out of her own hands."""
    make_budget()
    proposal = services.draft_proposal(officers.user(officers.commune), make_survivor(), services.ProposalInput(
        kind="crops", title="Trồng gừng", lines=lines()))
    services.submit_proposal(officers.user(officers.commune), proposal)
    db.session.commit()
    drafter = officers.user(officers.commune)
    drafter.role, drafter.commune_code = "province_officer", None
    db.session.commit()
    for call in (lambda: services.decide_proposal(drafter, proposal, services.DecisionInput("approve", 1_000)),
                 lambda: services.start_appraisal(drafter, proposal),
                 lambda: services.appraise_proposal(drafter, proposal, services.AppraisalInput(3, 3, 3, 3, 3))):
        with pytest.raises(Forbidden):
            call()
        db.session.rollback()
    db.session.refresh(proposal)
    assert proposal.state == "submitted"


def test_above_threshold_needs_a_second_different_officer(officers, make_proposal, make_budget):
    budget = make_budget(100_000_000, second_above=5_000_000)
    proposal = make_proposal("submitted")
    first, second = officers.user(officers.province), officers.user(officers.second_province)
    services.decide_proposal(first, proposal, services.DecisionInput("approve", 8_000_000, "đồng ý"))
    db.session.commit()
    assert proposal.state == "under_appraisal" and proposal.awaiting_second_approval
    db.session.refresh(budget)
    assert budget.committed_vnd == 0  # nothing is committed on the first approval
    with pytest.raises(Forbidden):
        services.decide_proposal(first, proposal, services.DecisionInput("approve", 8_000_000))
    db.session.rollback()
    with pytest.raises(ValidationError):  # the second officer cannot raise the first one's amount
        services.decide_proposal(second, proposal, services.DecisionInput("approve", 9_000_000))
    db.session.rollback()
    services.decide_proposal(second, proposal, services.DecisionInput("approve", 7_500_000))
    db.session.commit()
    db.session.refresh(budget)
    assert (proposal.state, proposal.approved_amount_vnd, budget.committed_vnd) == ("approved", 7_500_000, 7_500_000)
    assert [t[0] for t in _transitions(proposal)][-2:] == ["approve_first", "approve"]


def test_below_threshold_one_approval_is_enough(officers, make_proposal, make_budget):
    make_budget(100_000_000, second_above=50_000_000)
    proposal = make_proposal("submitted")
    services.decide_proposal(officers.user(officers.province), proposal, services.DecisionInput("approve", 8_000_000))
    assert proposal.state == "approved"


def test_return_clears_a_first_approval(officers, make_proposal, make_budget):
    make_budget(100_000_000, second_above=1_000_000)
    proposal = make_proposal("submitted")
    services.decide_proposal(officers.user(officers.province), proposal, services.DecisionInput("approve", 8_000_000))
    services.decide_proposal(officers.user(officers.second_province), proposal,
                             services.DecisionInput("return", note="Bớt chi phí"))
    assert proposal.state == "returned" and proposal.first_approved_by_id is None


def test_transition_notes_are_encrypted_and_audit_holds_no_text(officers, make_proposal):
    proposal = make_proposal("returned")
    raw = db.session.execute(select(ProposalTransition.__table__.c.note_ct).where(
        ProposalTransition.__table__.c.proposal_id == proposal.id, ProposalTransition.__table__.c.action == "return")
    ).scalar_one()
    assert "Ghi rõ".encode() not in raw
    for event in db.session.scalars(select(AuditEvent)):
        text = " ".join(str(getattr(event, c) or "") for c in ("action", "object_id", "fields", "detail"))
        assert "Ghi" not in text and "Demo" not in text and "Nuôi" not in text
