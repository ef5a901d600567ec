from __future__ import annotations

from casework.auth.models import ApiToken
from casework.extensions import db
from tests.conftest import next_code

CREDENTIALS_ERROR = {"code": "invalid_credentials"}


def test_health_needs_no_token(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_token_is_issued_for_password_and_totp(client, make_user):
    account = make_user("auditor")
    response = client.post("/api/v1/auth/token", json={"username": account.username, "password": account.password,
                                                       "totp": next_code(account)})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"token", "expires_at"}
    # Stored hashed: the database never holds the bearer token itself.
    assert db.session.get(ApiToken, body["token"]) is None
    assert db.session.query(ApiToken).count() == 1


def test_every_token_failure_gives_the_same_error(client, make_user):
    account = make_user("auditor")
    attempts = [
        {"username": account.username, "password": "wrong password here", "totp": next_code(account)},
        {"username": account.username, "password": account.password, "totp": "000000"},
        {"username": "nobody", "password": account.password, "totp": "123456"},
    ]
    bodies = []
    for data in attempts:
        response = client.post("/api/v1/auth/token", json=data)
        assert response.status_code == 401
        bodies.append(response.get_json())
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["error"]["code"] == "invalid_credentials"


def test_malformed_json_is_400_and_missing_field_is_422(client):
    response = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"
    response = client.post("/api/v1/auth/token", json={"username": "a"})
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"password", "totp"}
    assert fields["password"] == ["Ô này là bắt buộc."]


def test_bearer_token_authenticates_and_revocation_ends_it(client, make_user):
    account = make_user("auditor")
    token = client.post("/api/v1/auth/token", json={"username": account.username, "password": account.password,
                                                    "totp": next_code(account)}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 200
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 401


def test_expired_token_is_refused(client, make_user):
    from datetime import timedelta

    account = make_user("auditor")
    token = client.post("/api/v1/auth/token", json={"username": account.username, "password": account.password,
                                                    "totp": next_code(account)}).get_json()["token"]
    row = db.session.query(ApiToken).one()
    row.expires_at = row.expires_at - timedelta(hours=24)
    db.session.commit()
    assert client.delete("/api/v1/auth/token", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_api_ignores_the_browser_session_cookie(client, make_user, login):
    login(client, make_user("auditor"))
    assert client.delete("/api/v1/auth/token").status_code == 401


def test_openapi_documents_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)


def test_api_errors_have_the_contract_shape(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code in (401, 404)
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}


def test_the_openapi_document_validates(client):
    """The document outside tools read is valid OpenAPI (openapi-spec-validator), its request bodies included."""
    from openapi_spec_validator import validate

    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    bodies = [op["requestBody"] for ops in doc["paths"].values() for op in ops.values() if "requestBody" in op]
    assert len(bodies) > 20
