"""JSON API under /api/v1: one blueprint per application, routes contributed by each domain through ``api_route``.

Every route declares its roles, its request schema and its answers; ``openapi.json`` is assembled
from these declarations, so the document cannot drift from the code. ``api_route`` only records a declaration
beside the module that makes it; an application gets the routes of the modules it is given (``contribute``,
called by ``create_app`` for the core and by each domain's ``register``) when ``install`` builds its own
blueprint, so two applications in one process share nothing but the declarations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from flask import Blueprint, Flask, current_app

from casework.auth.policy import allow
from casework.auth.roles import Role
from casework.extensions import csrf


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


@dataclass(frozen=True)
class Declared:
    spec: RouteSpec
    view: Callable[..., Any]
    session: bool  # also callable with the signed-in session (the offline web app), CSRF token required


# What each module declared when it was imported, by module name: declarations, not an application's state.
_DECLARED: dict[str, list[Declared]] = {}
_KEY = "tincay.api"


@dataclass
class Api:
    """One application's API: the modules contributing routes, then (after ``install``) its routes."""

    modules: list[ModuleType] = field(default_factory=list)
    routes: tuple[RouteSpec, ...] = ()
    # Routes the installable web app calls with its signed-in session (besides a bearer token); a state change
    # through the session needs the CSRF token in the X-CSRFToken header (casework.web).
    session_endpoints: frozenset[str] = frozenset()
    installed: bool = False


def api_route(rule: str, method: str, *, summary: str, roles: Iterable[Role | str] = (),
              request: dict[str, Any] | None = None, response: dict[str, Any] | None = None,
              status: int = 200, query: dict[str, dict[str, Any]] | None = None, public: bool = False,
              errors: tuple[int, ...] = (400, 401, 404, 422),
              media: tuple[str, ...] = (), session: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a JSON route of this module and describe it for the OpenAPI document."""
    role_values = tuple(Role(r).value for r in roles)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        if not public:
            allow(*role_values)(view)
        spec = RouteSpec(rule, method, f"api.{view.__name__}", summary, role_values, request, response,
                         status, query or {}, public, errors, media)
        _DECLARED.setdefault(view.__module__, []).append(Declared(spec, view, session))
        return view

    return decorate


def _api(app: Flask) -> Api:
    api: Api = app.extensions.setdefault(_KEY, Api())
    return api


def contribute(app: Flask, *modules: ModuleType) -> None:
    """Give ``app`` the routes declared in ``modules`` (each an imported ``api`` module)."""
    api = _api(app)
    if api.installed:
        raise RuntimeError("the API of this application is already installed")
    api.modules.extend(m for m in modules if m not in api.modules)


def install(app: Flask) -> None:
    """Build this application's blueprint from the contributed modules and register it."""
    api = _api(app)
    bp = Blueprint("api", __name__, url_prefix="/api/v1")
    csrf.exempt(bp)  # bearer tokens are not sent by browsers on their own, so no CSRF token is needed
    routes: list[RouteSpec] = []
    session: set[str] = set()
    for module in api.modules:
        for declared in _DECLARED.get(module.__name__, ()):
            spec = declared.spec
            bp.add_url_rule(spec.rule, endpoint=spec.endpoint.removeprefix("api."), view_func=declared.view,
                            methods=[spec.method])
            routes.append(spec)
            if declared.session:
                session.add(spec.endpoint)
    api.routes, api.session_endpoints, api.installed = tuple(routes), frozenset(session), True
    app.register_blueprint(bp)


def routes(app: Flask | None = None) -> tuple[RouteSpec, ...]:
    """The routes of ``app`` (the current application by default), in the order they were contributed."""
    return _api(app or current_app).routes


def session_endpoints(app: Flask | None = None) -> frozenset[str]:
    return _api(app or current_app).session_endpoints


def protect_session() -> None:
    """A state change reached through the browser's session needs its CSRF token (header X-CSRFToken)."""
    from flask import g

    if g.get("api_session"):
        csrf.protect()
