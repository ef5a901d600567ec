"""Four-eyes that cannot be walked around (issue 12): a budget change is itself a two-person action, a
proposal keeps the threshold in force when it was submitted, and the officer who approved a proposal
does not record its money alone. Each attack of the issue is scripted from its first step to its last."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from casework.auth.models import User
from casework.errors import Forbidden, StateError, ValidationError
from casework.extensions import db
from casework.protect.audit import AuditEvent
from livelihood import services
from livelihood.models import Budget, BudgetChange, Disbursement, Proposal
from tests.conftest import PG_URL
from tests.livelihood.conftest import api_token


def _year() -> int:
    return services.today().year


@pytest.fixture
def api(client, officers):
    return {"province": api_token(client, officers.province), "second": api_token(client, officers.second_province),
            "other_province": api_token(client, officers.other_province),
            "commune": api_token(client, officers.commune)}


@pytest.fixture
def coordinator(make_user):
    return make_user("coordinator", username="dieuphoi")


def _denied(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == action, AuditEvent.outcome == "denied"))


# --- the attack of the issue: clear the threshold, approve again alone, restore it -------------------


def test_clearing_the_threshold_then_approving_again_alone_still_needs_a_second_officer(
        client, api, officers, make_proposal, make_budget, coordinator):
    budget = make_budget(100_000_000, second_above=5_000_000)
    proposal = make_proposal("submitted")  # asks 13,000,000
    decide = f"/api/v1/proposals/{proposal.id}/decision"
    approve = {"decision": "approve", "approved_amount_vnd": 13_000_000}
    # Step 1: her first approval leaves the proposal awaiting a second one.
    r = client.post(decide, headers=api["province"], json=approve)
    assert r.get_json()["state"] == "under_appraisal" and r.get_json()["awaiting_second_approval"]
    # Step 2: she posts the budget again without the threshold: only a pending proposal, nothing changes.
    r = client.post("/api/v1/budgets", headers=api["province"],
                    json={"province_code": "19", "year": _year(), "amount_vnd": 100_000_000})
    assert r.status_code == 202 and r.get_json()["state"] == "pending"
    change_id = r.get_json()["id"]
    db.session.expire_all()
    assert db.session.get(Budget, budget.id).second_approval_above_vnd == 5_000_000
    # Step 3: she cannot confirm her own change.
    r = client.post(f"/api/v1/budget-changes/{change_id}/confirm", headers=api["province"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (403, "second_person_required")
    assert _denied("budget_change_confirm") == 1
    # Step 4: she approves again alone: still refused.
    r = client.post(decide, headers=api["province"], json=approve)
    assert (r.status_code, r.get_json()["error"]["code"]) == (403, "second_person_required")
    assert _denied("proposal_approve") == 1
    # Even once a coordinator confirms the cleared threshold, the proposal keeps the one in force when
    # it was submitted: her second approval alone is still refused.
    coordinator_headers = api_token(client, coordinator)
    r = client.post(f"/api/v1/budget-changes/{change_id}/confirm", headers=coordinator_headers)
    assert (r.status_code, r.get_json()["state"]) == (200, "applied")
    db.session.expire_all()
    assert db.session.get(Budget, budget.id).second_approval_above_vnd is None
    r = client.post(decide, headers=api["province"], json=approve)
    assert r.status_code == 403
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).state == "under_appraisal"
    assert db.session.get(Budget, budget.id).committed_vnd == 0
    # The second officer completes it: the front door still works.
    r = client.post(decide, headers=api["second"], json=approve)
    assert r.get_json()["state"] == "approved"


def test_threshold_set_after_submission_still_applies(officers, make_proposal, make_budget):
    budget = make_budget(100_000_000)  # no threshold when submitted
    proposal = make_proposal("submitted")
    change = services.set_budget(officers.user(officers.province), services.BudgetInput(
        "19", _year(), 100_000_000, second_approval_above_vnd=5_000_000)).change
    services.confirm_budget_change(officers.user(officers.second_province), change)
    db.session.commit()
    assert services.threshold_for(proposal, budget) == 5_000_000
    services.decide_proposal(officers.user(officers.province), proposal, services.DecisionInput("approve", 13_000_000))
    assert proposal.awaiting_second_approval  # the lower of the two thresholds applies


def test_submission_stores_the_threshold_in_force(officers, make_proposal, make_budget):
    make_budget(100_000_000, second_above=7_000_000)
    proposal = make_proposal("submitted")
    assert proposal.second_approval_above_vnd == 7_000_000


# --- budget changes ----------------------------------------------------------------------------------


def test_first_budget_takes_effect_at_once_and_the_same_values_change_nothing(client, api):
    payload = {"province_code": "19", "year": _year(), "amount_vnd": 30_000_000, "second_approval_above_vnd": 5_000}
    r = client.post("/api/v1/budgets", headers=api["province"], json=payload)
    assert (r.status_code, r.get_json()["amount_vnd"]) == (201, 30_000_000)
    r = client.post("/api/v1/budgets", headers=api["second"], json=payload)
    assert (r.status_code, r.get_json()["amount_vnd"]) == (200, 30_000_000)
    assert db.session.scalar(select(func.count()).select_from(BudgetChange)) == 0


def test_a_second_pending_change_of_the_same_budget_is_409(client, api, make_budget):
    make_budget(30_000_000)
    payload = {"province_code": "19", "year": _year()}
    assert client.post("/api/v1/budgets", headers=api["province"],
                       json={**payload, "amount_vnd": 40_000_000}).status_code == 202
    r = client.post("/api/v1/budgets", headers=api["second"], json={**payload, "amount_vnd": 50_000_000})
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "pending_confirmation")
    assert r.get_json()["error"]["message"]
    assert _denied("budget_change_propose") == 1
    assert db.session.scalar(select(func.count()).select_from(BudgetChange)) == 1


def test_a_budget_change_lapses_after_24_hours(client, api, officers, make_budget):
    budget = make_budget(30_000_000)
    r = client.post("/api/v1/budgets", headers=api["province"],
                    json={"province_code": "19", "year": _year(), "amount_vnd": 40_000_000})
    change_id = r.get_json()["id"]
    change = db.session.get(BudgetChange, change_id)
    change.proposed_at -= timedelta(hours=25)
    change.expires_at -= timedelta(hours=25)
    db.session.commit()
    r = client.post(f"/api/v1/budget-changes/{change_id}/confirm", headers=api["second"])
    assert r.status_code == 409
    db.session.expire_all()
    assert db.session.get(Budget, budget.id).amount_vnd == 30_000_000
    assert client.get("/api/v1/budget-changes", headers=api["second"]).get_json()["items"] == []
    # A new proposal may be made: the lapsed one no longer blocks it.
    r = client.post("/api/v1/budgets", headers=api["second"],
                    json={"province_code": "19", "year": _year(), "amount_vnd": 45_000_000})
    assert r.status_code == 202
    db.session.expire_all()
    assert db.session.get(BudgetChange, change_id).state == "expired"


def test_another_provinces_officer_cannot_see_or_confirm_a_change(client, api, make_budget):
    make_budget(30_000_000)
    r = client.post("/api/v1/budgets", headers=api["province"],
                    json={"province_code": "19", "year": _year(), "amount_vnd": 40_000_000})
    change_id = r.get_json()["id"]
    assert client.post(f"/api/v1/budget-changes/{change_id}/confirm",
                       headers=api["other_province"]).status_code == 404
    assert client.post(f"/api/v1/budget-changes/{change_id}/confirm", headers=api["commune"]).status_code == 404
    assert client.get("/api/v1/budget-changes", headers=api["other_province"]).get_json()["items"] == []
    items = client.get("/api/v1/budget-changes", headers=api["second"]).get_json()["items"]
    assert [(c["id"], c["amount_vnd"], c["state"]) for c in items] == [(change_id, 40_000_000, "pending")]


def test_a_confirmed_change_below_what_is_committed_is_refused(officers, make_proposal, make_budget):
    budget = make_budget(30_000_000)
    change = services.set_budget(officers.user(officers.province),
                                 services.BudgetInput("19", _year(), 14_000_000)).change
    db.session.commit()
    make_proposal("approved", approve=13_000_000)  # fits the 30,000,000 ₫ now in force
    second = make_proposal("submitted")
    services.decide_proposal(officers.user(officers.second_province), second,
                             services.DecisionInput("approve", 2_000_000))
    db.session.commit()
    with pytest.raises(ValidationError):
        services.confirm_budget_change(officers.user(officers.second_province), change)
    db.session.rollback()
    db.session.refresh(budget)
    assert budget.amount_vnd == 30_000_000


def test_budget_screen_lists_the_change_and_hides_the_button_from_its_proposer(client, login, officers, make_budget):
    make_budget(30_000_000)
    login(client, officers.province)
    response = client.post("/livelihood/budgets", data={"year": str(_year()), "amount_vnd": "40.000.000",
                                                        "second_approval_above_vnd": ""})
    assert response.status_code == 302
    page = client.get("/livelihood/budgets").get_data(as_text=True)
    assert "Chờ xác nhận" in page and "40.000.000 ₫" in page
    assert "Xác nhận thay đổi này" not in page  # the proposer sees who must act next, not a button
    assert "cán bộ tỉnh khác" in page
    change = db.session.scalar(select(BudgetChange))
    assert client.post(f"/livelihood/budget-changes/{change.id}/confirm").status_code == 403
    second = client.application.test_client()
    login(second, officers.second_province)
    page = second.get("/livelihood/budgets").get_data(as_text=True)
    assert "Xác nhận thay đổi này" in page
    assert second.post(f"/livelihood/budget-changes/{change.id}/confirm").status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Budget.amount_vnd)) == 40_000_000


# --- tranches ------------------------------------------------------------------------------------------


def test_the_approver_recording_her_own_tranches_leaves_them_pending(officers, make_proposal, make_budget):
    budget = make_budget(100_000_000)
    proposal = make_proposal("approved", approve=10_000_000)
    approver = officers.user(officers.province)
    tranche = services.disburse(approver, proposal, services.DisbursementInput(4_000_000, services.today(), "cash"))
    db.session.commit()
    db.session.refresh(budget)
    assert (tranche.state, proposal.state, proposal.disbursed_vnd, budget.disbursed_vnd) == (
        "pending", "approved", 0, 0)
    assert proposal.remaining_vnd == 6_000_000  # reserved: cannot be paid twice
    with pytest.raises(Forbidden) as e:
        services.confirm_tranche(approver, proposal, tranche.id)
    assert e.value.code == "second_person_required"
    db.session.rollback()
    services.confirm_tranche(officers.user(officers.second_province), proposal, tranche.id)
    db.session.commit()
    db.session.refresh(budget)
    assert (proposal.state, proposal.disbursed_vnd, budget.disbursed_vnd) == ("disbursing", 4_000_000, 4_000_000)
    with pytest.raises(StateError):  # confirmed once only
        services.confirm_tranche(officers.user(officers.second_province), proposal, tranche.id)


def test_a_tranche_above_the_threshold_waits_even_from_another_officer(officers, make_proposal, make_budget):
    make_budget(100_000_000, second_above=20_000_000)
    proposal = make_proposal("approved", approve=13_000_000)
    small = services.disburse(officers.user(officers.second_province), proposal,
                              services.DisbursementInput(3_000_000, services.today(), "cash"))
    assert small.state == "confirmed"
    db.session.commit()
    # The budget's threshold drops (two people agreed): tranches above it now wait for a second officer.
    change = services.set_budget(officers.user(officers.province), services.BudgetInput(
        "19", _year(), 100_000_000, second_approval_above_vnd=2_000_000)).change
    services.confirm_budget_change(officers.user(officers.second_province), change)
    db.session.commit()
    big = services.disburse(officers.user(officers.second_province), proposal,
                            services.DisbursementInput(5_000_000, services.today(), "cash"))
    assert big.state == "pending"


def test_second_approver_also_cannot_record_alone(officers, make_proposal, make_budget):
    make_budget(100_000_000, second_above=5_000_000)
    proposal = make_proposal("submitted")
    services.decide_proposal(officers.user(officers.province), proposal, services.DecisionInput("approve", 6_000_000))
    services.decide_proposal(officers.user(officers.second_province), proposal,
                             services.DecisionInput("approve", 6_000_000))
    db.session.commit()
    for account in (officers.province, officers.second_province):
        tranche = services.disburse(officers.user(account), proposal,
                                    services.DisbursementInput(1_000_000, services.today(), "cash"))
        assert tranche.state == "pending"


def test_closing_a_proposal_cancels_its_pending_tranches(officers, make_proposal, make_budget):
    budget = make_budget(100_000_000)
    proposal = make_proposal("approved", approve=10_000_000)
    services.disburse(officers.user(officers.province), proposal,
                      services.DisbursementInput(4_000_000, services.today(), "cash"))
    services.close_proposal(officers.user(officers.province), proposal, "Dừng hỗ trợ")
    db.session.commit()
    db.session.refresh(budget)
    assert (proposal.pending_disbursement_vnd, proposal.disbursed_vnd, budget.committed_vnd) == (0, 0, 0)
    assert db.session.scalar(select(Disbursement.state)) == "cancelled"


def test_pending_tranche_on_the_screen_says_who_acts_next(client, login, officers, make_proposal, make_budget):
    make_budget()
    proposal = make_proposal("approved", approve=5_000_000)
    login(client, officers.province)
    response = client.post(f"/livelihood/proposals/{proposal.id}/disbursements/new",
                           data={"amount_vnd": "2.000.000", "paid_on": services.today().isoformat(), "form": "cash"})
    assert response.status_code == 302
    page = client.get(f"/livelihood/proposals/{proposal.id}").get_data(as_text=True)
    assert "Chờ xác nhận" in page and "Xác nhận khoản chi này" not in page
    tranche = db.session.scalar(select(Disbursement))
    assert client.post(f"/livelihood/proposals/{proposal.id}/disbursements/{tranche.id}/confirm").status_code == 403
    second = client.application.test_client()
    login(second, officers.second_province)
    assert "Xác nhận khoản chi này" in second.get(f"/livelihood/proposals/{proposal.id}").get_data(as_text=True)
    assert second.post(f"/livelihood/proposals/{proposal.id}/disbursements/{tranche.id}/confirm").status_code == 302
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).disbursed_vnd == 2_000_000


# --- issue 13: the decision screen for whoever already approved -------------------------------------


def test_first_approver_sees_who_acts_next_instead_of_the_form(client, login, officers, make_proposal, make_budget):
    make_budget(100_000_000, second_above=5_000_000)
    proposal = make_proposal("submitted")
    services.decide_proposal(officers.user(officers.province), proposal, services.DecisionInput("approve", 9_000_000))
    db.session.commit()
    login(client, officers.province)
    page = client.get(f"/livelihood/proposals/{proposal.id}/decide").get_data(as_text=True)
    assert "Chờ cán bộ tỉnh khác phê duyệt lần hai" in page and 'name="decision"' not in page
    page = client.get(f"/livelihood/proposals/{proposal.id}").get_data(as_text=True)
    assert "Chờ cán bộ tỉnh khác phê duyệt lần hai" in page
    assert f"/livelihood/proposals/{proposal.id}/decide" not in page
    second = client.application.test_client()
    login(second, officers.second_province)
    assert 'name="decision"' in second.get(f"/livelihood/proposals/{proposal.id}/decide").get_data(as_text=True)


# --- two officers racing on PostgreSQL ------------------------------------------------------------------

_pg_only = pytest.mark.skipif(not PG_URL.startswith("postgresql"),
                              reason="concurrent transactions need PostgreSQL (TEST_DATABASE_URL)")


def _race(app, work, officer_ids) -> list[str]:
    barrier = threading.Barrier(len(officer_ids))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(officer_id: str) -> None:
        with app.app_context(), app.test_request_context("/"):
            try:
                actor = db.session.get(User, officer_id)
                barrier.wait(timeout=10)
                work(actor)
                db.session.commit()
                result = "ok"
            except (ValidationError, StateError, Forbidden) as e:
                db.session.rollback()
                result = f"refused:{e.status}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=run, args=(oid,)) for oid in officer_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(outcomes)


@pytest.mark.postgres
@_pg_only
def test_two_officers_proposing_budget_changes_at_once_leave_one_pending(app, officers, make_budget, make_user):
    budget = make_budget(30_000_000)
    third = make_user("province_officer", scope="19", username="tinhba")

    def propose(actor):
        services.set_budget(actor, services.BudgetInput("19", _year(), 30_000_000 + len(actor.username)))

    outcomes = _race(app, propose, [officers.second_province.id, third.id])
    assert outcomes == ["ok", "refused:409"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(BudgetChange)
                             .where(BudgetChange.state == "pending")) == 1
    assert db.session.get(Budget, budget.id).amount_vnd == 30_000_000


@pytest.mark.postgres
@_pg_only
def test_two_officers_confirming_at_once_apply_a_change_and_a_tranche_once(app, officers, make_budget, make_proposal,
                                                                           make_user, coordinator):
    budget = make_budget(30_000_000)
    change_id = services.set_budget(officers.user(officers.province),
                                    services.BudgetInput("19", _year(), 40_000_000)).change.id
    db.session.commit()

    def confirm_change(actor):
        services.confirm_budget_change(actor, db.session.get(BudgetChange, change_id))

    assert _race(app, confirm_change, [officers.second_province.id, coordinator.id]) == ["ok", "refused:409"]
    db.session.expire_all()
    assert db.session.get(Budget, budget.id).amount_vnd == 40_000_000

    proposal_id = make_proposal("approved", approve=10_000_000).id
    tranche_id = services.disburse(officers.user(officers.province), db.session.get(Proposal, proposal_id),
                                   services.DisbursementInput(4_000_000, services.today(), "cash")).id
    db.session.commit()
    third = make_user("province_officer", scope="19", username="tinhba")

    def confirm_tranche(actor):
        services.confirm_tranche(actor, db.session.get(Proposal, proposal_id), tranche_id)

    assert _race(app, confirm_tranche, [officers.second_province.id, third.id]) == ["ok", "refused:409"]
    db.session.expire_all()
    assert db.session.get(Proposal, proposal_id).disbursed_vnd == 4_000_000
    assert db.session.get(Budget, budget.id).disbursed_vnd == 4_000_000


@pytest.mark.postgres
@_pg_only
def test_the_approver_and_a_colleague_racing_to_pay_never_pass_the_approved_amount(app, officers, make_budget,
                                                                                  make_proposal):
    make_budget(100_000_000)
    proposal_id = make_proposal("approved", approve=5_000_000).id

    def pay(actor):
        services.disburse(actor, db.session.get(Proposal, proposal_id),
                          services.DisbursementInput(3_000_000, services.today(), "cash"))

    outcomes = _race(app, pay, [officers.province.id, officers.second_province.id])
    assert outcomes.count("ok") == 1
    db.session.expire_all()
    p = db.session.get(Proposal, proposal_id)
    assert p.disbursed_vnd + p.pending_disbursement_vnd == 3_000_000
