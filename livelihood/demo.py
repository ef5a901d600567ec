"""Demo data for the livelihood screens: obviously fake survivors ("Demo Thị Hai"), a budget in
each demo province, and proposals in several states, made through the services like real ones."""

from __future__ import annotations

from casework.demo import DEMO_PLACES, DemoContext
from livelihood import services

NAMES = ("Demo Thị Hai", "Demo Thị Ba", "Demo Thị Tư", "Demo Thị Năm", "Demo Thị Sáu", "Demo Thị Bảy")
PLANS = (
    ("livestock", "Nuôi lợn nái sinh sản", [("Lợn nái giống", "con", 2, 4_500_000), ("Thức ăn", "bao", 20, 380_000)]),
    ("handicraft", "Dệt thổ cẩm", [("Khung dệt", "cái", 1, 6_000_000), ("Sợi", "kg", 15, 250_000)]),
    ("small_trade", "Quán tạp hóa nhỏ", [("Tủ hàng", "cái", 1, 5_500_000), ("Hàng nhập ban đầu", "lô", 1, 12_000_000)]),
    ("crops", "Trồng gừng", [("Giống gừng", "kg", 200, 30_000), ("Phân bón", "bao", 10, 420_000)]),
    ("vocational_training", "Học nghề may", [("Học phí", "khóa", 1, 7_000_000), ("Máy may", "cái", 1, 4_800_000)]),
    ("livestock", "Nuôi gà thả vườn", [("Gà giống", "con", 200, 25_000), ("Chuồng trại", "bộ", 1, 3_000_000)]),
)
# Where each demo proposal ends up (draft, submitted, returned, approved, disbursing, completed).
STAGES = ("draft", "submitted", "returned", "approved", "disbursing", "completed")


def load_demo(ctx: DemoContext) -> None:
    year = services.today().year
    for i, (province_code, _name) in enumerate(DEMO_PLACES, start=1):
        commune_officer = ctx.users.get(f"xa{i}")
        province_officer = ctx.users.get(f"tinh{i}")
        if commune_officer is None or province_officer is None:
            continue
        services.set_budget(province_officer, services.BudgetInput(
            province_code=province_code, year=year, amount_vnd=500_000_000, second_approval_above_vnd=60_000_000))
        for j, (name, (kind, title, lines), stage) in enumerate(zip(NAMES, PLANS, STAGES, strict=True)):
            survivor = services.register_survivor(commune_officer, services.SurvivorInput(
                person=services.PersonInput(full_name=name, birth_year=1990 + j + i, sex="female",
                                            ethnicity_code=("01", "06", "04", "03", "02", "05")[j]),
                commune_code=commune_officer.commune_code,
                status="identified" if j % 2 == 0 else "being_identified",
                consent_record=True, consent_statistics=True, household_size=3 + j % 3,
                monthly_income_vnd=1_200_000 + 150_000 * j, skills="Demo: làm nương, chăn nuôi",
                wishes="Demo: có thu nhập ổn định", supports_received=("a", "b")))
            proposal = services.draft_proposal(commune_officer, survivor, services.ProposalInput(
                kind=kind, title=title, description="Demo: phương án sinh kế thử nghiệm",
                expected_results="Demo: thu nhập tăng sau 12 tháng",
                lines=tuple(services.LineInput(item=it, unit=unit, quantity=q, unit_cost_vnd=c)
                            for it, unit, q, c in lines)))
            if stage == "draft":
                continue
            services.submit_proposal(commune_officer, proposal)
            if stage == "submitted":
                continue
            if stage == "returned":
                services.decide_proposal(province_officer, proposal, services.DecisionInput(
                    decision="return", note="Demo: ghi rõ nơi bán sản phẩm"))
                continue
            services.appraise_proposal(province_officer, proposal, services.AppraisalInput(
                feasibility=4, market=3, skills=4, risks=3, cost=4, comment="Demo: khả thi"))
            amount = proposal.requested_vnd - (proposal.requested_vnd // 10 if stage == "approved" else 0)
            services.decide_proposal(province_officer, proposal, services.DecisionInput(
                decision="approve", approved_amount_vnd=amount, note="Demo: phê duyệt"))
            if stage == "approved":
                continue
            today = services.today()
            # The officer who approved does not pay alone (issue 12): the second officer records the tranche.
            payer = ctx.users.get(f"tinh{i}b") or province_officer
            services.disburse(payer, proposal, services.DisbursementInput(
                amount_vnd=amount // 2, paid_on=today, form="cash", handed_over_by="Demo cán bộ tỉnh"))
            services.record_visit(commune_officer, proposal, services.VisitInput(
                visited_on=today, progress="on_track", income_before_vnd=1_200_000, income_after_vnd=2_000_000,
                funds_used_as_planned=True, notes="Demo: đúng kế hoạch"))
            services.record_event(commune_officer, survivor, services.EventInput(
                kind="market_linkage", held_on=today, description="Demo: kết nối thương lái"))
            if stage == "completed":
                services.complete_proposal(commune_officer, proposal, "self_reliant", "Demo: tự chủ được")
    ctx.echo("Livelihood demo: survivors, budgets and proposals in every demo province.")
