"""Account changes that need a second admin (separation of duties, issue 12).

Nobody changes her own role, scope, organisation, addresses or override permission. Changing those of
any account, resetting a second factor and re-enabling a disabled or locked account are *requests*: a
second admin confirms them within 24 hours, and only then do they take effect. The requester and the
confirmer are both in the audit event (ids only). Services flush and never commit (STYLE rule 3).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, NoReturn

from flask_babel import gettext as _
from sqlalchemy import select

from casework.auth import services
from casework.auth.models import AccountChange, User
from casework.auth.roles import SCOPE_OF_ROLE, Role
from casework.errors import Forbidden, NotFound, StateError, ValidationError
from casework.extensions import db
from casework.models import utcnow
from casework.protect import audit

EXPIRY = timedelta(hours=24)
CHANGE_FIELDS = ("role", "scope", "addresses", "organisation_id", "can_override_consent")
KIND_CHANGE, KIND_RESET, KIND_REENABLE, KIND_ACTIVATE = "change", "second_factor_reset", "reenable", "activate"


class SelfChangeForbidden(Forbidden, code="self_change_forbidden"):
    """Nobody changes her own role, scope, addresses, permissions or second factor."""


class SecondPersonRequired(Forbidden, code="second_person_required"):
    """Another administrator confirms a request, never the one who made it."""


class PendingConfirmation(StateError, code="pending_confirmation"):
    """A request for this account and field already waits for its confirmation."""


class RequestClosed(StateError, code="request_closed"):
    """The request was already confirmed, cancelled or has expired, or there is nothing to request."""


def _refuse(error: Exception, target_id: str | None, action: str = "account_change_refused") -> NoReturn:
    """Every refusal leaves one event, written after the request's rollback; then it is raised."""
    code = getattr(error, "code", "invalid")
    audit.record_after_rollback(action, object_type="user", object_id=audit.opaque_id(target_id),
                                outcome="denied", detail=code)
    raise error


def _self_change() -> SelfChangeForbidden:
    return SelfChangeForbidden(_("Nobody changes her own role, scope, organisation, addresses, permissions or "
                                 "second factor. Another administrator must do it."))


def current_values(user: User) -> dict[str, Any]:
    kind = SCOPE_OF_ROLE[Role(user.role)]
    scope = user.commune_code if kind == "commune" else user.province_code if kind == "province" else None
    return {"role": user.role, "scope": scope, "addresses": sorted(user.address_ids),
            "organisation_id": user.organisation_id, "can_override_consent": bool(user.can_override_consent)}


def _target(target_id: str, *, lock: bool = False) -> User:
    user = db.session.get(User, target_id, with_for_update=lock) if target_id else None
    if user is None:
        _refuse(NotFound(_("Not found.")), target_id, "access_denied")
    return user


def _check_open(target: User, fields: set[str], kind: str) -> None:
    rows = db.session.scalars(select(AccountChange).where(
        AccountChange.target_user_id == target.id, AccountChange.state == "pending",
        AccountChange.expires_at > utcnow()))
    for row in rows:
        if row.kind == kind and fields & set(row.fields):
            _refuse(PendingConfirmation(_("A request for this account and this field is already waiting for a "
                                          "second administrator.")), target.id)


def _validate(target: User, merged: dict[str, Any]) -> None:
    """Check the values as they would be after the change, on a throw-away copy of the account."""
    errors: dict[str, list[str]] = {}
    if merged["role"] not in {r.value for r in Role}:
        errors["role"] = [_("Choose a role from the list.")]
    else:
        probe = User(username="-", role=merged["role"])  # never added to the session
        errors.update(services._apply_scope(probe, merged["role"], merged["scope"], tuple(merged["addresses"]),
                                            merged["organisation_id"]))
        if probe in db.session:
            db.session.expunge(probe)
    if "address" in errors:
        errors["addresses"] = errors.pop("address")
    if "organisation" in errors:
        errors["organisation_id"] = errors.pop("organisation")
    if errors:
        _refuse(ValidationError(_("Please correct the marked fields."), errors), target.id)


