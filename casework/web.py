"""The request cycle shared by every page and API route.

- who is asking: a server-side session for pages, a bearer token for the API (never both);
- one commit per request, after the view and before the response leaves, or a rollback on any
  error status, so a crash mid-request leaves the database as it was (DESIGN §3.2, §5);
- security headers from one hook (DESIGN §3.5);
- the language, and the display filters for dates and money (vietnam-domain §6.4).
"""

from __future__ import annotations

import logging
import secrets
import time

from flask import (
    Flask,
    Request,
    Response,
    current_app,
    g,
    has_request_context,
    jsonify,
    render_template,
    request,
    session,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import HTTPException
from wtforms import ValidationError

from casework import bounded, i18n, text
from casework.extensions import babel, db, login_manager

log = logging.getLogger("casework.request")
LOCALES = ("vi", "en")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'; "
    "manifest-src 'self'; worker-src 'self'"  # issue 17: the installable web app, own origin only
)


def select_locale() -> str:
    if not has_request_context():  # the command line and jobs speak the default language
        return "vi"
    user = current_user._get_current_object()  # once through the proxy (it runs on every page)
    if user and user.is_authenticated and user.locale in LOCALES:
        chosen = session.get("lang")
        return chosen if chosen in LOCALES else user.locale
    chosen = request.cookies.get("lang") or session.get("lang")
    return chosen if chosen in LOCALES else "vi"


def configure_i18n(app: Flask) -> None:
    i18n.install(app, LOCALES)  # templates' constant words translated when compiled, per language (issue 18)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["date"] = text.format_date
    app.jinja_env.filters["datetime"] = text.format_datetime
    app.jinja_env.filters["vnd"] = text.format_vnd
    app.jinja_env.filters["number"] = text.format_number
    app.jinja_env.globals["LOCALES"] = LOCALES
    app.jinja_env.globals["select_locale"] = select_locale
    from casework.nav import fixed_url, menu, nav_items

    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.globals["menu"] = menu
    app.jinja_env.globals["fixed_url"] = fixed_url
    from casework.forms import error_summary

    app.jinja_env.globals["error_summary"] = error_summary
    # The pages' words are translated when their templates are compiled (i18n above), so no page calls
    # ``gettext`` while it renders: nothing binds the catalogue per render any more (issue 18); a call that is
    # left (a message held in a variable) goes through Flask-Babel's template callables, with the same result.


# --- the session cookie and the CSRF token, checked and signed once per process and session (issue 18) --------

