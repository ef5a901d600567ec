"""The drafts screens and the request hooks that keep, restore and finish drafts (issue 13)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casework.auth.models import User
from casework.auth.policy import acting_user, allow
from casework.auth.roles import ALL_ROLES
from casework.drafts import services
from casework.extensions import db
from casework.models import ID_LENGTH, utcnow

bp = Blueprint("drafts", __name__, url_prefix="/drafts")


def _me() -> User:
    return acting_user()


def _signed_in_user():
    """The fully signed-in user of this request, if any (the hooks also run where no view was allowed yet)."""
    if current_user and current_user.is_authenticated and g.get("second_factor_done"):
        return _me()
    return None


def filling() -> bool:
    """Whether this GET fills its form from a draft: a view then leaves its own defaults aside."""
    return g.get("draft_formdata") is not None


# --- screens -----------------------------------------------------------------------------------------------


@bp.get("/")
@allow(*ALL_ROLES)
def index():
    drafts = list(db.session.scalars(services.visible_to(_me().id).limit(100)))
    return render_template("drafts/index.html", drafts=drafts, label=services.form_label, now=utcnow())


@bp.get("/<draft_id>/open")
@allow(*ALL_ROLES)
def open_draft(draft_id: str):
    draft = services.get_or_404(_me(), draft_id)
    return redirect(services.form_url(draft), 303)


@bp.post("/<draft_id>/delete")
@allow(*ALL_ROLES)
def delete(draft_id: str):
    draft = services.get_or_404(_me(), draft_id)
    services.discard(_me(), draft)
    flash(_("The draft was deleted."), "info")
    return redirect(url_for("drafts.index"), 303)


# --- a form posted after the session ended ------------------------------------------------------------------


def lost_post_response(token_matched_cookie: bool, fallback: Callable[[], Any]) -> Any:
    """Keep the form for the account it was shown to and say so; ``fallback`` when nothing can be kept."""
    draft = services.keep_lost_post(token_matched_cookie)
    if draft is None:
        return fallback()
    g.draft_kept = True
    user = _signed_in_user()
    if user is not None and user.id == draft.user_id:  # she signed in again meanwhile: straight back
        return redirect(services.form_url(draft), 303)
    if user is not None:  # another account signs in on this phone now: it learns nothing of the draft
        flash(_("This form was opened in an earlier session, so nothing was saved."), "warning")
        return redirect(url_for("main.index"), 303)
    session[services.SESSION_KEY] = draft.id
    flash(_("Your session had ended, so nothing was saved yet. What you typed is kept as a draft for 24 hours: "
            "sign in again and the form comes back filled in. Passwords, codes and files are not kept."), "warning")
    return redirect(url_for("auth.login"), 303)


# --- hooks -------------------------------------------------------------------------------------------------


def _before():
    user = _signed_in_user()
    if user is None or request.endpoint is None or request.blueprint == "api":
        return None
    if request.method == "GET" and services.DRAFT_ARG in request.args:
        filled = services.formdata_for_request(user)
        if filled is not None:
            g.draft_formdata = filled
            flash(_("This is what you typed earlier; it is not saved yet. Check it, then save."), "warning")
        return None
    if request.method == "POST" and request.form.get(services.SAVE_BUTTON) \
            and services.offers_explicit_draft(request.endpoint):
        draft = services.keep_explicit(user)
        g.draft_kept = True
        if draft is None:
            flash(_("Nothing was typed yet, so no draft was kept."), "info")
            return redirect(request.url, 303)
        flash(_("Saved as a draft: nothing is recorded in the case list or the statistics yet. Finish it from "
                "“To do” within %(days)d days; after that it is erased.",
                days=services.EXPLICIT_DAYS), "info")
        from casework.work import has_work

        return redirect(url_for("work.index") if has_work(user) else url_for("drafts.index"), 303)
    return None


def _after(response):
    if (request.method == "POST" and services.DRAFT_ARG in request.args and response.status_code in (302, 303)
            and not g.get("draft_kept")):
        user = _signed_in_user()
        if user is not None:
            services.finish(user, request.args.get(services.DRAFT_ARG, "")[:ID_LENGTH], request.endpoint)
    return response


def install_form_filler() -> None:
    """A form built on ``GET …?draft=<id>`` without explicit data takes the draft's fields (not validated,
    not saved: she checks and saves). One hook on Flask-WTF's form data, so every screen's form can be
    restored without changing its view."""
    from flask import has_request_context
    from flask_wtf import FlaskForm
    from flask_wtf.form import _Auto

    meta = FlaskForm.Meta
    if getattr(meta, "_tincay_drafts", False):
        return
    original = meta.wrap_formdata

    def wrap_formdata(self, form, formdata):
        if formdata is _Auto and has_request_context() and request.method == "GET":
            filled = g.get("draft_formdata")
            if filled is not None:
                return filled
        return original(self, form, formdata)

    meta.wrap_formdata = wrap_formdata
    meta._tincay_drafts = True


def _refill(sender, template, context, **extra) -> None:
    """Just before the page is drawn, the draft's values win over the defaults a view set on GET (an edit
    screen fills its form from the record; the draft is what she typed over it). Only a form that has the
    draft's fields is refilled; choices the view set stay."""
    from flask_wtf import FlaskForm

    filled = g.get("draft_formdata")
    if filled is None:
        return
    names = {name for name in filled.keys() if name != services.SAVE_BUTTON}
    for value in context.values():
        if isinstance(value, FlaskForm) and not getattr(value, "_draft_refilled", False):
            if names & {name for name in value._fields if name != _csrf_name()}:
                value.process(formdata=filled)
                value._draft_refilled = True


def _csrf_name() -> str:
    from flask import current_app

    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def register_hooks(app) -> None:
    from flask import before_render_template

    app.before_request(_before)
    app.after_request(_after)
    install_form_filler()
    before_render_template.connect(_refill, app)