def request_change(actor: User, target_id: str, values: dict[str, Any]) -> AccountChange:
    """Ask for a change of role, scope, addresses, organisation or override permission (keys of ``values``).

    Only the values that differ from the account's are requested. Raises SelfChangeForbidden (403),
    PendingConfirmation (409), ValidationError (422); each leaves one audit event.
    """
    target = _target(target_id, lock=True)
    if target.id == actor.id:
        _refuse(_self_change(), target.id)
    unknown = set(values) - set(CHANGE_FIELDS)
    if unknown:
        _refuse(ValidationError(_("Please correct the marked fields."),
                                {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}),
                target.id)
    current = current_values(target)
    merged = {**current, **values}
    role_ok = merged["role"] in {r.value for r in Role}
    kind_of_role = SCOPE_OF_ROLE[Role(merged["role"])] if role_ok else None
    if role_ok and "scope" not in values and kind_of_role != SCOPE_OF_ROLE[Role(target.role)]:
        merged["scope"] = None  # a commune code is no province code: a new kind of role needs its scope
    merged["addresses"] = sorted(merged["addresses"] or []) if kind_of_role == "address" else []
    if kind_of_role != "organisation":
        merged["organisation_id"] = None
    if kind_of_role not in ("commune", "province"):
        merged["scope"] = None
    _validate(target, merged)
    changed = {name: merged[name] for name in CHANGE_FIELDS if merged[name] != current[name]}
    if not changed:
        _refuse(ValidationError(_("This request changes nothing on the account.")), target.id)
    _check_open(target, set(changed), KIND_CHANGE)
    return _create(actor, target, KIND_CHANGE, sorted(changed), changed)


def request_second_factor_reset(actor: User, target_id: str) -> AccountChange:
    target = _target(target_id, lock=True)
    if target.id == actor.id:
        _refuse(_self_change(), target.id)
    _check_open(target, {"second_factor"}, KIND_RESET)
    return _create(actor, target, KIND_RESET, ["second_factor"], {})


def request_reenable(actor: User, target_id: str) -> AccountChange:
    """Re-enable a disabled account or lift an account-wide sign-in lock."""
    target = _target(target_id, lock=True)
    if target.id == actor.id:
        _refuse(_self_change(), target.id)
    locked = target.locked_until is not None and target.locked_until > utcnow()
    if target.active and not locked:
        _refuse(RequestClosed(_("This account is active and not locked.")), target.id)
    _check_open(target, {"access"}, KIND_REENABLE)
    return _create(actor, target, KIND_REENABLE, ["access"], {})


def request_activation(actor: User, new_user: User) -> AccountChange:
    """An account an admin creates starts disabled: a second admin confirms its role, scope and permissions,
    so that no admin alone makes herself a second account that reaches a woman's identity."""
    new_user.active = False
    values = current_values(new_user)
    shown = {k: v for k, v in values.items() if v not in (None, [], False)}
    return _create(actor, new_user, KIND_ACTIVATE, ["new_account", *sorted(shown)], shown)


def _create(actor: User, target: User, kind: str, fields: list[str], payload: dict[str, Any]) -> AccountChange:
    change = AccountChange(target_user_id=target.id, kind=kind, fields=fields,
                           payload=json.dumps(payload, sort_keys=True), state="pending",
                           requested_by_id=actor.id, requested_at=utcnow(), expires_at=utcnow() + EXPIRY)
    db.session.add(change)
    db.session.flush()
    audit.record("account_change_request", object_type="user", object_id=target.id, actor=actor,
                 fields=fields, detail=f"{kind}:{change.id}")
    notify_admins(change)
    return change


def _open_change(actor: User, change_id: str) -> AccountChange:
    change = db.session.scalar(select(AccountChange).where(AccountChange.id == change_id)
                               .with_for_update(of=AccountChange)
                               .execution_options(populate_existing=True)) if change_id else None
    if change is None:
        _refuse(NotFound(_("Not found.")), None, "access_denied")
    if change.state != "pending":
        _refuse(RequestClosed(_("This request was already confirmed or cancelled.")), change.target_user_id)
    if change.expires_at <= utcnow():
        _refuse(RequestClosed(_("This request expired after 24 hours. Make a new one if it is still needed.")),
                change.target_user_id)
    return change


