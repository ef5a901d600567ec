"""Fixtures of the livelihood tests: officers in two communes of one province and in another
province, and small factories for survivors, proposals and budgets made through the services."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from casework.auth.models import User
from casework.extensions import db
from livelihood import services

COMMUNE = "05533"  # Phường Bá Xuyên, province 19 (Thái Nguyên)
OTHER_COMMUNE = "05528"  # Phường Bách Quang, same province
PROVINCE = "19"
OTHER_PROVINCE_COMMUNE = "03127"  # Phường Điện Biên Phủ, province 11
OTHER_PROVINCE = "11"


@pytest.fixture(autouse=True)
def request_context(app):
    """Services translate their messages, and the language is chosen per request: give them one."""
    with app.test_request_context("/"):
        yield


@dataclass
class Officers:
    commune: object  # Account of a commune officer of COMMUNE
    other_commune: object  # commune officer of OTHER_COMMUNE (same province)
    province: object  # province officer of PROVINCE
    second_province: object  # another province officer of PROVINCE (second approver)
    other_province: object  # province officer of OTHER_PROVINCE
    other_province_commune: object  # commune officer in OTHER_PROVINCE

    def user(self, account) -> User:
        return db.session.get(User, account.id)


@pytest.fixture
def officers(make_user) -> Officers:
    return Officers(
        commune=make_user("commune_officer", scope=COMMUNE, username="xa"),
        other_commune=make_user("commune_officer", scope=OTHER_COMMUNE, username="xakhac"),
        province=make_user("province_officer", scope=PROVINCE, username="tinh"),
        second_province=make_user("province_officer", scope=PROVINCE, username="tinhhai"),
        other_province=make_user("province_officer", scope=OTHER_PROVINCE, username="tinhkhac"),
        other_province_commune=make_user("commune_officer", scope=OTHER_PROVINCE_COMMUNE, username="xatinhkhac"),
    )


def survivor_input(commune_code: str = COMMUNE, **overrides) -> services.SurvivorInput:
    person = overrides.pop("person", None) or services.PersonInput(
        full_name="Demo Thị Hai", birth_year=1998, sex="female", ethnicity_code="06", phone="0912345678")
    values = {"person": person, "commune_code": commune_code, "status": "identified", "consent_record": True,
              "consent_statistics": True, "household_size": 4, "monthly_income_vnd": 1_500_000,
              "skills": "dệt vải", "wishes": "nuôi lợn"}
    values.update(overrides)
    return services.SurvivorInput(**values)


def lines(*specs) -> tuple[services.LineInput, ...]:
    """``lines((item, quantity, unit_cost[, own]))`` → budget lines."""
    out = []
    for spec in specs or (("Lợn giống", 2, 4_500_000), ("Thức ăn", 10, 400_000)):
        item, quantity, cost, *own = spec
        out.append(services.LineInput(item=item, quantity=quantity, unit_cost_vnd=cost,
                                      co_contribution_vnd=own[0] if own else 0))
    return tuple(out)


@pytest.fixture
def make_survivor(officers):
    def make(account=None, **overrides):
        actor = officers.user(account or officers.commune)
        survivor = services.register_survivor(actor, survivor_input(actor.commune_code, **overrides))
        db.session.commit()
        return survivor

    return make


@pytest.fixture
def make_proposal(officers, make_survivor):
    """A proposal drafted by the commune officer; ``state=`` walks it there through the services."""

    def make(state: str = "draft", *, survivor=None, line_specs=None, approve: int | None = None, account=None):
        account = account or officers.commune
        commune_officer = officers.user(account)
        survivor = survivor or make_survivor(account)
        proposal = services.draft_proposal(commune_officer, survivor, services.ProposalInput(
            kind="livestock", title="Nuôi lợn nái", lines=lines(*(line_specs or ()))))
        if state != "draft":
            services.submit_proposal(commune_officer, proposal)
        province_officer = officers.user(officers.province if account is officers.commune
                                         else officers.other_province)
        if state == "under_appraisal":
            services.start_appraisal(province_officer, proposal)
        if state in ("approved", "disbursing", "completed"):
            services.decide_proposal(province_officer, proposal, services.DecisionInput(
                decision="approve", approved_amount_vnd=approve or proposal.requested_vnd))
        if state == "returned":
            services.decide_proposal(province_officer, proposal, services.DecisionInput(
                decision="return", note="Ghi rõ nơi bán"))
        if state == "rejected":
            services.decide_proposal(province_officer, proposal, services.DecisionInput(
                decision="reject", note="Không khả thi"))
        if state in ("disbursing", "completed"):
            # Four-eyes on money: the approver's own tranche would wait for a second officer, so the
            # second province officer records it (it counts at once).
            payer = officers.user(officers.second_province if account is officers.commune
                                  else officers.other_province)
            services.disburse(payer, proposal, services.DisbursementInput(
                amount_vnd=1_000_000, paid_on=services.today(), form="cash", handed_over_by="Cán bộ A"))
        if state == "completed":
            services.complete_proposal(commune_officer, proposal, "self_reliant")
        db.session.commit()
        return proposal

    return make


@pytest.fixture
def make_budget(officers):
    def make(amount: int = 100_000_000, *, account=None, year: int | None = None, second_above: int | None = None):
        actor = officers.user(account or officers.province)
        outcome = services.set_budget(actor, services.BudgetInput(
            province_code=actor.province_code, year=year or services.today().year, amount_vnd=amount,
            second_approval_above_vnd=second_above))
        db.session.commit()
        return outcome.budget

    return make


def api_token(client, account) -> dict:
    from tests.conftest import next_code

    response = client.post("/api/v1/auth/token", json={"username": account.username, "password": account.password,
                                                       "totp": next_code(account)})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}
