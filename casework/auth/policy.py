"""The access policy (DESIGN §1, STYLE rule 4): deny by default, in three layers.

1. ``enforce_access`` runs before every request: an endpoint that is not on the public allowlist
   needs a signed-in user, and a view that does not declare its roles with ``@allow`` is refused.
2. ``@allow(...)`` names the roles that may call a view; anyone else gets 404, like a missing page.
3. Each domain loads single objects through ``get_<noun>_or_404(user, id)`` and lists through
   ``<nouns>_visible_to(user)``, so a record outside the user's scope is indistinguishable from
   one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn

from flask import abort, current_app, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from casework.auth.models import User
from casework.auth.roles import Role
from casework.geo import data as geo
from casework.protect import audit

PUBLIC_ENDPOINTS = frozenset({
    "static", "auth.login", "main.exit", "main.language", "api.health", "api.token", "api.openapi",
    "offline.manifest", "offline.service_worker",  # issue 17: no data; browsers fetch the manifest without cookies
})
# Issue 13: ``casework.drafts`` registers here what answers a form posted after the session ended.
LOST_POST = "tincay.lost_post"
# Reachable with a password but before the second factor is enrolled.
ENROLMENT_ENDPOINTS = frozenset({"auth.enrol", "auth.logout", "main.exit", "main.language"})
# The only ones reachable by an account that must first replace the password an admin typed for it.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.password", "auth.logout", "main.exit", "main.language",
                                       "api.change_password", "api.revoke_token", "api.account"})


def allow(*roles: Role | str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare which roles may call a view. Without this declaration a view answers 404 to everyone."""
    allowed = frozenset(Role(r) for r in roles)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        view.allowed_roles = allowed  # type: ignore[attr-defined]
        return view

    return decorate


def allowed_roles(endpoint: str) -> frozenset[Role] | None:
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "allowed_roles", None)


def deny(object_type: str | None = None, object_id: str | None = None) -> NoReturn:
    """Answer 404 and keep an ``access_denied`` event, even though the request rolls back."""
    audit.record_after_rollback("access_denied", object_type=object_type, object_id=audit.opaque_id(object_id),
                                outcome="denied")
    abort(404)


def enforce_access() -> ResponseReturnValue | None:
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: the 404/405 handlers answer
        return None
    if endpoint in PUBLIC_ENDPOINTS:
        return None
    is_api = request.blueprint == "api"
    if not current_user.is_authenticated:
        if is_api:
            abort(401)
        keep_lost_post = current_app.extensions.get(LOST_POST)
        if request.method == "POST" and keep_lost_post is not None:  # her session ended while she typed
            kept: ResponseReturnValue = keep_lost_post(token_matched_cookie=True,
                                                       fallback=lambda: redirect(url_for("auth.login")))
            return kept
        return redirect(url_for("auth.login"))
    if getattr(current_user, "must_change_password", False):
        if endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            audit.record_after_rollback("access_denied", object_type="user", object_id=current_user.id,
                                        outcome="denied", detail="password_change_required")
            if is_api:
                from flask_babel import gettext as _

                from casework.errors import Forbidden

                # The API's error handler turns it into the DESIGN §4 body (no import of casework.web here).
                refusal = Forbidden(_("Choose a new password before anything else."))
                refusal.code = "password_change_required"
                raise refusal
            return redirect(url_for("auth.password"))
        return None
    if not is_api and not g.get("second_factor_done", False) and endpoint not in ENROLMENT_ENDPOINTS:
        return redirect(url_for("auth.enrol"))
    if endpoint in ENROLMENT_ENDPOINTS:
        return None
    roles = allowed_roles(endpoint)
    if not roles or Role(current_user.role) not in roles:
        deny()
    return None


def acting_user() -> User:
    """The signed-in user of this request, typed: flask_login's ``current_user`` is an untyped proxy.

    Only behind the access check (every endpoint off ``PUBLIC_ENDPOINTS`` needs a signed-in user)."""
    user: User = current_user._get_current_object()
    return user


def acting_user_and[T](find: Callable[[User, str], T], object_id: str) -> tuple[User, T]:
    """The signed-in user and what ``find`` gives them for ``object_id`` (``find`` answers 404 for what they
    may not see): the first two lines of every page and endpoint about one case, survivor or referral."""
    user = acting_user()
    return user, find(user, object_id)


def settings_province(user: User, chosen: str | None) -> str | None:
    """The province whose settings a page of province settings opens: a province officer's own, whatever she
    sends; for an admin, the province she chose, when it is one (None until she chooses)."""
    if user.role == Role.PROVINCE_OFFICER:
        return user.province_code
    return chosen if chosen and geo.province(chosen) else None


def login_session_token() -> str | None:
    return session.get("sid")


def wraps_view(view: Callable[..., Any]) -> Callable[..., Any]:  # pragma: no cover - helper for decorators
    return wraps(view)(view)
