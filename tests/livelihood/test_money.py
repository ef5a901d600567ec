"""Budget and disbursement limits, including two approvals at the same moment on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from casework.auth.models import User
from casework.errors import NotFound, StateError, ValidationError
from casework.extensions import db
from livelihood import services
from livelihood.models import Budget, Disbursement, Proposal
from tests.conftest import PG_URL


def _refresh(*objects):
    for obj in objects:
        db.session.refresh(obj)


# --- budget ---------------------------------------------------------------------------------------


def test_approval_over_the_budget_is_refused_with_what_is_left(officers, make_proposal, make_budget):
    budget = make_budget(20_000_000)
    first = make_proposal("submitted")  # requests 13,000,000
    second = make_proposal("submitted")
    province_officer = officers.user(officers.province)
    services.decide_proposal(province_officer, first, services.DecisionInput("approve", 13_000_000))
    db.session.commit()
    with pytest.raises(ValidationError) as e:
        services.decide_proposal(province_officer, second, services.DecisionInput("approve", 13_000_000))
    message = e.value.fields["approved_amount_vnd"][0]
    assert "7.000.000 ₫" in message and "20.000.000 ₫" in message
    db.session.rollback()
    _refresh(budget, second)
    assert budget.committed_vnd == 13_000_000
    assert second.state == "submitted"  # nothing of the refused approval was kept
    # Less money fits: it may be approved for what is left.
    services.decide_proposal(province_officer, second, services.DecisionInput("approve", 7_000_000))
    db.session.commit()
    _refresh(budget)
    assert budget.committed_vnd == budget.amount_vnd == 20_000_000


def test_approval_without_a_budget_for_the_year_is_refused(officers, make_proposal):
    proposal = make_proposal("submitted")
    with pytest.raises(ValidationError) as e:
        services.decide_proposal(officers.user(officers.province), proposal, services.DecisionInput("approve", 1_000))
    assert "approved_amount_vnd" in e.value.fields


def test_budget_is_per_province(officers, make_proposal, make_budget):
    make_budget(1_000_000_000, account=officers.other_province)
    proposal = make_proposal("submitted")
    with pytest.raises(ValidationError):  # province 19 has no budget; province 11's money is not hers
        services.decide_proposal(officers.user(officers.province), proposal, services.DecisionInput("approve", 1_000))


def test_allocation_cannot_drop_below_committed(officers, make_proposal, make_budget):
    budget = make_budget(20_000_000)
    make_proposal("approved", approve=12_000_000)
    actor = officers.user(officers.province)
    with pytest.raises(ValidationError) as e:
        services.set_budget(actor, services.BudgetInput("19", budget.year, 11_999_999))
    assert "12.000.000 ₫" in e.value.fields["amount_vnd"][0]
    db.session.rollback()
    # Updated for issue 12: a change is proposed (pending) and takes effect when a second officer confirms.
    outcome = services.set_budget(actor, services.BudgetInput("19", budget.year, 12_000_000))
    assert (outcome.budget.id, outcome.status, outcome.budget.amount_vnd) == (budget.id, "pending", 20_000_000)
    services.confirm_budget_change(officers.user(officers.second_province), outcome.change)
    db.session.commit()
    _refresh(budget)
    assert budget.amount_vnd == 12_000_000


def test_officer_cannot_set_another_provinces_budget(officers):
    with pytest.raises(NotFound):
        services.set_budget(officers.user(officers.province), services.BudgetInput("11", 2026, 1_000_000))


@pytest.mark.parametrize("amount", [0, -1, 1.5, "1,5", None])
def test_budget_amount_must_be_a_positive_whole_number(officers, amount):
    with pytest.raises(ValidationError) as e:
        services.set_budget(officers.user(officers.province), services.BudgetInput("19", services.today().year, amount))
    assert "amount_vnd" in e.value.fields


def test_committed_and_disbursed_follow_the_proposals(officers, make_proposal, make_budget):
    budget = make_budget(100_000_000)
    a = make_proposal("approved", approve=10_000_000)
    b = make_proposal("disbursing", approve=8_000_000)  # 1,000,000 paid
    c = make_proposal("completed", approve=5_000_000)  # 1,000,000 paid, the rest released
    _refresh(budget)
    assert budget.committed_vnd == 10_000_000 + 8_000_000 + 1_000_000
    assert budget.disbursed_vnd == 2_000_000
    sums = db.session.execute(select(func.sum(Proposal.committed_vnd), func.sum(Proposal.disbursed_vnd))
                              .where(Proposal.budget_id == budget.id)).one()
    assert tuple(sums) == (budget.committed_vnd, budget.disbursed_vnd)
    assert db.session.scalar(select(func.sum(Disbursement.amount_vnd))) == budget.disbursed_vnd
    assert (a.state, b.state, c.state) == ("approved", "disbursing", "completed")


# --- disbursement ---------------------------------------------------------------------------------


def test_tranches_never_exceed_the_approved_amount(officers, make_proposal, make_budget):
    make_budget()
    proposal = make_proposal("approved", approve=5_000_000)
    actor = officers.user(officers.second_province)  # not the approver: her tranches count at once
    services.disburse(actor, proposal, services.DisbursementInput(3_000_000, services.today(), "cash"))
    db.session.commit()
    assert proposal.state == "disbursing"
    with pytest.raises(ValidationError) as e:
        services.disburse(actor, proposal, services.DisbursementInput(2_000_001, services.today(), "cash"))
    assert "2.000.000 ₫" in e.value.fields["amount_vnd"][0]
    db.session.rollback()
    _refresh(proposal)
    assert proposal.disbursed_vnd == 3_000_000
    services.disburse(actor, proposal, services.DisbursementInput(2_000_000, services.today(), "in_kind",
                                                                  items="2 con lợn giống"))
    assert (proposal.disbursed_vnd, proposal.remaining_vnd) == (5_000_000, 0)


@pytest.mark.parametrize(("field", "values"), [
    ("amount_vnd", {"amount_vnd": 0}), ("amount_vnd", {"amount_vnd": -5}), ("amount_vnd", {"amount_vnd": 1.5}),
    ("date", {"paid_on": "31/02/2026"}), ("date", {"paid_on": "2999-01-01"}), ("form", {"form": "cheque"}),
    ("items", {"form": "in_kind"}),
])
def test_bad_tranche_is_refused_and_nothing_is_stored(officers, make_proposal, make_budget, field, values):
    make_budget()
    proposal = make_proposal("approved")
    data = {"amount_vnd": 1_000, "paid_on": services.today(), "form": "cash", **values}
    with pytest.raises(ValidationError) as e:
        services.disburse(officers.user(officers.province), proposal, services.DisbursementInput(**data))
    assert field in e.value.fields
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Disbursement)) == 0


def test_completion_releases_unpaid_money(officers, make_proposal, make_budget):
    budget = make_budget(50_000_000)
    proposal = make_proposal("completed", approve=9_000_000)
    _refresh(budget, proposal)
    assert proposal.outcome == "self_reliant"
    assert proposal.committed_vnd == proposal.disbursed_vnd == 1_000_000
    assert budget.committed_vnd == 1_000_000


# --- monitoring -----------------------------------------------------------------------------------


def test_monitoring_visit_records_income_before_and_after(officers, make_proposal, make_budget):
    make_budget()
    proposal = make_proposal("disbursing")
    visit = services.record_visit(officers.user(officers.commune), proposal, services.VisitInput(
        visited_on="05/01/2026", progress="on_track", income_before_vnd="1.200.000", income_after_vnd=2_000_000,
        funds_used_as_planned=True, problems="Lợn bị ốm một tuần"))
    assert (visit.income_before_vnd, visit.income_after_vnd) == (1_200_000, 2_000_000)
    assert visit.funds_used_as_planned is True
    assert visit.problems == "Lợn bị ốm một tuần"
    assert services.visits_of(proposal) == [visit]


def test_monitoring_visit_in_the_future_is_refused(officers, make_proposal, make_budget):
    make_budget()
    proposal = make_proposal("approved")
    with pytest.raises(ValidationError) as e:
        services.record_visit(officers.user(officers.commune), proposal, services.VisitInput("2999-01-01", "delayed"))
    assert "date" in e.value.fields


def test_only_the_communes_officer_records_visits(officers, make_proposal, make_budget):
    make_budget()
    proposal = make_proposal("approved")
    for account in (officers.other_commune, officers.province):
        with pytest.raises(NotFound):
            services.record_visit(officers.user(account), proposal, services.VisitInput(services.today(), "delayed"))


def test_support_events_are_recorded_per_survivor(officers, make_survivor):
    survivor = make_survivor()
    actor = officers.user(officers.commune)
    services.record_event(actor, survivor, services.EventInput("vocational_training", services.today(), True, "May"))
    services.record_event(actor, survivor, services.EventInput("job_counselling", services.today()))
    services.record_event(actor, survivor, services.EventInput("market_linkage", services.today()))
    assert [(e.kind, e.completed) for e in services.events_of(survivor)] == [
        ("vocational_training", True), ("job_counselling", None), ("market_linkage", None)]
    with pytest.raises(ValidationError):
        services.record_event(actor, survivor, services.EventInput("party", services.today()))


# --- concurrency ------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL.startswith("postgresql"),
                    reason="concurrent transactions need PostgreSQL (TEST_DATABASE_URL); SQLite serialises writers")
def test_two_approvals_at_the_same_moment_never_overspend(app, officers, make_proposal, make_budget):
    """Each proposal fits the budget alone, both together do not: exactly one approval wins."""
    budget = make_budget(20_000_000)
    ids = [make_proposal("submitted").id, make_proposal("submitted").id]  # 13,000,000 each
    officer_ids = [officers.province.id, officers.second_province.id]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def approve(proposal_id: str, officer_id: str) -> None:
        with app.app_context(), app.test_request_context("/"):
            try:
                actor = db.session.get(User, officer_id)
                proposal = db.session.get(Proposal, proposal_id)
                barrier.wait(timeout=10)
                services.decide_proposal(actor, proposal, services.DecisionInput("approve", 13_000_000))
                db.session.commit()
                result = "approved"
            except (ValidationError, StateError) as e:
                db.session.rollback()
                result = f"refused:{e.status}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    for _round in range(3):  # a few rounds, each with fresh proposals, to give the race its chances
        threads = [threading.Thread(target=approve, args=pair) for pair in zip(ids, officer_ids, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcomes) == ["approved", "refused:422"]
        db.session.expire_all()
        assert db.session.get(Budget, budget.id).committed_vnd == 13_000_000
        states = sorted(db.session.get(Proposal, i).state for i in ids)
        assert states == ["approved", "submitted"]
        # Reset for the next round: release the approved one, make two new submitted proposals.
        approved = next(db.session.get(Proposal, i) for i in ids if db.session.get(Proposal, i).state == "approved")
        services.close_proposal(officers.user(officers.province), approved, "thử lại")
        db.session.commit()
        ids = [make_proposal("submitted").id, make_proposal("submitted").id]
        outcomes.clear()
        barrier.reset()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL.startswith("postgresql"),
                    reason="concurrent transactions need PostgreSQL (TEST_DATABASE_URL); SQLite serialises writers")
def test_two_tranches_at_the_same_moment_never_pass_the_approved_amount(app, officers, make_proposal, make_budget):
    make_budget()
    proposal_id = make_proposal("approved", approve=5_000_000).id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def pay(officer_id: str) -> None:
        with app.app_context(), app.test_request_context("/"):
            try:
                actor = db.session.get(User, officer_id)
                proposal = db.session.get(Proposal, proposal_id)
                barrier.wait(timeout=10)
                services.disburse(actor, proposal, services.DisbursementInput(3_000_000, services.today(), "cash"))
                db.session.commit()
                outcomes.append("paid")
            except (ValidationError, StateError) as e:
                db.session.rollback()
                outcomes.append(f"refused:{e.status}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=pay, args=(oid,)) for oid in (officers.province.id, officers.second_province.id)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # The loser sees either the money limit (422) or the state it did not expect (409): never both paid.
    assert outcomes.count("paid") == 1
    db.session.expire_all()
    # Issue 12: the approver's own tranche waits for a second officer (pending), the other counts at
    # once; either way only one of them was kept.
    proposal = db.session.get(Proposal, proposal_id)
    assert proposal.disbursed_vnd + proposal.pending_disbursement_vnd == 3_000_000
