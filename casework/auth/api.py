"""Account API: one's own account, password and sessions; account changes that a second admin confirms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g, jsonify
from flask.typing import ResponseReturnValue

from casework.api import api_route
from casework.api.json import json_body
from casework.auth import changes, services
from casework.auth.models import AccountChange, User
from casework.auth.policy import acting_user
from casework.auth.roles import ALL_ROLES, Role
from casework.auth.schemas import AccountChangeRequest, EnrolledPasswordChangeApi, PasswordChangeApi
from casework.errors import ValidationError
from casework.protect import audit
from casework.schemas import CORRECT_FIELDS

ACCOUNT_SCHEMA = {
    "type": "object",
    "required": ["id", "username", "role", "scope", "addresses", "organisation_id", "can_override_consent",
                 "must_change_password", "second_factor_enrolled"],
    "properties": {
        "id": {"type": "string"}, "username": {"type": "string"}, "display_name": {"type": "string"},
        "role": {"enum": [r.value for r in Role]}, "scope": {"type": "string", "nullable": True},
        "addresses": {"type": "array", "items": {"type": "string"}},
        "organisation_id": {"type": "string", "nullable": True},
        "can_override_consent": {"type": "boolean"}, "must_change_password": {"type": "boolean"},
        "second_factor_enrolled": {"type": "boolean"}, "locale": {"type": "string"},
    },
}
PENDING_SCHEMA = {"type": "object", "required": ["id", "state"], "properties": {
    "id": {"type": "string"}, "state": {"enum": ["pending"]}}}
CHANGE_SCHEMA = {"type": "object", "required": ["id", "user_id", "kind", "fields", "state", "requested_by",
                                                 "requested_at", "expires_at"], "properties": {
    "id": {"type": "string"}, "user_id": {"type": "string"}, "username": {"type": "string"},
    "kind": {"enum": [changes.KIND_CHANGE, changes.KIND_RESET, changes.KIND_REENABLE, changes.KIND_ACTIVATE]},
    "fields": {"type": "array", "items": {"type": "string"}}, "values": {"type": "object"},
    "state": {"type": "string"}, "requested_by": {"type": "string"},
    "requested_at": {"type": "string", "format": "date-time"},
    "expires_at": {"type": "string", "format": "date-time"}}}
ACCOUNT_ERRORS = (400, 401, 403, 404, 409, 422)


def _me() -> User:
    return acting_user()


def _request_route(rule: str, summary: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An admin's POST that asks for an account change without a body; another admin confirms it."""
    return api_route(rule, "POST", summary=summary, roles=[Role.ADMIN], status=202, response=PENDING_SCHEMA,
                     errors=(401, 403, 404, 409))


def _pending(change: AccountChange) -> ResponseReturnValue:
    """The answer to a request of an account change: it waits for a second admin (202)."""
    return jsonify(id=change.id, state="pending"), 202


@api_route("/account", "GET", summary="The caller's own account", roles=ALL_ROLES, response=ACCOUNT_SCHEMA,
           errors=(401, 403))
def account() -> ResponseReturnValue:
    user = _me()
    values = changes.current_values(user)
    return jsonify(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                   scope=values["scope"], addresses=values["addresses"], organisation_id=values["organisation_id"],
                   can_override_consent=values["can_override_consent"],
                   must_change_password=bool(user.must_change_password),
                   second_factor_enrolled=bool(user.totp_confirmed), locale=user.locale)


@api_route("/account/password", "POST", summary="Change the caller's password (current password and a code)",
           roles=ALL_ROLES, status=204, request=EnrolledPasswordChangeApi.openapi(), errors=(400, 401, 403, 422))
def change_password() -> ResponseReturnValue:
    me = _me()
    schema = EnrolledPasswordChangeApi if me.totp_confirmed else PasswordChangeApi
    body, errors = schema.collect(json_body())
    if body is None:
        audit.record_after_rollback("password_change_failed", object_type="user", object_id=me.id,
                                    outcome="denied", fields=sorted(errors))
        raise ValidationError(str(CORRECT_FIELDS), errors)
    try:
        services.change_password(me, body.current_password, body.new_password, body.totp or "",
                                 keep_token_id=g.get("api_token_id"))
    except Exception:
        g.commit_on_error = True  # a TOTP code used by a refused attempt stays used (no replay)
        raise
    return "", 204


