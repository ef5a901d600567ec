"""The cases API with the exact payloads of DESIGN §4, and its error statuses."""

from __future__ import annotations

from datetime import timedelta

from casework.cases.services import local_today
from casework.models import utcnow
from tests.cases.conftest import NAME


def contract_payload(address_id: str) -> dict:
    return {"address_id": address_id, "intake_at": (utcnow() - timedelta(hours=1)).isoformat(),
            "person": {"full_name": NAME, "birth_year": 1990, "sex": "female", "ethnicity_code": "01",
                       "phone": "0912345678"},
            "acts": ["a", "b"], "relationship": "spouse",
            "consent": {"record": True, "statistics": True, "share": ["police", "health"]}}


def test_the_design_payload_creates_a_case(world, token, client):
    headers = token(world.host_a)
    response = client.post("/api/v1/cases", json=contract_payload(world.addr_a.id), headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["id"] and body["person"]["full_name"] == NAME and body["acts"] == ["a", "b"]
    assert body["consent"]["share"] == {"police": body["consent"]["share"]["police"],
                                        "health": body["consent"]["share"]["health"]}
    listing = client.post("/api/v1/cases/search", json={"q": "nguyen hanh"}, headers=headers).get_json()
    assert [i["id"] for i in listing["items"]] == [body["id"]] and listing["next"] is None
    assert client.get(f"/api/v1/cases/{body['id']}", headers=headers).get_json()["person"]["full_name"] == NAME


def test_the_act_đ_is_accepted_by_its_letter(world, token, client):
    payload = contract_payload(world.addr_a.id) | {"acts": ["đ"]}
    assert client.post("/api/v1/cases", json=payload, headers=token(world.host_a)).status_code == 201


def test_malformed_json_is_400(world, token, client):
    response = client.post("/api/v1/cases", data="{not json", content_type="application/json",
                           headers=token(world.host_a))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"


def test_invalid_values_are_422_with_the_field_names_the_client_sent(world, token, client):
    payload = contract_payload(world.addr_a.id)
    payload["person"]["birth_year"] = utcnow().year - 130
    payload["acts"] = ["a", "z"]
    payload["consent"]["record"] = False
    payload["intake_at"] = (utcnow() + timedelta(days=2)).isoformat()
    response = client.post("/api/v1/cases", json=payload, headers=token(world.host_a))
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert {"person.birth_year", "acts", "consent.record", "intake_at"} <= set(fields)
    assert "tương lai" in fields["intake_at"][0]


def test_a_time_without_offset_or_of_the_wrong_type_is_422(world, token, client):
    headers = token(world.host_a)
    for change in ({"intake_at": "2026-01-01T10:00"}, {"intake_at": 5}, {"acts": "a"}, {"person": []},
                   {"consent": {"record": "yes"}}):
        response = client.post("/api/v1/cases", json=contract_payload(world.addr_a.id) | change, headers=headers)
        assert response.status_code == 422, change


def test_a_case_at_an_address_out_of_scope_is_refused(world, token, client):
    response = client.post("/api/v1/cases", json=contract_payload(world.addr_b.id), headers=token(world.host_a))
    assert response.status_code == 422 and "address_id" in response.get_json()["error"]["fields"]


def test_the_full_workflow_through_the_api(world, token, client):
    host, officer = token(world.host_a), token(world.officer_a)
    case = client.post("/api/v1/cases", json=contract_payload(world.addr_a.id), headers=host).get_json()
    cid = case["id"]
    today = local_today().isoformat()
    stay = client.post(f"/api/v1/cases/{cid}/shelter-stays", json={"start_on": today, "essentials": ["food"]},
                       headers=host)
    assert stay.status_code == 201
    assert client.patch(f"/api/v1/cases/{cid}/shelter-stays/{stay.get_json()['id']}", json={"end_on": today},
                        headers=host).status_code == 200
    ban = client.post(f"/api/v1/cases/{cid}/contact-bans", json={"requester": "victim"}, headers=host)
    assert ban.status_code == 201
    until = (utcnow() + timedelta(days=2)).isoformat()
    assert client.post(f"/api/v1/cases/{cid}/contact-bans/{ban.get_json()['id']}/decision",
                       json={"decision": "granted", "valid_until": until}, headers=host).status_code == 200
    follow = client.post(f"/api/v1/cases/{cid}/follow-ups", json={"on": today, "kind": "call", "situation": "safe",
                                                                  "violence_recurred": False}, headers=host)
    assert follow.status_code == 201
    assert len(client.get(f"/api/v1/cases/{cid}/follow-ups", headers=host).get_json()["items"]) == 1
    assert client.post(f"/api/v1/cases/{cid}/closure", json={"reason": "safe_reintegrated"},
                       headers=host).get_json()["status"] == "closure_requested"
    assert client.post(f"/api/v1/cases/{cid}/closure/decision", json={"decision": "approve"},
                       headers=host).status_code == 404  # a host does not decide closures
    decided = client.post(f"/api/v1/cases/{cid}/closure/decision", json={"decision": "approve"}, headers=officer)
    assert decided.get_json()["status"] == "closed"
    assert client.post(f"/api/v1/cases/{cid}/closure", json={"reason": "moved_away"}, headers=host).status_code == 409
    assert client.post(f"/api/v1/cases/{cid}/reopen", json={"reason": "Chị ấy quay lại."},
                       headers=host).get_json()["status"] == "open"
    kinds = [e["kind"] for e in client.get(f"/api/v1/cases/{cid}/timeline", headers=host).get_json()["items"]]
    assert {"intake", "shelter_started", "shelter_ended", "contact_ban_requested", "contact_ban_decided",
            "follow_up", "closure_requested", "closure_approved", "reopened"} <= set(kinds)


def test_the_list_pages_with_a_cursor(world, token, client, make_case):
    for i in range(3):
        make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(hours=i + 1))
    headers = token(world.host_a)
    first = client.get("/api/v1/cases?after=", headers=headers).get_json()
    assert len(first["items"]) == 3 and first["next"] is None
    assert client.get("/api/v1/cases?after=!!!", headers=headers).status_code == 422
    assert client.get("/api/v1/cases?status=nonsense", headers=headers).status_code == 422


