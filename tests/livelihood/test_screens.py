"""The livelihood screens: roles and scope, Vietnamese forms with errors per field, nothing stored on bad
input, no name in titles, URLs, flashes or the audit trail, the budget bar."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from casework.auth.roles import Role
from casework.extensions import db
from casework.protect.audit import AuditEvent
from livelihood import services
from livelihood.models import Proposal, Survivor

NAME = "Demo Thị Hai"


def _title(page: str) -> str:
    return re.search(r"<title>(.*?)</title>", page, re.S).group(1)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


SURVIVOR_FORM = {"full_name": "Demo Thị Sáu", "birth_year": "1999", "sex": "female", "ethnicity_code": "06",
                 "phone": "0912 345 678", "status": "identified", "status_on": "2025-03-05",
                 "status_authority": "Công an tỉnh", "supports_received": ["a", "i"], "household_size": "4",
                 "monthly_income_vnd": "1.500.000", "skills": "dệt", "wishes": "nuôi lợn", "consent_record": "y",
                 "consent_statistics": "y", "consent_given_by": "self"}


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_reaches_only_its_livelihood_screens(app, make_user, make_address, login, role):
    scopes = {"host": {"address_ids": None}, "commune_officer": {"scope": "05533"},
              "province_officer": {"scope": "19"}, "service_provider": {"organisation_id": "org-x"}}
    scope = dict(scopes.get(role, {}))
    if "address_ids" in scope:
        scope["address_ids"] = (make_address().id,)
    client = app.test_client()
    login(client, make_user(role, **scope))
    allowed = {"commune_officer": {"/livelihood/", "/livelihood/survivors", "/livelihood/survivors/new",
                                   "/livelihood/proposals", "/livelihood/import", "/livelihood/import/template.xlsx",
                                   "/livelihood/proposals/export.xlsx"},
               "province_officer": {"/livelihood/", "/livelihood/proposals", "/livelihood/budgets",
                                    "/livelihood/proposals/export.xlsx"}}.get(role, set())
    paths = {"/livelihood/", "/livelihood/survivors", "/livelihood/survivors/new", "/livelihood/proposals",
             "/livelihood/import", "/livelihood/import/template.xlsx", "/livelihood/proposals/export.xlsx",
             "/livelihood/budgets"}
    for path in paths:
        status = client.get(path).status_code
        assert status == (200 if path in allowed else 404), (role, path, status)


def test_menu_shows_livelihood_to_officers_in_vietnamese(client, login, officers):
    login(client, officers.province)
    page = client.get("/livelihood/").get_data(as_text=True)
    assert '<html lang="vi">' in page
    for label in ("Sinh kế", "Đề xuất", "Kinh phí"):
        assert f">{label}</a>" in page


def test_registering_with_bad_values_shows_errors_and_stores_nothing(client, login, officers):
    login(client, officers.commune)
    bad = {**SURVIVOR_FORM, "full_name": "", "birth_year": "1999,5", "monthly_income_vnd": "-3",
           "status_on": "31/02/2025", "consent_record": ""}
    response = client.post("/livelihood/survivors/new", data=bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nhập họ và tên." in page
    assert "Nhập số nguyên, không có phần thập phân." in page
    assert "Nhập 0 hoặc một số dương." in page
    assert "Nhập ngày theo dạng dd/mm/yyyy." in page
    assert _count(Survivor) == 0


def test_the_survivor_form_has_a_way_back(client, login, officers):
    login(client, officers.commune)
    page = client.get("/livelihood/survivors/new").get_data(as_text=True)
    assert '<a href="/livelihood/">Hủy</a>' in page


def test_registering_without_consent_stores_nothing(client, login, officers):
    login(client, officers.commune)
    response = client.post("/livelihood/survivors/new", data={**SURVIVOR_FORM, "consent_record": ""})
    assert response.status_code == 422
    assert "Cần có sự đồng ý lưu hồ sơ của chị" in response.get_data(as_text=True)
    assert _count(Survivor) == 0


def test_registering_keeps_the_name_out_of_url_title_and_flash(client, login, officers):
    login(client, officers.commune)
    response = client.post("/livelihood/survivors/new", data=SURVIVOR_FORM)
    assert response.status_code == 302
    assert "Demo" not in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    survivor = db.session.scalar(select(Survivor))
    assert f"Đã đăng ký người được hỗ trợ với mã {survivor.code}." in page
    assert "Demo Thị Sáu" in page and "Demo" not in _title(page)
    assert (survivor.monthly_income_vnd, survivor.household_size, survivor.age_band) == (1_500_000, 4, "25_34")
    assert [s.item for s in survivor.supports] == ["a", "i"]
    raw = db.session.execute(select(Survivor.__table__.c.full_name_ct)).scalar_one()
    assert b"Demo" not in raw


def test_support_outside_the_status_entitlements_is_refused(client, login, officers):
    login(client, officers.commune)
    response = client.post("/livelihood/survivors/new",
                           data={**SURVIVOR_FORM, "status": "being_identified", "supports_received": ["a", "k"]})
    assert response.status_code == 422
    assert "Các khoản k không thuộc chế độ" in response.get_data(as_text=True)


def test_name_search_is_a_post_and_finds_without_accents(client, login, officers, make_survivor):
    make_survivor()
    login(client, officers.commune)
    assert client.get("/livelihood/survivors/search").status_code in (404, 405)
    response = client.post("/livelihood/survivors/search", data={"q": "demo thi hai"})
    assert response.status_code == 200 and NAME in response.get_data(as_text=True)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "survivor_search")).all()
    assert len(events) == 1 and "demo" not in (events[0].detail or "")


def test_province_officer_sees_the_code_not_the_name(client, login, officers, make_proposal):
    proposal = make_proposal("submitted")
    login(client, officers.province)
    for url in (f"/livelihood/proposals/{proposal.id}", f"/livelihood/survivors/{proposal.survivor_id}",
                "/livelihood/proposals", "/livelihood/"):
        page = client.get(url).get_data(as_text=True)
        assert proposal.survivor.code in page, url
        assert NAME not in page and "0912345678" not in page, url


def test_viewing_a_survivor_is_audited_with_ids_only(client, login, officers, make_survivor):
    survivor = make_survivor()
    login(client, officers.commune)
    client.get(f"/livelihood/survivors/{survivor.id}")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "survivor_view")).one()
    assert (event.object_type, event.object_id, event.actor_id) == ("survivor", survivor.id, officers.commune.id)
    assert "full_name" in event.fields
    for e in db.session.scalars(select(AuditEvent)):
        assert "Demo" not in " ".join(str(getattr(e, c) or "") for c in ("object_id", "fields", "detail"))


@pytest.mark.parametrize("account", ["other_commune", "other_province", "other_province_commune"])
def test_records_of_another_commune_or_province_are_404(client, login, officers, make_proposal, make_budget, account):
    make_budget()
    proposal = make_proposal("approved")
    login(client, getattr(officers, account))
    for url in (f"/livelihood/survivors/{proposal.survivor_id}", f"/livelihood/proposals/{proposal.id}",
                f"/livelihood/proposals/{proposal.id}/decide", f"/livelihood/proposals/{proposal.id}/visits/new",
                f"/livelihood/survivors/{proposal.survivor_id}/proposals/new"):
        assert client.get(url).status_code == 404, (account, url)


def test_drafting_a_proposal_computes_totals_and_marks_bad_lines(client, login, officers, make_survivor):
    survivor = make_survivor()
    login(client, officers.commune)
    url = f"/livelihood/survivors/{survivor.id}/proposals/new"
    # As a browser sends it: every row, the empty ones too; an empty row is skipped.
    form = {"kind": "livestock", "title": "Nuôi lợn", "description": "", "expected_results": ""}
    for i in range(4):
        for name in ("item", "unit", "quantity", "unit_cost_vnd", "co_contribution_vnd"):
            form[f"lines-{i}-{name}"] = ""
    form.update({"lines-0-item": "Lợn giống", "lines-0-quantity": "2", "lines-0-unit": "con",
                 "lines-0-unit_cost_vnd": "4.500.000", "lines-2-item": "Cám", "lines-2-quantity": "0",
                 "lines-2-unit_cost_vnd": "400000"})
    response = client.post(url, data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="lines-2-quantity-error">Nhập một số lớn hơn 0\.', page)
    assert _count(Proposal) == 0
    response = client.post(url, data={**form, "lines-2-quantity": "10"})
    assert response.status_code == 302
    proposal = db.session.scalar(select(Proposal))
    assert (proposal.total_vnd, len(proposal.lines), proposal.state) == (13_000_000, 2, "draft")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "13.000.000 ₫" in page


def test_add_line_button_adds_a_row_without_saving(client, login, officers, make_survivor):
    survivor = make_survivor()
    login(client, officers.commune)
    response = client.post(f"/livelihood/survivors/{survivor.id}/proposals/new",
                           data={"kind": "crops", "title": "Gừng", "add_line": "1"})
    assert response.status_code == 200
    assert 'name="lines-4-item"' in response.get_data(as_text=True)
    assert _count(Proposal) == 0


def test_submit_then_province_approves_part_through_the_screens(client, login, officers, make_proposal, make_budget):
    make_budget(20_000_000)
    proposal = make_proposal("draft")
    login(client, officers.commune)
    assert client.post(f"/livelihood/proposals/{proposal.id}/submit").status_code == 302
    assert client.post(f"/livelihood/proposals/{proposal.id}/submit").status_code == 409
    province = client.application.test_client()
    login(province, officers.province)
    page = province.get(f"/livelihood/proposals/{proposal.id}/decide").get_data(as_text=True)
    assert "20.000.000 ₫" in page and "lv-w-0" in page
    response = province.post(f"/livelihood/proposals/{proposal.id}/decide",
                             data={"decision": "approve", "approved_amount_vnd": "25.000.000"})
    assert response.status_code == 422
    response = province.post(f"/livelihood/proposals/{proposal.id}/decide",
                             data={"decision": "approve", "approved_amount_vnd": "10.000.000"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).approved_amount_vnd == 10_000_000
    page = province.get("/livelihood/budgets").get_data(as_text=True)
    assert "10.000.000 ₫" in page and "lv-fill-committed lv-w-50" in page


def test_over_budget_approval_shows_the_message_on_the_field(client, login, officers, make_proposal, make_budget):
    make_budget(5_000_000)
    proposal = make_proposal("submitted")
    login(client, officers.province)
    response = client.post(f"/livelihood/proposals/{proposal.id}/decide",
                           data={"decision": "approve", "approved_amount_vnd": "6000000"})
    assert response.status_code == 422
    assert "vượt kinh phí năm" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).state == "submitted"


def test_payment_and_visit_through_the_screens(client, login, officers, make_proposal, make_budget):
    make_budget()
    proposal = make_proposal("approved", approve=5_000_000)
    login(client, officers.province)
    response = client.post(f"/livelihood/proposals/{proposal.id}/disbursements/new",
                           data={"amount_vnd": "6.000.000", "paid_on": services.today().isoformat(), "form": "cash"})
    assert response.status_code == 422 and "5.000.000 ₫" in response.get_data(as_text=True)
    response = client.post(f"/livelihood/proposals/{proposal.id}/disbursements/new",
                           data={"amount_vnd": "2.000.000", "paid_on": services.today().isoformat(), "form": "cash",
                                 "handed_over_by": "Cán bộ A"})
    assert response.status_code == 302
    commune = client.application.test_client()
    login(commune, officers.commune)
    response = commune.post(f"/livelihood/proposals/{proposal.id}/visits/new",
                            data={"visited_on": services.today().isoformat(), "progress": "delayed",
                                  "income_before_vnd": "1.000.000", "income_after_vnd": "1.200.000",
                                  "funds_used_as_planned": "yes", "problems": "Mưa lũ"})
    assert response.status_code == 302
    page = commune.get(f"/livelihood/proposals/{proposal.id}").get_data(as_text=True)
    assert "Chậm tiến độ" in page and "1.200.000 ₫" in page and "2.000.000 ₫" in page


def test_budget_form_refuses_decimals(client, login, officers):
    login(client, officers.province)
    response = client.post("/livelihood/budgets", data={"year": str(services.today().year), "amount_vnd": "1,5"})
    assert response.status_code == 422
    assert "thập phân" in response.get_data(as_text=True)


def test_empty_states_are_shown(client, login, officers):
    login(client, officers.commune)
    page = client.get("/livelihood/survivors").get_data(as_text=True)
    assert "Xã của bạn chưa đăng ký người được hỗ trợ nào." in page
    assert "Chưa có đề xuất nào." in client.get("/livelihood/proposals").get_data(as_text=True)


def test_changing_status_and_survey_keeps_identity_and_is_audited(client, login, officers, make_survivor):
    survivor = make_survivor()
    login(client, officers.commune)
    page = client.get(f"/livelihood/survivors/{survivor.id}/edit").get_data(as_text=True)
    assert 'name="full_name"' not in page and "1.500.000" in page
    response = client.post(f"/livelihood/survivors/{survivor.id}/edit",
                           data={"status": "being_identified", "supports_received": ["a"], "household_size": "5",
                                 "monthly_income_vnd": "2.000.000", "consent_statistics": ""})
    assert response.status_code == 302
    db.session.expire_all()
    survivor = db.session.get(Survivor, survivor.id)
    assert (survivor.status, survivor.household_size, survivor.monthly_income_vnd) == ("being_identified", 5, 2_000_000)
    assert survivor.full_name == NAME and survivor.consent_statistics is False
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "survivor_update", AuditEvent.object_id == survivor.id)) == 1


def test_training_event_is_recorded_on_her_record(client, login, officers, make_survivor):
    survivor = make_survivor()
    login(client, officers.commune)
    url = f"/livelihood/survivors/{survivor.id}/events/new"
    assert client.post(url, data={"kind": "vocational_training", "held_on": "2999-01-01"}).status_code == 422
    response = client.post(url, data={"kind": "vocational_training", "held_on": services.today().isoformat(),
                                      "completed": "y", "description": "Khóa may công nghiệp"})
    assert response.status_code == 302
    page = client.get(f"/livelihood/survivors/{survivor.id}").get_data(as_text=True)
    assert "Học nghề" in page and "đã hoàn thành" in page and "Khóa may công nghiệp" in page


def test_completion_and_withdrawal_through_the_screens(client, login, officers, make_proposal, make_budget):
    make_budget()
    disbursing = make_proposal("disbursing")
    draft = make_proposal("draft")
    login(client, officers.commune)
    assert client.post(f"/livelihood/proposals/{disbursing.id}/complete", data={}).status_code == 422
    assert client.post(f"/livelihood/proposals/{disbursing.id}/complete",
                       data={"outcome": "improving", "note": "Thu nhập tăng"}).status_code == 302
    assert client.post(f"/livelihood/proposals/{draft.id}/close", data={"reason": ""}).status_code == 422
    assert client.post(f"/livelihood/proposals/{draft.id}/close", data={"reason": "Chị chuyển đi"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Proposal, disbursing.id).state == "completed"
    assert db.session.get(Proposal, draft.id).state == "closed"
    page = client.get(f"/livelihood/proposals/{disbursing.id}").get_data(as_text=True)
    assert "Đang tiến bộ, vẫn cần hỗ trợ" in page


def test_english_is_available(client, login, officers):
    login(client, officers.commune)
    client.post("/language", data={"lang": "en", "next": "/livelihood/"})
    page = client.get("/livelihood/").get_data(as_text=True)
    assert "Livelihood support" in page and "Register a survivor" in page