_KEPT_MAX = 4096  # entries of each mapping below, per process


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session, each cookie's check kept for ``CHECK_KEPT_SECONDS`` by this process.

    Checking the cookie's signature and reading its JSON took about 3 % of a page, on every page, for a cookie
    that changes only when the session does (``SESSION_REFRESH_EACH_REQUEST`` is off). A cookie checked here in
    the last minute gives its values again without a second check; a changed cookie (another value) is checked
    anew, and a forged one is never kept. Only cookies of plain values are kept (not one that carries flashed
    messages, a list a page changes in place): each request gets its own copy. The cookie's own age limit
    (``PERMANENT_SESSION_LIFETIME``) may be passed by at most a minute; the server-side session row keeps the
    same absolute limit and the idle one, and is checked on every request (``casework.auth.services``).
    """

    CHECK_KEPT_SECONDS = 60.0

    def __init__(self) -> None:
        self._checked: dict[str, tuple[dict[str, object], float]] = {}

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        value = request.cookies.get(self.get_cookie_name(app))
        now = time.monotonic()
        kept = self._checked.get(value) if value else None
        if kept is not None and kept[1] > now:
            return self.session_class(kept[0])
        opened = super().open_session(app, request)
        if value and opened and all(type(v) in (str, bool, int) for v in opened.values()):
            bounded.put(self._checked, value, (dict(opened), now + self.CHECK_KEPT_SECONDS), _KEPT_MAX,
                        lambda entry: entry[1] <= now)
        return opened


_SIGNED_CSRF = "tincay.signed_csrf"


def _untimed_form_tokens() -> tuple[str, dict[str, str]] | None:
    """Flask-WTF's field name and this app's signed tokens by raw token, when a signed token never expires (the
    session's own limits bound it: ``WTF_CSRF_TIME_LIMIT`` unset); None when it does. Kept by the app: two apps
    in one process share nothing."""
    if current_app.config.get("WTF_CSRF_TIME_LIMIT") is not None:
        return None
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    return field, current_app.extensions.setdefault(_SIGNED_CSRF, {})


def _reuse_form_token() -> None:
    """Before the view: the form token Flask-WTF signed for this session's raw token on an earlier page of this
    process, put where Flask-WTF keeps the request's token (``g.<field name>``), so that neither its forms nor
    ``csrf_token()`` sign it again (issue 18: signing it on every page was about 2 % of a page). With no time
    limit its signed time is never checked: the earlier token is as valid as a new one. A new session has a new
    raw token, signed anew; signing in replaces the raw token and the one in ``g`` (``drafts.bind_form_token``)."""
    untimed = _untimed_form_tokens()
    if untimed is None:
        return
    field, signed_for = untimed
    raw = session.get(field)
    signed = signed_for.get(raw) if isinstance(raw, str) else None
    if signed is not None:
        setattr(g, field, signed)


def _keep_form_token() -> None:
    """After the view: a token signed in this request for the session's raw token, kept for its next pages."""
    untimed = _untimed_form_tokens()
    if untimed is None:
        return
    field, signed_for = untimed
    signed, raw = g.get(field), session.get(field)
    if not isinstance(signed, str) or not isinstance(raw, str) or raw in signed_for:
        return
    # Once per session and process: the token is the raw one signed (not one left from a session cleared since),
    # as Flask-WTF itself checks a submitted one.
    try:
        validate_csrf(signed)
    except ValidationError:
        return
    bounded.put(signed_for, raw, signed, _KEPT_MAX, lambda _entry: False)


@login_manager.request_loader
def _load_user_from_request(req):
    from casework.auth import services

    if req.blueprint == "api":
        header = req.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            user = services.load_api_token(header[7:].strip())
            if user is not None:
                g.second_factor_done = True
                g.api_token_id = services.token_hash(header[7:].strip())
            return user
        from casework.api import session_endpoints

        if req.endpoint not in session_endpoints():
            return None
        # The offline web app (issue 17) calls a few routes with its session; only a fully signed-in one.
        sess = services.load_session(session.get("sid"))
        if sess is None or not sess.second_factor_done:
            return None
        g.user_session = sess
        g.second_factor_done = True
        g.api_session = True  # a state change then checks the X-CSRFToken header (casework.api.protect_session)
        return sess.user
    sess = services.load_session(session.get("sid"))
    if sess is None:
        return None
    g.user_session = sess
    g.second_factor_done = sess.second_factor_done
    return sess.user


def configure_request_cycle(app: Flask) -> None:
    from casework.auth.policy import enforce_access
    from casework.protect import audit

    @app.before_request
    def _start():
        g.request_id = secrets.token_hex(8)
        _reuse_form_token()
        return enforce_access()

    @app.after_request
    def _finish(response):
        failed = response.status_code >= 400 and not g.get("commit_on_error")
        try:
            if failed:
                db.session.rollback()
                audit.flush_deferred()
            else:
                if g.get("audit_deferred"):
                    audit.flush_deferred()
                _commit_without_expiring()
        except Exception:
            db.session.rollback()
            log.exception("commit failed", extra={"request_id": g.get("request_id")})
            return _error_response(500)
        _keep_form_token()
        _security_headers(response)
        log.info("%s %s %s", request.method, request.endpoint, response.status_code)
        return response

    @app.teardown_request
    def _teardown(exc):
        if exc is not None:
            db.session.rollback()


def _commit_without_expiring() -> None:
    """The request's commit, after its response is made: the session's objects are not expired, as nothing
    reads them again before the session is closed at the end of the request (expiring them all was about 4 %
    of a case view, issue 18). Every other commit keeps the default."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def _security_headers(response) -> None:
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h["X-Content-Type-Options"] = "nosniff"
    h["X-Frame-Options"] = "DENY"
    h["Referrer-Policy"] = "no-referrer"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Cross-Origin-Resource-Policy"] = "same-origin"
    h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    if request.endpoint != "static":
        # Pages may show a person: nothing is kept by the browser or a proxy (DESIGN §3.5).
        h["Cache-Control"] = "no-store"
        h["Pragma"] = "no-cache"
        h.add("Vary", "Cookie")
        response.headers.pop("ETag", None)
    if request.is_secure:
        h["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"


API_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
             405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid",
             429: "too_many_requests", 500: "server_error"}


# Each error's title and message, translated when one is shown (only that pair: a 404 answers every probe of a
# record outside the user's scope).
_ERROR_MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    401: (_l("Sign-in needed"), _l("Please sign in.")),
    403: (_l("Not allowed"), _l("You cannot do this.")),
    404: (_l("Not found"), _l("This page does not exist or you cannot see it.")),
    405: (_l("Not allowed"), _l("This action is not allowed here.")),
    409: (_l("Conflict"), _l("This is not possible in the record's current state.")),
    413: (_l("Too large"), _l("The file or form is too large.")),
    422: (_l("Invalid data"), _l("Please correct the marked fields.")),
    429: (_l("Too many attempts"), _l("Too many attempts. Please wait a few minutes and try again.")),
    500: (_l("Something went wrong"), _l("Something went wrong. Nothing was changed. Please try again.")),
}


def _error_messages(code: int) -> tuple[str, str]:
    title, message = _ERROR_MESSAGES.get(code, _ERROR_MESSAGES[500])
    return str(title), str(message)


def api_error(code: int, message: str | None = None, fields: dict[str, list[str]] | None = None,
              error_code: str | None = None) -> Response:
    title, default = _error_messages(code)
    body = {"error": {"code": error_code or API_CODES.get(code, "error"), "message": message or default,
                      "fields": fields or {}}}
    response = jsonify(body)
    response.status_code = code
    return response


def _error_response(code: int):
    if request.blueprint == "api" or request.path.startswith("/api/"):
        response = api_error(code)
    else:
        title, message = _error_messages(code)
        response = app_render_error(code, title, message)
    _security_headers(response)
    return response


def app_render_error(code: int, title: str, message: str):
    from flask import make_response

    return make_response(render_template("errors/error.html", code=code, title=title, message=message), code)


def lost_page():
    """A stale form whose account cannot be known: nothing kept, and the way back in (issue 13)."""
    from flask import make_response

    signed_in = bool(current_user and current_user.is_authenticated and g.get("second_factor_done"))
    response = make_response(render_template("drafts/lost.html", signed_in=signed_in), 400)
    _security_headers(response)
    return response


def configure_errors(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    from casework.errors import DomainError

    @app.errorhandler(CSRFError)
    def _csrf(_e):
        # A forged or stale form: end nothing, change nothing, say it plainly. A stale form of a signed-in
        # screen is kept as a draft for the account it was shown to (issue 13, casework.drafts).
        keep_lost_post = current_app.extensions.get("tincay.lost_post")
        if request.method == "POST" and request.blueprint not in ("api", "auth") and keep_lost_post is not None:
            for key in ("_login_user", "user_session", "second_factor_done", "draft_formdata", "draft_kept"):
                g.pop(key, None)  # the form check ran before ``_start``: nothing of an earlier request counts
            return keep_lost_post(token_matched_cookie=False, fallback=lost_page)
        return _error_response(400)

    @app.errorhandler(DomainError)
    def _domain(e: DomainError):
        if request.blueprint == "api":
            return api_error(e.status, e.message, e.fields, e.code)
        title, _m = _error_messages(e.status)
        return app_render_error(e.status, title, e.message)

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        return _error_response(e.code or 500)

    @app.errorhandler(Exception)
    def _crash(e: Exception):
        log.exception("unhandled error", extra={"request_id": g.get("request_id")})
        db.session.rollback()
        return _error_response(500)
