"""The livelihood inputs declared once (issue 14): the JSON body, the web form and the Excel row read by the same
schema give the same typed value; a bad value gets its exact message under its field; the API's request schemas
are generated from the declarations."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from casework.api.core import openapi30
from livelihood import schemas, services
from livelihood.schemas import DecisionIn, ProposalIn, SurvivorIn, TrancheIn, VisitIn
from tests.schema_errors import refused

DAY = date(2026, 3, 5)
SURVIVOR_JSON = {
    "person": {"full_name": " Demo  Thị Năm ", "birth_year": 1996, "sex": "female", "ethnicity_code": "06",
               "phone": "0912345678"},
    "commune_code": "05533", "status": "identified", "status_on": "2026-03-05", "status_authority": "Công an tỉnh",
    "consent": {"record": True, "statistics": True},
    "survey": {"household_size": 4, "monthly_income_vnd": 1_500_000, "skills": "dệt vải"},
    "supports_received": ["a", "b"],
}
SURVIVOR_FORM = {  # the screen's flat names, as typed
    "full_name": "Demo Thị Năm", "birth_year": "1996", "sex": "female", "ethnicity_code": "06",
    "phone": "0912345678", "commune_code": "05533", "status": "identified", "status_on": "05/03/2026",
    "status_authority": "Công an tỉnh", "consent_record": True, "consent_statistics": True,
    "consent_given_by": "self", "household_size": "4", "monthly_income_vnd": "1.500.000", "skills": "dệt vải",
    "supports_received": ["a", "b"],
}
SURVIVOR_ROW = {  # the Excel template's cells, as a spreadsheet keeps them
    "full_name": "Demo Thị Năm", "birth_year": 1996.0, "sex": "Nữ", "ethnicity_code": "06", "phone": "0912345678",
    "commune_code": "05533", "status": "Đã xác định là nạn nhân", "status_on": DAY,
    "status_authority": "Công an tỉnh", "consent_record": "Có", "consent_statistics": "có", "household_size": 4.0,
    "monthly_income_vnd": "1 500 000 đ", "skills": "dệt vải", "supports_received": ("a", "b"),
}


def test_a_survivor_reads_alike_from_json_form_and_spreadsheet_row(app):
    with app.test_request_context():
        from_json = SurvivorIn.from_json(SURVIVOR_JSON)
        from_form = SurvivorIn.from_form(schemas.nest(SURVIVOR_FORM))
        from_row = SurvivorIn.from_row(schemas.nest(SURVIVOR_ROW))
    assert from_json == from_form == from_row
    assert from_json.person.full_name == "Demo Thị Năm" and from_json.person.birth_year == 1996
    assert (from_json.status_on, from_json.survey.monthly_income_vnd) == (DAY, 1_500_000)
    assert from_json.consent.record is True and from_json.consent.given_by == "self"
    assert from_json.supports_received == ("a", "b")


def test_survivor_errors_are_filed_under_nested_keys_with_their_messages(app):
    with app.test_request_context():
        fields = refused(SurvivorIn.from_json, {
            **SURVIVOR_JSON, "person": {"full_name": "", "birth_year": 1996.5},
            "consent": {"record": False}, "survey": {"monthly_income_vnd": -1}})
    assert fields == {"person.full_name": ["Nhập họ và tên."],
                      "person.birth_year": ["Nhập số nguyên, không có phần thập phân."],
                      "consent.record": ["Cần có sự đồng ý lưu hồ sơ của chị ấy; nếu không, không lưu gì cả."],
                      "survey.monthly_income_vnd": ["Nhập 0 hoặc một số dương."]}


def test_rules_across_fields_run_once_every_field_is_read(app):
    with app.test_request_context():
        fields = refused(SurvivorIn.from_json, {**SURVIVOR_JSON, "status": "not_victim", "status_on": None,
                                                "status_authority": "", "survey": {"household_size": 60}})
    assert set(fields) == {"status_on", "status_authority", "supports_received", "survey.household_size"}
    assert fields["survey.household_size"] == ["Nhập số người từ 1 đến 50."]


def test_a_spreadsheet_cell_is_read_with_the_templates_words(app):
    with app.test_request_context():
        fields = refused(SurvivorIn.from_row, schemas.nest({**SURVIVOR_ROW, "sex": "?", "status": "Nạn nhân",
                                                            "consent_record": "Không"}))
    assert fields["person.sex"] == ["Ghi Nữ hoặc Nam."]
    assert "Nạn nhân" in fields["status"][0]
    assert fields["consent.record"] == ["Cần có sự đồng ý lưu hồ sơ của chị ấy; nếu không, không lưu gì cả."]


def test_json_types_are_strict_and_form_text_is_read_as_typed(app):
    with app.test_request_context():
        body = {"amount_vnd": 1_500_000, "date": "2026-03-05", "form": "in_kind", "items": "2 con lợn"}
        assert TrancheIn.from_json(body) == TrancheIn.from_form({**body, "amount_vnd": "1.500.000",
                                                                 "date": "05/03/2026"})
        fields = refused(TrancheIn.from_json, {**body, "amount_vnd": "1500000"})
        assert fields == {"amount_vnd": ["Nhập một số nguyên."]}
        fields = refused(TrancheIn.from_form, {**body, "amount_vnd": "1,5", "items": ""})
        assert fields == {"amount_vnd": ["Nhập số nguyên, không có phần thập phân."]}  # the rule waits
        fields = refused(TrancheIn.from_json, {**body, "items": None})
        assert fields == {"items": ["Liệt kê hiện vật đã bàn giao."]}
        fields = refused(TrancheIn.from_json, {**body, "form": "cheque"})
        assert fields == {"form": ["Chọn tiền mặt hoặc hiện vật."]}


def test_a_day_of_something_done_is_not_in_the_future(app):
    with app.test_request_context():
        tomorrow = (services.today() + timedelta(days=1)).isoformat()
        assert refused(VisitIn.from_json, {"date": tomorrow, "progress": "on_track"}) == {
            "date": ["Ngày này ở tương lai."]}
        assert refused(VisitIn.from_json, {"date": "31/02/2026", "progress": "on_track"}) == {
            "date": ["Nhập ngày theo dạng dd/mm/yyyy."]}
        visit = VisitIn.from_form({"date": "05/03/2026", "progress": "delayed", "funds_used_as_planned": "unknown",
                                   "income_before_vnd": "0"})
    assert (visit.date, visit.funds_used_as_planned, visit.income_before_vnd) == (DAY, None, 0)


def test_budget_lines_carry_their_position_and_totals_are_computed(app):
    with app.test_request_context():
        fields = refused(ProposalIn.from_json, {"kind": "crops", "title": "Gừng", "budget_lines": [
            {"item": "Giống", "quantity": 1, "unit_cost_vnd": 100_000},
            {"item": "Phân", "quantity": 1.5, "unit_cost_vnd": 100}]})
        assert fields == {"budget_lines.1.quantity": ["Nhập số nguyên, không có phần thập phân."]}
        fields = refused(ProposalIn.from_json, {"kind": "crops", "title": "Gừng", "budget_lines": [
            {"item": "Giống", "quantity": 1, "unit_cost_vnd": 100_000, "co_contribution_vnd": 200_000}]})
        assert fields == {"budget_lines.0.co_contribution_vnd": [
            "Phần đối ứng không được lớn hơn thành tiền của dòng."]}
        assert refused(ProposalIn.from_json, {"kind": "crops", "title": "Gừng"}) == {
            "budget_lines": ["Thêm ít nhất một dòng dự toán."]}
        plan = ProposalIn.from_form({"kind": "livestock", "title": "Nuôi lợn", "budget_lines": [
            {"item": "Lợn giống", "quantity": "2", "unit_cost_vnd": "4.500.000", "co_contribution_vnd": ""},
            {"item": "Thức ăn", "quantity": "10", "unit_cost_vnd": "400.000", "co_contribution_vnd": "1.000.000"}]})
    assert (plan.total_vnd, plan.co_contribution_vnd, plan.requested_vnd) == (13_000_000, 1_000_000, 12_000_000)


def test_a_line_s_quantity_has_a_limit_its_column_holds(app):
    """A quantity above the 32-bit column's 2,147,483,647 reached the database and failed there (a 500 on
    PostgreSQL): the schema refuses more than a million items with the field's message."""
    with app.test_request_context():
        line = {"item": "Giống", "unit_cost_vnd": 1}
        for quantity in (schemas.MAX_QUANTITY + 1, 3_000_000_000):
            fields = refused(ProposalIn.from_json, {"kind": "crops", "title": "Gừng",
                                                    "budget_lines": [{**line, "quantity": quantity}]})
            assert fields == {"budget_lines.0.quantity": ["Số này quá lớn."]}
        plan = ProposalIn.from_json({"kind": "crops", "title": "Gừng",
                                     "budget_lines": [{**line, "quantity": schemas.MAX_QUANTITY}]})
    assert plan.total_vnd == schemas.MAX_QUANTITY


