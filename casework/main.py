"""The home page of each role, the quick exit and the language switch."""

from __future__ import annotations

import unicodedata

from flask import Blueprint, current_app, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user

from casework.auth.policy import allow
from casework.auth.roles import ALL_ROLES, Role

bp = Blueprint("main", __name__)

# The roles who receive hand-overs start on their work queue ("Việc cần làm", issue 13).
HOME_OF_ROLE = {
    Role.HOST: "work.index",
    Role.COMMUNE_OFFICER: "work.index",
    Role.PROVINCE_OFFICER: "work.index",
    Role.SERVICE_PROVIDER: "work.index",
    Role.COORDINATOR: "stats.index",
    Role.ADMIN: "admin.users",
    Role.AUDITOR: "audit.events",
}


@bp.get("/")
@allow(*ALL_ROLES)
def index():
    endpoint = HOME_OF_ROLE.get(Role(current_user.role), "main.home")
    if endpoint in current_app.view_functions and endpoint != "main.index":
        return redirect(url_for(endpoint))
    return redirect(url_for("main.home"))


@bp.get("/home")
@allow(*ALL_ROLES)
def home():
    return render_template("main/home.html")


@bp.route("/exit", methods=["GET", "POST"])
def exit():  # noqa: A001 - the quick exit is called "exit" on purpose
    """Quick exit (security.md §6.2): end the session, clear what the browser keeps, go somewhere neutral.

    A plain link, so it works without JavaScript; no CSRF token, because ending a session is harmless.
    """
    from casework.auth import services
    from casework.extensions import db

    sess = services.load_session(session.get("sid"))
    if sess is not None:
        services.end_session(sess, "quick_exit")
        db.session.commit()
    session.clear()
    response = make_response(redirect(current_app.config["SETTINGS"].exit_url, code=303))
    # Not "storage": that would also erase entries sealed offline and not yet sent (issue 17). They are
    # unreadable on the phone; docs/security.md "Offline recording" explains the choice.
    response.headers["Clear-Site-Data"] = '"cache", "cookies"'
    response.delete_cookie(current_app.config["SESSION_COOKIE_NAME"])
    return response


def safe_next(target: str) -> str:
    """``target`` when it is a path on this site, else ``/``: the switch must not redirect anywhere else.

    Browsers read ``//host`` and ``/\\host`` as another site, and drop tabs and newlines before they do
    (``/<tab>/host``), so only a single leading ``/`` followed by no ``/`` or ``\\``, and no control or
    invisible separator character anywhere, is accepted.
    """
    if not target.startswith("/") or target[1:2] in ("/", "\\") or "\\" in target or len(target) > 2000:
        return "/"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or ch.isspace() for ch in target):
        return "/"
    return target


@bp.post("/language")
def language():
    lang = request.form.get("lang", "vi")
    if lang not in ("vi", "en"):
        lang = "vi"
    session["lang"] = lang
    response = make_response(redirect(safe_next(request.form.get("next", "")), code=303))
    response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Strict", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
