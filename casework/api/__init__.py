"""JSON API under /api/v1: one blueprint, routes contributed by each domain through ``api_route``.

Every route declares its roles, its request schema and its answers; ``openapi.json`` is assembled
from these declarations, so the document cannot drift from the code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from flask import Blueprint

from casework.auth.policy import allow
from casework.auth.roles import Role
from casework.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens are not sent by browsers on their own, so no CSRF token is needed


@dataclass
class RouteSpec:
    rule: str
    method: str
    endpoint: str
    summary: str
    roles: tuple[str, ...]
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    status: int = 200
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    public: bool = False
    errors: tuple[int, ...] = (400, 401, 404, 422)
    media: tuple[str, ...] = ()  # other content types the success answer may have (downloads)


ROUTES: list[RouteSpec] = []
# Routes the installable web app calls with its signed-in session (besides a bearer token); a state change
# through the session needs the CSRF token in the X-CSRFToken header (casework.web).
SESSION_ENDPOINTS: set[str] = set()


def api_route(rule: str, method: str, *, summary: str, roles: Iterable[Role | str] = (),
              request: dict[str, Any] | None = None, response: dict[str, Any] | None = None,
              status: int = 200, query: dict[str, dict[str, Any]] | None = None, public: bool = False,
              errors: tuple[int, ...] = (400, 401, 404, 422),
              media: tuple[str, ...] = (), session: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a JSON route on the API blueprint and describe it for the OpenAPI document."""
    role_values = tuple(Role(r).value for r in roles)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        endpoint = view.__name__
        if not public:
            allow(*role_values)(view)
        bp.add_url_rule(rule, endpoint=endpoint, view_func=view, methods=[method])
        if session:
            SESSION_ENDPOINTS.add(f"api.{endpoint}")
        ROUTES.append(RouteSpec(rule, method, f"api.{endpoint}", summary, role_values, request, response,
                                status, query or {}, public, errors, media))
        return view

    return decorate


def protect_session() -> None:
    """A state change reached through the browser's session needs its CSRF token (header X-CSRFToken)."""
    from flask import g

    if g.get("api_session"):
        csrf.protect()


_loaded = False


def load_routes(domains: Iterable[ModuleType]) -> None:
    """Import the core's and each domain's ``api`` module once, before the blueprint is registered."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    importlib.import_module("casework.api.core")
    importlib.import_module("casework.auth.api")
    for name in ("casework.cases.api", "casework.cases.transfer_api", "casework.stats.api", "casework.work_api",
                 "casework.offline.api"):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
    for domain in domains:
        try:
            importlib.import_module(f"{domain.__name__}.api")
        except ModuleNotFoundError as e:
            if e.name != f"{domain.__name__}.api":
                raise
