"""The JSON API of DESIGN §4: the minimal payloads work, errors are 400/403/404/409/422 as documented."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from casework.extensions import db
from casework.protect.audit import AuditEvent
from livelihood import services
from livelihood.models import Budget, Proposal, Survivor
from tests.livelihood.conftest import api_token

SURVIVOR = {"person": {"full_name": "Demo Thị Năm", "birth_year": 1996, "sex": "female", "ethnicity_code": "06",
                       "phone": "0912345678"},
            "commune_code": "05533", "status": "identified", "consent": {"record": True}}
PROPOSAL_LINES = [{"item": "Lợn giống", "quantity": 2, "unit_cost_vnd": 4_500_000},
                  {"item": "Thức ăn", "quantity": 10, "unit_cost_vnd": 400_000}]


@pytest.fixture
def api(client, officers):
    """Bearer headers for the commune officer, the province officer and the second province officer."""
    return {"commune": api_token(client, officers.commune), "province": api_token(client, officers.province),
            "second": api_token(client, officers.second_province),
            "other_province": api_token(client, officers.other_province),
            "other_commune": api_token(client, officers.other_commune)}


def _year() -> int:
    return services.today().year


def test_the_whole_contract_from_budget_to_monitoring(client, api):
    r = client.post("/api/v1/budgets", json={"province_code": "19", "year": _year(), "amount_vnd": 50_000_000},
                    headers=api["province"])
    assert r.status_code == 201 and r.get_json()["available_vnd"] == 50_000_000
    r = client.post("/api/v1/survivors", json=SURVIVOR, headers=api["commune"])
    assert r.status_code == 201, r.get_json()
    survivor_id = r.get_json()["id"]
    assert r.get_json()["person"]["full_name"] == "Demo Thị Năm"
    r = client.post("/api/v1/proposals", json={"survivor_id": survivor_id, "kind": "livestock", "title": "Nuôi lợn",
                                               "budget_lines": PROPOSAL_LINES}, headers=api["commune"])
    assert r.status_code == 201
    body = r.get_json()
    assert (body["state"], body["total_vnd"]) == ("draft", 13_000_000)
    pid = body["id"]
    r = client.post(f"/api/v1/proposals/{pid}/submit", headers=api["commune"])
    assert (r.status_code, r.get_json()["state"]) == (200, "submitted")
    r = client.post(f"/api/v1/proposals/{pid}/appraisals", headers=api["province"],
                    json={"feasibility": 4, "market": 3, "skills": 4, "risks": 3, "cost": 5})
    assert (r.status_code, r.get_json()["total"], r.get_json()["state"]) == (201, 19, "under_appraisal")
    r = client.post(f"/api/v1/proposals/{pid}/decision", headers=api["province"],
                    json={"decision": "approve", "approved_amount_vnd": 10_000_000, "note": "Giảm phần thức ăn"})
    assert r.status_code == 200 and r.get_json()["state"] == "approved"
    assert r.get_json()["approved_amount_vnd"] == 10_000_000
    r = client.post(f"/api/v1/proposals/{pid}/disbursements", headers=api["province"],
                    json={"amount_vnd": 6_000_000, "date": services.today().isoformat(), "form": "cash"})
    assert r.status_code == 201
    # Four-eyes on money: the approver's own tranche waits for a second officer and counts only then.
    assert (r.get_json()["state"], r.get_json()["proposal_state"], r.get_json()["disbursed_vnd"],
            r.get_json()["remaining_vnd"]) == ("pending", "approved", 0, 4_000_000)
    tranche_id = r.get_json()["id"]
    r = client.post(f"/api/v1/proposals/{pid}/disbursements/{tranche_id}/confirm", headers=api["province"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (403, "second_person_required")
    r = client.post(f"/api/v1/proposals/{pid}/disbursements/{tranche_id}/confirm", headers=api["second"])
    assert r.status_code == 200
    assert (r.get_json()["state"], r.get_json()["proposal_state"], r.get_json()["disbursed_vnd"],
            r.get_json()["remaining_vnd"]) == ("confirmed", "disbursing", 6_000_000, 4_000_000)
    r = client.post(f"/api/v1/proposals/{pid}/visits", headers=api["commune"],
                    json={"date": services.today().isoformat(), "progress": "on_track", "income_before_vnd": 1_000_000,
                          "income_after_vnd": 1_800_000, "funds_used_as_planned": True})
    assert r.status_code == 201 and r.get_json()["income_after_vnd"] == 1_800_000
    r = client.get(f"/api/v1/proposals/{pid}/visits", headers=api["province"])
    assert [v["progress"] for v in r.get_json()["items"]] == ["on_track"]
    r = client.post(f"/api/v1/proposals/{pid}/complete", headers=api["commune"], json={"outcome": "improving"})
    assert r.get_json()["state"] == "completed"
    r = client.get("/api/v1/budgets", headers=api["province"])
    assert r.get_json()["items"][0]["committed_vnd"] == 6_000_000
    assert r.get_json()["items"][0]["disbursed_vnd"] == 6_000_000


def test_openapi_documents_every_livelihood_route_with_roles(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path, method in [("/api/v1/survivors", "post"), ("/api/v1/survivors", "get"), ("/api/v1/proposals", "post"),
                         ("/api/v1/proposals/{proposal_id}/submit", "post"),
                         ("/api/v1/proposals/{proposal_id}/decision", "post"),
                         ("/api/v1/proposals/{proposal_id}/disbursements", "post"),
                         ("/api/v1/proposals/{proposal_id}/visits", "post"), ("/api/v1/budgets", "post")]:
        op = doc["paths"][path][method]
        assert op["x-roles"] and ("requestBody" in op or method == "get" or path.endswith("submit"))
    decision = doc["paths"]["/api/v1/proposals/{proposal_id}/decision"]["post"]
    assert decision["requestBody"]["content"]["application/json"]["schema"]["properties"]["decision"]["enum"] == [
        "approve", "return", "reject"]
    assert {"403", "409", "422"} <= set(decision["responses"])


def test_malformed_json_is_400(client, api):
    r = client.post("/api/v1/survivors", data="{oops", content_type="application/json", headers=api["commune"])
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_request"


def test_survivor_without_consent_is_422_and_nothing_is_stored(client, api):
    r = client.post("/api/v1/survivors", json={**SURVIVOR, "consent": {"record": False}}, headers=api["commune"])
    assert r.status_code == 422
    assert "consent.record" in r.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(Survivor)) == 0


def test_survivor_of_another_commune_is_422(client, api):
    r = client.post("/api/v1/survivors", json={**SURVIVOR, "commune_code": "05528"}, headers=api["commune"])
    assert r.status_code == 422 and "commune_code" in r.get_json()["error"]["fields"]


@pytest.mark.parametrize(("line", "field"), [
    ({"item": "Lợn", "quantity": 1.5, "unit_cost_vnd": 100}, "budget_lines.0.quantity"),
    ({"item": "Lợn", "quantity": 1, "unit_cost_vnd": 100.0}, "budget_lines.0.unit_cost_vnd"),
    ({"item": "Lợn", "quantity": 0, "unit_cost_vnd": 100}, "budget_lines.0.quantity"),
    ({"item": "Lợn", "quantity": 1, "unit_cost_vnd": -100}, "budget_lines.0.unit_cost_vnd"),
    ({"item": "Lợn", "quantity": "2", "unit_cost_vnd": 100}, "budget_lines.0.quantity"),
    ({"item": "", "quantity": 1, "unit_cost_vnd": 100}, "budget_lines.0.item"),
])
def test_bad_budget_line_is_422_on_its_field(client, api, make_survivor, line, field):
    survivor = make_survivor()
    r = client.post("/api/v1/proposals", headers=api["commune"],
                    json={"survivor_id": survivor.id, "kind": "crops", "title": "x", "budget_lines": [line]})
    assert r.status_code == 422
    assert field in r.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0


def test_decision_on_a_draft_is_409(client, api, make_proposal):
    proposal = make_proposal("draft")
    r = client.post(f"/api/v1/proposals/{proposal.id}/decision", headers=api["province"],
                    json={"decision": "reject", "note": "x"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"


def test_submitting_twice_is_409(client, api, make_proposal):
    proposal = make_proposal("submitted")
    assert client.post(f"/api/v1/proposals/{proposal.id}/submit", headers=api["commune"]).status_code == 409


def test_approved_amount_above_the_request_is_422(client, api, make_proposal, make_budget):
    make_budget()
    proposal = make_proposal("submitted")
    r = client.post(f"/api/v1/proposals/{proposal.id}/decision", headers=api["province"],
                    json={"decision": "approve", "approved_amount_vnd": proposal.requested_vnd + 1})
    assert r.status_code == 422 and "approved_amount_vnd" in r.get_json()["error"]["fields"]
    r = client.post(f"/api/v1/proposals/{proposal.id}/decision", headers=api["province"],
                    json={"decision": "approve", "approved_amount_vnd": 1_000_000.5})
    assert r.status_code == 422


def test_disbursement_above_what_is_left_is_422_and_not_stored(client, api, make_proposal, make_budget):
    make_budget()
    proposal = make_proposal("approved", approve=2_000_000)
    r = client.post(f"/api/v1/proposals/{proposal.id}/disbursements", headers=api["province"],
                    json={"amount_vnd": 2_000_001, "date": services.today().isoformat(), "form": "cash"})
    assert r.status_code == 422 and "amount_vnd" in r.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).disbursed_vnd == 0


def test_budget_over_limit_approval_answers_422_with_a_clear_message(client, api, make_proposal, make_budget):
    make_budget(5_000_000)
    proposal = make_proposal("submitted")
    r = client.post(f"/api/v1/proposals/{proposal.id}/decision", headers=api["province"],
                    json={"decision": "approve", "approved_amount_vnd": 6_000_000})
    assert r.status_code == 422
    assert "5.000.000 ₫" in r.get_json()["error"]["fields"]["approved_amount_vnd"][0]
    db.session.expire_all()
    assert db.session.scalar(select(Budget.committed_vnd)) == 0


def test_drafter_cannot_decide_through_the_api(client, officers, make_proposal, make_budget):
    make_budget()
    proposal = make_proposal("submitted")
    drafter = officers.user(officers.commune)
    drafter.role, drafter.province_code, drafter.commune_code = "province_officer", "19", None
    db.session.commit()
    headers = api_token(client, officers.commune)
    r = client.post(f"/api/v1/proposals/{proposal.id}/decision", headers=headers,
                    json={"decision": "approve", "approved_amount_vnd": 1_000})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).state == "submitted"


def test_second_approver_completes_an_approval_above_the_threshold(client, api, make_proposal, make_budget):
    make_budget(100_000_000, second_above=5_000_000)
    proposal = make_proposal("submitted")
    url = f"/api/v1/proposals/{proposal.id}/decision"
    r = client.post(url, headers=api["province"], json={"decision": "approve", "approved_amount_vnd": 9_000_000})
    assert r.get_json() | {} == {"id": proposal.id, "state": "under_appraisal", "approved_amount_vnd": None,
                                 "awaiting_second_approval": True}
    assert client.post(url, headers=api["province"],
                       json={"decision": "approve", "approved_amount_vnd": 9_000_000}).status_code == 403
    r = client.post(url, headers=api["second"], json={"decision": "approve", "approved_amount_vnd": 9_000_000})
    assert r.get_json()["state"] == "approved"


def test_budget_of_another_province_is_404(client, api):
    r = client.post("/api/v1/budgets", json={"province_code": "11", "year": _year(), "amount_vnd": 1_000},
                    headers=api["province"])
    assert r.status_code == 404


def test_budget_set_twice_updates_it_only_after_a_second_officer_confirms(client, api):
    # Was a direct change (200 with the new amount); now a change is a two-person action (issue 12).
    payload = {"province_code": "19", "year": _year(), "amount_vnd": 1_000_000}
    assert client.post("/api/v1/budgets", json=payload, headers=api["province"]).status_code == 201
    r = client.post("/api/v1/budgets", json=payload, headers=api["province"])
    assert (r.status_code, r.get_json()["amount_vnd"]) == (200, 1_000_000)  # the same values: unchanged
    r = client.post("/api/v1/budgets", json={**payload, "amount_vnd": 2_000_000}, headers=api["province"])
    assert r.status_code == 202 and r.get_json() == {"id": r.get_json()["id"], "state": "pending"}
    change_id = r.get_json()["id"]
    assert client.get("/api/v1/budgets", headers=api["province"]).get_json()["items"][0]["amount_vnd"] == 1_000_000
    r = client.post(f"/api/v1/budget-changes/{change_id}/confirm", headers=api["second"])
    assert (r.status_code, r.get_json()["state"]) == (200, "applied")
    assert client.get("/api/v1/budgets", headers=api["province"]).get_json()["items"][0]["amount_vnd"] == 2_000_000


def test_province_officer_gets_no_identity_in_the_api(client, api, make_survivor):
    survivor = make_survivor()
    r = client.get(f"/api/v1/survivors/{survivor.id}", headers=api["province"])
    assert r.status_code == 200
    body = r.get_json()
    assert body["code"] == survivor.code
    assert "full_name" not in body["person"] and "phone" not in body["person"] and "survey" not in body
    assert "Demo" not in r.get_data(as_text=True)
    listing = client.get("/api/v1/survivors", headers=api["province"]).get_data(as_text=True)
    assert survivor.code in listing and "Demo" not in listing


@pytest.mark.parametrize("who", ["other_province", "other_commune"])
def test_records_outside_the_scope_are_404(client, api, make_proposal, make_budget, who):
    make_budget()
    proposal = make_proposal("approved")
    survivor_id = proposal.survivor_id
    headers = api[who]
    for method, url, body in [
        ("GET", f"/api/v1/survivors/{survivor_id}", None),
        ("GET", f"/api/v1/proposals/{proposal.id}", None),
        ("POST", f"/api/v1/proposals/{proposal.id}/visits", {"date": "2026-01-01", "progress": "on_track"}),
        ("POST", f"/api/v1/proposals/{proposal.id}/disbursements",
         {"amount_vnd": 1, "date": "2026-01-01", "form": "cash"}),
        ("POST", f"/api/v1/proposals/{proposal.id}/decision", {"decision": "reject", "note": "x"}),
    ]:
        r = client.open(url, method=method, json=body, headers=headers)
        assert r.status_code == 404, (who, url, r.status_code)
    listing = client.get("/api/v1/proposals", headers=headers).get_json()
    assert listing == {"items": [], "next": None}
    denied = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "access_denied", AuditEvent.object_id.in_([survivor_id, proposal.id])))
    assert denied >= 2


def test_api_lists_are_keyset_paginated(client, api, make_survivor, monkeypatch):
    monkeypatch.setattr(services, "PAGE_SIZE", 2)
    made = {make_survivor().id for _i in range(5)}
    seen, after, pages = set(), None, 0
    while True:
        r = client.get("/api/v1/survivors", query_string={"after": after} if after else None, headers=api["commune"])
        body = r.get_json()
        seen |= {item["id"] for item in body["items"]}
        pages += 1
        after = body["next"]
        if after is None:
            break
    assert seen == made and pages == 3
    assert client.get("/api/v1/survivors?after=%%%", headers=api["commune"]).status_code == 422
