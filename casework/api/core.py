"""Core API routes: health, tokens and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request
from flask_babel import gettext as _

from casework.api import RouteSpec, api_route, routes
from casework.api.json import json_body
from casework.auth import services
from casework.auth.roles import ALL_ROLES
from casework.auth.schemas import TokenRequest
from casework.extensions import limiter
from casework.web import api_error

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message", "fields"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}}}},
}


@api_route("/health", "GET", summary="Liveness check", public=True,
           response={"type": "object", "required": ["status"], "properties": {"status": {"enum": ["ok"]}}},
           errors=())
def health() -> Response:
    return jsonify(status="ok")


def _login_limit() -> str:
    return str(current_app.config["SETTINGS"].login_rate_limit)


@api_route("/auth/token", "POST", summary="Exchange username, password and TOTP code for a bearer token",
           public=True, status=200, request=TokenRequest.openapi(),
           response={"type": "object", "required": ["token", "expires_at"], "properties": {
               "token": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}}},
           errors=(400, 401, 422, 429))
@limiter.limit(_login_limit)
def token() -> Response:
    body = TokenRequest.from_json(json_body())
    try:
        result = services.authenticate(body.username, body.password, body.totp, client=request.remote_addr)
        if result.needs_enrolment:
            raise services.SignInFailed
    except services.SignInFailed:
        g.commit_on_error = True
        return api_error(401, _("The username, password or code is not right, or the account cannot sign in now."),
                         error_code="invalid_credentials")
    value, expires = services.issue_api_token(result.user, client=services.client_label(request.user_agent.string))
    return jsonify(token=value, expires_at=expires.isoformat())


@api_route("/auth/token", "DELETE", summary="Revoke the bearer token used for this request", roles=ALL_ROLES,
           response={"type": "object"}, errors=(401,))
def revoke_token() -> Response:
    from casework.auth.models import ApiToken
    from casework.extensions import db
    from casework.models import utcnow

    row = db.session.get(ApiToken, services.token_hash(request.headers.get("Authorization", "")[7:].strip()))
    if row is not None:
        row.revoked_at = utcnow()
    return jsonify({})


def openapi30(schema: Any) -> Any:
    """A JSON Schema written as OpenAPI 3.0's schema object: ``"type": ["string", "null"]`` (what the typed input
    schemas and some answers declare) and ``anyOf`` with a ``{"type": "null"}`` member become ``nullable``."""
    if isinstance(schema, list):
        return [openapi30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: openapi30(value) for key, value in schema.items()}
    if out.get("required") == []:  # "none required" is said by leaving it out in OpenAPI 3.0
        out.pop("required")
    kind = out.get("type")
    if isinstance(kind, list):
        rest = [k for k in kind if k != "null"]
        if len(rest) == 1:
            out["type"] = rest[0]
        else:
            out.pop("type")
            out["anyOf"] = [{"type": k} for k in rest]
        if "null" in kind:
            out["nullable"] = True
    for combinator in ("anyOf", "oneOf"):
        options = out.get(combinator)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [option for option in options if option != {"type": "null"}]
            out.pop(combinator)
            if len(rest) == 1:
                out.update(rest[0])
            else:
                out[combinator] = rest
            out["nullable"] = True
    return out


def _operation(spec: RouteSpec) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": spec.summary, "responses": {},
                          "operationId": spec.endpoint.replace(".", "_") + "_" + spec.method.lower()}
    if not spec.public:
        op["security"] = [{"bearer": []}]
        op["x-roles"] = list(spec.roles)
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in _path_params(spec.rule)]
    for name, schema in spec.query.items():
        params.append({"name": name, "in": "query", "required": False, "schema": openapi30(schema)})
    if params:
        op["parameters"] = params
    if spec.request is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": openapi30(spec.request)}}}
    op["responses"][str(spec.status)] = {"description": "Success"} if spec.status == 204 else {
        "description": "Success",
        "content": {"application/json": {"schema": openapi30(spec.response or {"type": "object"})}},
    }
    for media in spec.media:
        op["responses"][str(spec.status)]["content"][media] = {"schema": {"type": "string", "format": "binary"}}
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for code in spec.errors:
        op["responses"][str(code)] = {"description": "Error", "content": error_body}
    return op


def _path_params(rule: str) -> list[str]:
    import re

    return re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", rule)


def _openapi_path(rule: str) -> str:
    import re

    return "/api/v1" + re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


@api_route("/openapi.json", "GET", summary="This document", public=True, errors=())
def openapi() -> Response:
    paths: dict[str, dict[str, Any]] = {}
    for spec in routes():
        paths.setdefault(_openapi_path(spec.rule), {})[spec.method.lower()] = _operation(spec)
    return jsonify({
        "openapi": "3.0.3",
        "info": {"title": "Tin Cậy API", "version": "1"},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
    })