@api_route("/account/sessions/end-others", "POST",
           summary="End every other session and bearer token of the caller; the calling token keeps working",
           roles=ALL_ROLES, status=204, errors=(401, 403))
def end_other_sessions() -> ResponseReturnValue:
    user = _me()
    services.end_other_sessions(user, None, g.get("api_token_id"), "ended_by_user")
    audit.record("sessions_end_others", object_type="user", object_id=user.id, actor=user)
    return "", 204


@api_route("/users/<user_id>", "PATCH",
           summary="Request a change of an account's role, scope, addresses, organisation or override permission; "
                   "it takes effect when another admin confirms it (202). Never on one's own account (403).",
           roles=[Role.ADMIN], status=202, request=AccountChangeRequest.openapi(),
           response=PENDING_SCHEMA, errors=ACCOUNT_ERRORS)
def user_change(user_id: str) -> ResponseReturnValue:
    data = json_body()
    me = _me()
    if user_id == me.id:  # refused before anything else is read from the body
        changes.request_change(me, user_id, {})
    values, errors = AccountChangeRequest.read(data)
    if errors:
        audit.record_after_rollback("account_change_refused", object_type="user", outcome="denied",
                                    detail="invalid")
        raise ValidationError(str(CORRECT_FIELDS), errors)
    return _pending(changes.request_change(me, user_id, values))


@_request_route("/users/<user_id>/second-factor/reset",
                "Request a second-factor reset; another admin confirms it and receives the enrolment code")
def user_second_factor_reset(user_id: str) -> ResponseReturnValue:
    return _pending(changes.request_second_factor_reset(_me(), user_id))


@_request_route("/users/<user_id>/reenable",
                "Request re-enabling a disabled or locked account; another admin confirms it")
def user_reenable(user_id: str) -> ResponseReturnValue:
    return _pending(changes.request_reenable(_me(), user_id))


@api_route("/account-changes", "GET", summary="Account changes waiting for a second admin", roles=[Role.ADMIN],
           response={"type": "object", "required": ["items"], "properties": {
               "items": {"type": "array", "items": CHANGE_SCHEMA}}}, errors=(401, 403))
def account_change_list() -> ResponseReturnValue:
    items = [{"id": c.id, "user_id": c.target_user_id, "username": c.target.username, "kind": c.kind,
              "fields": c.fields, "values": changes.describe(c), "state": c.state,
              "requested_by": c.requested_by_id, "requested_at": c.requested_at.isoformat(),
              "expires_at": c.expires_at.isoformat()} for c in changes.pending()]
    return jsonify(items=items)


@api_route("/account-changes/<change_id>/confirm", "POST",
           summary="Confirm another admin's account change: it takes effect now. A second-factor reset's answer "
                   "carries the enrolment code, once.",
           roles=[Role.ADMIN], status=200,
           response={"type": "object", "required": ["id", "state"], "properties": {
               "id": {"type": "string"}, "state": {"enum": ["applied"]}, "enrolment_code": {"type": "string"},
               "enrolment_code_expires_at": {"type": "string", "format": "date-time"}}},
           errors=(401, 403, 404, 409, 422))
def account_change_confirm(change_id: str) -> ResponseReturnValue:
    change, code = changes.confirm(_me(), change_id)
    body: dict[str, Any] = {"id": change.id, "state": "applied"}
    expires = change.target.enrolment_code_expires_at  # set by the reset that made the code
    if code is not None and expires is not None:
        body["enrolment_code"] = code
        body["enrolment_code_expires_at"] = expires.isoformat()
    return jsonify(body)


@api_route("/account-changes/<change_id>/cancel", "POST", summary="Withdraw a pending account change",
           roles=[Role.ADMIN], status=200,
           response={"type": "object", "required": ["id", "state"], "properties": {
               "id": {"type": "string"}, "state": {"enum": ["cancelled"]}}}, errors=(401, 403, 404, 409))
def account_change_cancel(change_id: str) -> ResponseReturnValue:
    change = changes.cancel(_me(), change_id)
    return jsonify(id=change.id, state="cancelled")
