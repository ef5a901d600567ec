"""The case list's filters (issue 14): one schema reads the query of GET /cases and the body of POST /cases/search,
each bad value answered on its own field in Vietnamese, and the OpenAPI document takes the parameters from it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from casework.cases import codes
from casework.cases.services import local_today

FROM_THE_LIST = "Chọn trong danh sách."
ISO_DATE = "Hãy ghi ngày theo dạng 2026-03-05."
CORRECT_FIELDS = "Hãy sửa các ô được đánh dấu."


def _error(response, message: str = CORRECT_FIELDS) -> dict:
    """The messages per field of a 422 in the error body of DESIGN §4."""
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and error["message"] == message
    return error["fields"]


def test_each_bad_list_filter_gets_its_own_message(world, token, client):
    query = urlencode({"status": "nope", "risk": "huge", "form": "verbal", "from": "2026-13-01", "to": "hôm qua"})
    fields = _error(client.get(f"/api/v1/cases?{query}", headers=token(world.host_a)))
    assert fields == {"status": [FROM_THE_LIST], "risk": [FROM_THE_LIST], "form": [FROM_THE_LIST],
                      "from": [ISO_DATE], "to": [ISO_DATE]}


def test_a_page_link_that_is_too_long_or_not_ours_is_refused_on_after(world, token, client):
    headers = token(world.host_a)
    assert _error(client.get("/api/v1/cases?after=" + "x" * 201, headers=headers)) == {"after": ["Tối đa 200 ký tự."]}
    not_ours = "Liên kết trang này không hợp lệ."
    assert _error(client.get("/api/v1/cases?after=!!!", headers=headers), not_ours) == {"after": [not_ours]}


def test_an_empty_filter_is_no_filter_and_a_good_one_filters(world, token, client, make_case):
    headers = token(world.host_a)
    case_id = make_case(world.host_a, world.addr_a)
    today = local_today()

    def ids(**query) -> list[str]:
        response = client.get(f"/api/v1/cases?{urlencode(query)}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids(status="", risk="", form="", **{"from": "", "to": ""}) == [case_id]
    assert ids(status="open") == [case_id] and ids(status="closed") == []
    assert ids(**{"from": (today + timedelta(days=2)).isoformat()}) == []
    assert ids(**{"from": (today - timedelta(days=2)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}) \
        == [case_id]


def test_the_search_body_filters_are_judged_as_json(world, token, client):
    # In a JSON body a date is ISO only and a code must be text (the query reads every value as text).
    body = {"q": "nguyen hanh", "status": 5, "risk": "huge", "from": "05/03/2026", "to": 20260305}
    fields = _error(client.post("/api/v1/cases/search", json=body, headers=token(world.host_a)))
    assert fields == {"status": [FROM_THE_LIST], "risk": [FROM_THE_LIST], "from": [ISO_DATE], "to": [ISO_DATE]}


def test_each_bad_search_term_gets_its_own_message(world, token, client):
    headers = token(world.host_a)
    for body, message in (({}, "Hãy nhập tên hoặc số điện thoại."), ({"q": "  "}, "Hãy nhập tên hoặc số điện thoại."),
                          ({"q": 5}, "Ô này phải là chữ."), ({"q": "x" * 101}, "Tối đa 100 ký tự.")):
        fields = _error(client.post("/api/v1/cases/search", json=body, headers=headers))
        assert fields == {"q": [message]}, body


def test_the_list_filters_are_documented_from_the_schema(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    parameters = {p["name"]: p for p in paths["/api/v1/cases"]["get"]["parameters"]}
    assert set(parameters) == {"status", "risk", "form", "from", "to", "after"}
    assert all(p["in"] == "query" and not p["required"] for p in parameters.values())
    schemas = {name: p["schema"] for name, p in parameters.items()}
    for name, values in (("status", codes.STATUSES), ("risk", codes.RISK_LEVELS), ("form", codes.FORMS)):
        assert schemas[name] == {"type": "string", "enum": sorted(values)}, name
    assert schemas["from"] == schemas["to"] == {"type": "string", "format": "date"}
    assert schemas["after"] == {"type": "string", "maxLength": 200}
    search = paths["/api/v1/cases/search"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(search["properties"]) == {"q", "status", "risk", "form", "from", "to"}
    assert search["properties"]["q"] == {"type": "string", "minLength": 1, "maxLength": 100}
