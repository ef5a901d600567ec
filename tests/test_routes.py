"""Walk every route of the application for an anonymous visitor and for each role (STYLE rule 4)."""

from __future__ import annotations

import re

import pytest

from casework.auth.policy import ENROLMENT_ENDPOINTS, PUBLIC_ENDPOINTS
from casework.auth.roles import Role

ROLE_SCOPES = {
    "host": {"address": True},
    "commune_officer": {"scope": "05533"},
    "province_officer": {"scope": "19"},
    "service_provider": {"organisation_id": "org-does-not-exist"},
    "coordinator": {},
    "admin": {},
    "auditor": {},
}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "AAAAAAAAAAAAAAAAAAAAAA", rule.rule)
            yield rule, method, path


def _call(client, method, path):
    kwargs = {"json": {}} if path.startswith("/api/") and method != "GET" else {}
    return client.open(path, method=method, **kwargs)


def test_every_non_public_view_declares_its_roles(app):
    for rule, _method, _path in _routes(app):
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint in ENROLMENT_ENDPOINTS:
            continue
        roles = getattr(app.view_functions[rule.endpoint], "allowed_roles", None)
        assert roles, f"{rule.endpoint} does not declare who may call it"


def test_anonymous_reaches_only_the_allowlist(app, client):
    for rule, method, path in _routes(app):
        response = _call(client, method, path)
        assert response.status_code != 500, (method, path)
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path, response.status_code)
        else:
            assert response.status_code == 302, (method, path, response.status_code)
            assert response.headers["Location"].endswith("/login")


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_reaches_only_its_views(app, make_user, make_address, login, role):
    scope = dict(ROLE_SCOPES[role])
    if scope.pop("address", False):
        scope["address_ids"] = (make_address().id,)
    account = make_user(role, **scope)
    client = app.test_client()
    login(client, account)
    from casework.auth.models import User
    from casework.auth.services import issue_api_token
    from casework.extensions import db

    def api_headers() -> dict:
        # A fresh token per call: the walk includes the route that revokes the caller's token.
        token, _ = issue_api_token(db.session.get(User, account.id))
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    for rule, method, path in _routes(app):
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint in ENROLMENT_ENDPOINTS:
            continue
        allowed = Role(role) in (getattr(app.view_functions[rule.endpoint], "allowed_roles", None) or ())
        if path.startswith("/api/"):
            kwargs = {"json": {}} if method != "GET" else {}
            response = client.open(path, method=method, headers=api_headers(), **kwargs)
        else:
            response = client.open(path, method=method)
        assert response.status_code != 500, (role, method, path)
        if not allowed:
            assert response.status_code == 404, (role, method, path, response.status_code)
        elif method == "GET" and "AAAAAAAAAAAAAAAAAAAAAA" not in path:
            if response.status_code == 302:  # a role's start page may forward to its home
                assert not response.headers["Location"].endswith(("/login", "/enrol")), (role, path)
            else:
                assert response.status_code == 200, (role, method, path, response.status_code)
