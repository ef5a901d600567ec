"""JSON bodies that are valid JSON but not valid Unicode (lone surrogates) are a 400, never a 500."""

from __future__ import annotations

import re

import pytest

from casework.api import routes
from casework.auth.models import User
from casework.auth.services import issue_api_token
from casework.extensions import db

# Valid JSON (RFC 8259 allows any \\uXXXX escape) that decodes to a string Python cannot encode as UTF-8.
LONE = '"\\ud800"'
BODIES = {
    "value": '{"name": ' + LONE + '}',
    "nested-key": '{"person": {' + LONE + ': "x"}}',
    "in-a-list": '{"acts": ["a", "\\udfff"]}',
    "raw-surrogate-bytes": b'{"name": "\xed\xa0\x80"}',  # CESU-8 bytes, decoded by json with surrogatepass
}


def _headers(account) -> dict[str, str]:
    value, _ = issue_api_token(db.session.get(User, account.id))
    db.session.commit()
    return {"Authorization": f"Bearer {value}", "Content-Type": "application/json"}


def _assert_bad_request(response) -> None:
    assert response.status_code == 400, (response.status_code, response.get_data(as_text=True)[:200])
    error = response.get_json()["error"]
    assert error["code"] == "bad_request"
    assert error["message"] and error["fields"] == {}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_lone_surrogate_in_the_token_request_is_a_400_with_the_error_body(client, body):
    _assert_bad_request(client.post("/api/v1/auth/token", data=body, content_type="application/json"))


@pytest.mark.parametrize("role, path", [
    ("admin", "/api/v1/addresses"),
    ("admin", "/api/v1/organisations"),
    ("province_officer", "/api/v1/budgets"),
    ("coordinator", "/api/v1/statistics/releases"),
    ("commune_officer", "/api/v1/survivors"),
])
@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_lone_surrogate_in_a_create_request_is_a_400_with_the_error_body(client, make_user, role, path, body):
    scope = {"province_officer": "19", "commune_officer": "05533"}.get(role)
    headers = _headers(make_user(role, scope=scope))
    _assert_bad_request(client.post(path, data=body, headers=headers))


def test_lone_surrogate_in_a_case_intake_is_a_400_and_creates_nothing(client, make_user, make_address):
    from casework.cases.models import Case

    address = make_address()
    headers = _headers(make_user("host", address_ids=(address.id,)))
    body = ('{"address_id": "' + address.id + '", "intake_at": "2026-01-01T10:00:00+07:00", '
            '"person": {"full_name": ' + LONE + '}, "acts": ["a"], "relationship": "spouse", '
            '"consent": {"record": true}}')
    _assert_bad_request(client.post("/api/v1/cases", data=body, headers=headers))
    assert db.session.query(Case).count() == 0


def test_a_valid_surrogate_pair_is_an_ordinary_character(client, make_user):
    """The escaped pair of U+1F600 is one valid character: the body is read and judged on its values."""
    headers = _headers(make_user("admin"))
    response = client.post("/api/v1/addresses", data='{"name": "\\ud83d\\ude00", "commune_code": "x"}',
                           headers=headers)
    assert response.status_code == 422
    assert "commune_code" in response.get_json()["error"]["fields"]


def test_no_api_route_answers_500_to_a_lone_surrogate(app, client, make_user, make_address):
    """Every route that takes a body, called by a role it allows, with a lone surrogate in every field."""
    address = make_address()
    accounts = {
        "host": make_user("host", address_ids=(address.id,)),
        "commune_officer": make_user("commune_officer", scope="05533"),
        "province_officer": make_user("province_officer", scope="19"),
        "service_provider": make_user("service_provider", organisation_id="org-000000000000000001"),
        "coordinator": make_user("coordinator"), "admin": make_user("admin"), "auditor": make_user("auditor"),
    }
    tried = 0
    for spec in routes(app):
        if spec.method not in ("POST", "PATCH", "PUT") or spec.request is None:
            continue
        names = list((spec.request.get("properties") or {}).keys()) or ["name"]
        body = "{" + ", ".join(f'"{n}": {LONE}' for n in names) + "}"
        path = "/api/v1" + re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "AAAAAAAAAAAAAAAAAAAAAA", spec.rule)
        headers = {"Content-Type": "application/json"}
        if not spec.public:
            headers = _headers(accounts[spec.roles[0]])
        response = client.open(path, method=spec.method, data=body, headers=headers)
        assert response.status_code in (400, 404, 429), (spec.method, spec.rule, response.status_code)
        assert set(response.get_json()["error"]) == {"code", "message", "fields"}
        tried += 1
    assert tried >= 15