def test_a_return_says_what_to_change_and_an_approval_its_amount(app):
    with app.test_request_context():
        assert refused(DecisionIn.from_json, {"decision": "return"}) == {"note": ["Nêu nội dung cần sửa."]}
        assert set(refused(DecisionIn.from_json, {"decision": "approve"})) == {"approved_amount_vnd"}
        assert DecisionIn.from_form({"decision": "approve", "approved_amount_vnd": "9.000.000", "note": ""}) == \
            DecisionIn.from_json({"decision": "approve", "approved_amount_vnd": 9_000_000})


@pytest.mark.parametrize(("path", "schema"), [
    ("/api/v1/survivors", SurvivorIn), ("/api/v1/proposals", schemas.NewProposalIn),
    ("/api/v1/proposals/{proposal_id}/decision", DecisionIn),
    ("/api/v1/proposals/{proposal_id}/disbursements", TrancheIn),
    ("/api/v1/proposals/{proposal_id}/visits", VisitIn), ("/api/v1/budgets", schemas.BudgetIn),
    ("/api/v1/proposals/{proposal_id}/appraisals", schemas.AppraisalIn),
    ("/api/v1/survivors/{survivor_id}/events", schemas.EventIn),
])
def test_the_request_schemas_of_the_api_come_from_the_declarations(client, path, schema):
    doc = client.get("/api/v1/openapi.json").get_json()
    documented = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert documented == openapi30(schema.openapi())  # written as OpenAPI 3.0 (nullable) by the document
    assert "title" in doc["paths"]["/api/v1/proposals"]["post"]["requestBody"]["content"]["application/json"][
        "schema"]["properties"]