def test_every_cases_route_is_documented_with_roles_and_schemas(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    for path, method in (("/api/v1/addresses", "post"), ("/api/v1/addresses", "get"), ("/api/v1/cases", "post"),
                         ("/api/v1/cases", "get"), ("/api/v1/cases/{case_id}", "get"),
                         ("/api/v1/cases/{case_id}", "patch"), ("/api/v1/cases/{case_id}/consents", "get"),
                         ("/api/v1/cases/{case_id}/consents", "post"), ("/api/v1/cases/{case_id}/follow-ups", "post"),
                         ("/api/v1/cases/{case_id}/closure", "post"),
                         ("/api/v1/cases/{case_id}/closure/decision", "post")):
        op = paths[path][method]
        assert op["x-roles"], (path, method)
        if method in ("post", "patch"):
            assert op["requestBody"]["content"]["application/json"]["schema"]["properties"], (path, method)
    assert "q" not in {p["name"] for p in paths["/api/v1/cases"]["get"]["parameters"]}
    search = paths["/api/v1/cases/search"]["post"]
    assert search["requestBody"]["content"]["application/json"]["schema"]["required"] == ["q"]
    assert search["responses"]["200"]["content"]["application/json"]["schema"]["required"] == ["items", "next"]
    assert "400" in paths["/api/v1/cases"]["get"]["responses"]
    assert paths["/api/v1/cases/{case_id}/closure/decision"]["post"]["x-roles"] == ["commune_officer"]


def test_search_in_the_body_answers_like_the_case_list(world, token, client, make_case):
    headers = token(world.host_a)
    case_id = make_case(world.host_a, world.addr_a)
    listing = client.get("/api/v1/cases", headers=headers).get_json()
    found = client.post("/api/v1/cases/search", json={"q": "0912 345 678"}, headers=headers)
    assert found.status_code == 200
    body = found.get_json()
    assert set(body) == set(listing) == {"items", "next"} and body["next"] is None
    assert [i["id"] for i in body["items"]] == [case_id]
    assert body["items"] == [i for i in listing["items"] if i["id"] == case_id]


def test_search_takes_the_list_filters_in_the_body(world, token, client, make_case):
    headers = token(world.host_a)
    make_case(world.host_a, world.addr_a)
    open_ = client.post("/api/v1/cases/search", json={"q": "nguyen hanh", "status": "open"}, headers=headers)
    closed = client.post("/api/v1/cases/search", json={"q": "nguyen hanh", "status": "closed"}, headers=headers)
    assert len(open_.get_json()["items"]) == 1 and closed.get_json()["items"] == []
    bad = client.post("/api/v1/cases/search", json={"q": "nguyen hanh", "status": "nope"}, headers=headers)
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"status"}


def test_a_search_term_in_the_url_is_refused_with_search_in_body(world, token, client, make_case):
    from sqlalchemy import select

    from casework.extensions import db
    from casework.protect.audit import AuditEvent

    make_case(world.host_a, world.addr_a)
    for query in ("q=nguyen%20hanh", "q=", "status=open&q=0912345678"):
        response = client.get(f"/api/v1/cases?{query}", headers=token(world.host_a))
        assert response.status_code == 400, query
        error = response.get_json()["error"]
        assert error["code"] == "search_in_body" and set(error["fields"]) == {"q"}
        assert "nguyen" not in response.get_data(as_text=True)
    db.session.expire_all()
    searched = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case_search")).all()
    assert searched == []  # refused before any search ran


def test_search_without_a_term_or_with_a_wrong_type_is_422_on_q(world, token, client):
    headers = token(world.host_a)
    for body in ({}, {"q": ""}, {"q": "   "}, {"q": 5}, {"q": "x" * 101}):
        response = client.post("/api/v1/cases/search", json=body, headers=headers)
        assert response.status_code == 422, body
        assert set(response.get_json()["error"]["fields"]) == {"q"}, body
    assert client.post("/api/v1/cases/search", data="q=lan", headers=headers,
                       content_type="application/x-www-form-urlencoded").status_code == 400