def confirm(actor: User, change_id: str) -> tuple[AccountChange, str | None]:
    """A second admin confirms: the change takes effect. Returns the enrolment code of a reset (shown once)."""
    change = _open_change(actor, change_id)
    if change.requested_by_id == actor.id:
        _refuse(SecondPersonRequired(_("Another administrator must confirm a request you made.")),
                change.target_user_id)
    if change.target_user_id == actor.id:
        _refuse(_self_change(), change.target_user_id)
    target = _target(change.target_user_id, lock=True)
    code = None
    if change.kind == KIND_CHANGE:
        payload = json.loads(change.payload)
        merged = {**current_values(target), **payload}
        scope_fields = {"role", "scope", "addresses", "organisation_id"}
        if scope_fields & set(payload):
            errors = services._apply_scope(target, merged["role"], merged["scope"], tuple(merged["addresses"]),
                                           merged["organisation_id"])
            if errors:
                _refuse(ValidationError(_("Please correct the marked fields."), errors), target.id)
            target.role = merged["role"]
        if "can_override_consent" in payload:
            target.can_override_consent = bool(payload["can_override_consent"])
    elif change.kind == KIND_RESET:
        _user, code = services.reset_second_factor(actor, target.id)
    elif change.kind in (KIND_REENABLE, KIND_ACTIVATE):
        target.active = True
        target.locked_until = None
        target.totp_failures = 0
    _close(actor, change, "applied", "account_change_apply")
    return change, code


def cancel(actor: User, change_id: str) -> AccountChange:
    """The requester or another admin withdraws a pending request."""
    change = _open_change(actor, change_id)
    _close(actor, change, "cancelled", "account_change_cancel")
    return change


def _close(actor: User, change: AccountChange, state: str, action: str) -> None:
    """Record who decided a pending request and when, with its audit event (confirmed or cancelled)."""
    change.state = state
    change.decided_by_id = actor.id
    change.decided_at = utcnow()
    db.session.flush()
    audit.record(action, object_type="user", object_id=change.target_user_id, actor=actor,
                 fields=change.fields, detail=f"requested_by:{change.requested_by_id}")


def pending() -> list[AccountChange]:
    return list(db.session.scalars(select(AccountChange).where(
        AccountChange.state == "pending", AccountChange.expires_at > utcnow()).order_by(AccountChange.requested_at)))


def describe(change: AccountChange) -> dict[str, Any]:
    """What a request changes, for the confirmation list: field names and new values (codes and ids only)."""
    return json.loads(change.payload) if change.kind in (KIND_CHANGE, KIND_ACTIVATE) else {}


# --- the work queue and notifications (issue 13) ------------------------------------------------------------

NOTIFY_KIND = "account_change_pending"


def _pending_rows(user: User, after: Any, inclusive: bool, limit: int) -> list[Any]:
    """Requests another admin made about someone else: the ones this admin can confirm."""
    from casework.work import Row, keyset

    q = (select(AccountChange.requested_at, AccountChange.id)
         .where(AccountChange.state == "pending", AccountChange.expires_at > utcnow(),
                AccountChange.requested_by_id != user.id, AccountChange.target_user_id != user.id,
                keyset(AccountChange.requested_at, AccountChange.id, after, inclusive))
         .order_by(AccountChange.requested_at, AccountChange.id).limit(limit))
    return [Row(at, change_id, change_id[:8]) for at, change_id in db.session.execute(q)]


def notify_admins(change: AccountChange) -> int:
    from casework import notify

    admins = notify.users_with_role("admin", exclude=(change.requested_by_id, change.target_user_id))
    return notify.notify(admins, NOTIFY_KIND, "account_change", change.id, change.id[:8])


def register_work(app: Any) -> None:
    from flask_babel import lazy_gettext as _l

    from casework import notify
    from casework.work import Provider, add_provider

    add_provider(app, Provider("account_change_confirm", "account_change", frozenset({"admin"}),
                               _l("Confirm or cancel an account change another administrator asked for"),
                               "admin.account_changes", _pending_rows, lambda user: EXPIRY))
    notify.add_kind(app, NOTIFY_KIND, _l("An account change (%(ref)s) waits for a second administrator."))
    notify.add_link(app, "account_change", "admin.account_changes", "_anchor")
