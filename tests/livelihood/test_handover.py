"""Hand-overs of a livelihood proposal (issue 13): the province hears of a submission, a second officer of a
first approval, the drafter of the decision; the queue shows the second approval to the other officer only."""

from __future__ import annotations

from casework import notify, work
from casework.extensions import db
from livelihood import services


def kinds(officers, account) -> list[str]:
    db.session.expire_all()
    return [n.kind for n in notify.notifications_for(officers.user(account)).items]


def test_a_submitted_proposal_notifies_the_officers_of_its_province_only(officers, make_proposal):
    proposal = make_proposal("submitted")
    assert "proposal_submitted" in kinds(officers, officers.province)
    assert "proposal_submitted" in kinds(officers, officers.second_province)
    assert "proposal_submitted" not in kinds(officers, officers.other_province)
    notes = notify.notifications_for(officers.user(officers.province)).items
    assert all(n.object_id == proposal.id and "Nuôi lợn" not in notify.message(n) for n in notes)


def test_first_approval_reaches_the_second_officer_and_her_queue_not_the_first(officers, make_proposal, make_budget):
    make_budget(100_000_000, second_above=1_000_000)
    proposal = make_proposal("submitted", line_specs=None)
    first = officers.user(officers.province)
    services.decide_proposal(first, proposal, services.DecisionInput(
        decision="approve", approved_amount_vnd=proposal.requested_vnd))
    db.session.commit()
    assert proposal.state == "under_appraisal" and proposal.first_approved_by_id == first.id
    assert "proposal_second_approval" in kinds(officers, officers.second_province)
    assert "proposal_second_approval" not in kinds(officers, officers.province)
    second_queue = work.work_for(officers.user(officers.second_province)).items
    assert [(i.kind, i.object_id) for i in second_queue] == [("proposal_second_approval", proposal.id)]
    first_queue = work.work_for(first).items
    assert all(i.object_id != proposal.id for i in first_queue)


def test_the_drafter_hears_the_decision(officers, make_proposal):
    make_proposal("returned")
    assert "proposal_returned" in kinds(officers, officers.commune)
    queue = work.work_for(officers.user(officers.commune)).items
    assert [i.kind for i in queue] == ["proposal_revision"]


def test_a_budget_change_reaches_the_other_officers_queue_and_notifications(officers, make_budget):
    budget = make_budget(100_000_000)
    outcome = services.set_budget(officers.user(officers.province), services.BudgetInput(
        province_code=budget.province_code, year=budget.year, amount_vnd=120_000_000,
        second_approval_above_vnd=None))
    db.session.commit()
    assert outcome.status == "pending"
    second = officers.user(officers.second_province)
    assert [(i.kind, i.object_id) for i in work.work_for(second).items] == [
        ("budget_change_confirm", outcome.change.id)]
    assert "budget_change_pending" in kinds(officers, officers.second_province)
    assert work.work_for(officers.user(officers.province)).items == []


def test_a_tranche_recorded_by_the_approver_waits_in_the_other_officers_queue(officers, make_proposal, make_budget):
    make_budget(100_000_000)
    proposal = make_proposal("approved")
    approver = officers.user(officers.province)
    tranche = services.disburse(approver, proposal, services.DisbursementInput(
        amount_vnd=1_000_000, paid_on=services.today(), form="cash", handed_over_by="Cán bộ A"))
    db.session.commit()
    assert tranche.state == "pending"
    queue = work.work_for(officers.user(officers.second_province)).items
    assert ("tranche_confirm", tranche.id) in [(i.kind, i.object_id) for i in queue]
    assert all(i.kind != "tranche_confirm" for i in work.work_for(approver).items)
    assert "tranche_pending" in kinds(officers, officers.second_province)
