from __future__ import annotations

import io

import segno
from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from casework.auth import admin_bp, bp, services
from casework.auth.forms import EnrolForm, LoginForm, UserForm
from casework.auth.models import User
from casework.auth.policy import allow
from casework.auth.roles import ALL_ROLES, ROLE_LABELS, Role
from casework.errors import ValidationError
from casework.extensions import db, limiter
from casework.forms import apply_domain_errors, choices, form_status

SIGN_IN_FAILED = "The username, password or code is not right, or the account cannot sign in now."


def _login_limit() -> str:
    return current_app.config["SETTINGS"].login_rate_limit


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated and g.get("second_factor_done"):
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            result = services.authenticate(form.username.data, form.password.data, form.totp.data or "")
        except services.SignInFailed:
            g.commit_on_error = True  # the failure count and its audit event must stay
            form.form_errors.append(_(SIGN_IN_FAILED))
            form.totp.data = ""  # never echo a code back
            return render_template("auth/login.html", form=form), 401
        session.clear()  # a new session id at every sign-in (no fixation)
        session["sid"] = services.start_session(result.user, second_factor_done=not result.needs_enrolment)
        session.permanent = True
        if result.needs_enrolment:
            return redirect(url_for("auth.enrol"))
        return redirect(url_for("main.index"))
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    sess = g.get("user_session")
    if sess is not None:
        services.end_session(sess, "logout")
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


def _qr_svg(uri: str) -> Markup:
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, xmldecl=False, svgns=True,
                                    title=None, desc=None)
    # segno's own SVG of a URI we built: no user-typed text inside.
    return Markup(out.getvalue().decode("utf-8"))  # noqa: S704  # nosec B704


@bp.route("/enrol", methods=["GET", "POST"])
def enrol():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    user: User = current_user._get_current_object()
    if g.get("second_factor_done"):
        return redirect(url_for("main.index"))
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            codes = services.confirm_enrolment(user, form.code.data)
        except ValidationError as e:
            form.code.errors = e.fields.get("code", [e.message])
        else:
            g.user_session.second_factor_done = True
            return render_template("auth/recovery_codes.html", codes=codes)
    uri = services.totp_uri(user)
    secret = uri.split("secret=")[1].split("&")[0]
    status = 422 if form.errors else 200
    return render_template("auth/enrol.html", form=form, qr=_qr_svg(uri), secret=secret), status


@bp.route("/account", methods=["GET", "POST"])
@allow(*ALL_ROLES)
def account():
    user: User = current_user._get_current_object()
    if request.method == "POST" and request.form.get("action") == "end_others":
        current = g.get("user_session")
        for s in services.active_sessions(user):
            if current is None or s.id != current.id:
                services.end_session(s, "ended_by_user")
        flash(_("Your other sessions have ended."), "info")
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", sessions=services.active_sessions(user),
                           current=g.get("user_session"), role_label=ROLE_LABELS[Role(user.role)])


# --- administration -----------------------------------------------------------------------------

PAGE_SIZE = 50


@admin_bp.get("/users")
@allow(Role.ADMIN)
def users():
    after = request.args.get("after", "")
    role = request.args.get("role", "")
    q = select(User).order_by(User.username).limit(PAGE_SIZE + 1)
    if after:
        q = q.where(User.username > after)
    if role in {r.value for r in Role}:
        q = q.where(User.role == role)
    rows = list(db.session.scalars(q))
    next_after = rows[PAGE_SIZE - 1].username if len(rows) > PAGE_SIZE else None
    return render_template("admin/users.html", users=rows[:PAGE_SIZE], next_after=next_after,
                           role_labels=ROLE_LABELS, role=role)


def _address_choices():
    from casework.cases.models import Address

    rows = db.session.scalars(select(Address).order_by(Address.name))
    return choices((a.id, f"{a.name} ({a.commune_code})") for a in rows)


@admin_bp.route("/users/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def user_new():
    form = UserForm()
    form.addresses.choices = _address_choices()
    if form.validate_on_submit():
        try:
            user, _secret = services.create_user(current_user, services.NewUser(
                username=form.username.data, role=form.role.data, password=form.password.data or "",
                display_name=form.display_name.data or "", scope=(form.scope.data or None),
                address_ids=tuple(form.addresses.data or ()), organisation_id=form.organisation.data or None))
            user.can_override_consent = bool(form.can_override_consent.data)
        except ValidationError as e:
            apply_domain_errors(form, e, {"address": "addresses"})
        else:
            flash(_("The account was created. The user enrols her authenticator at her first sign-in."), "info")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/user_form.html", form=form, user=None), form_status(form)


@admin_bp.route("/users/<user_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def user_edit(user_id: str):
    user = db.session.get(User, user_id)
    if user is None:
        from casework.auth.policy import deny

        deny("user", None)
    form = UserForm(obj=None if request.method == "POST" else user)
    form.addresses.choices = _address_choices()
    del form.password
    if request.method == "GET":
        form.scope.data = user.commune_code if user.role == Role.COMMUNE_OFFICER else user.province_code
        form.addresses.data = user.address_ids
        form.organisation.data = user.organisation_id
    action = request.form.get("action")
    try:
        if request.method == "POST" and action in ("disable", "enable", "reset_2fa", "end_sessions"):
            if action in ("disable", "enable"):
                services.set_active(current_user, user.id, action == "enable")
                flash(_("The account was updated."), "info")
            elif action == "reset_2fa":
                services.reset_second_factor(current_user, user.id)
                flash(_("The second factor was reset; the user enrols again at her next sign-in."), "info")
            else:
                n = services.end_all_sessions(user, "ended_by_admin")
                from casework.protect import audit

                audit.record("sessions_end", object_type="user", object_id=user.id)
                flash(_("%(n)d sessions were ended.", n=n), "info")
            return redirect(url_for("admin.user_edit", user_id=user.id))
        if request.method == "POST" and form.validate_on_submit():
            services.change_scope(current_user, user.id, form.role.data, form.scope.data or None,
                                  tuple(form.addresses.data or ()), form.organisation.data or None)
            user.display_name = form.display_name.data or ""
            user.can_override_consent = bool(form.can_override_consent.data)
            flash(_("The account was updated."), "info")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    except ValidationError as e:
        apply_domain_errors(form, e, {"address": "addresses"})
    status = form_status(form)
    return render_template("admin/user_form.html", form=form, user=user,
                           sessions=services.active_sessions(user)), status
