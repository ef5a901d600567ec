from __future__ import annotations

import io
from typing import Any

import segno
from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import SelectChoice

from casework.auth import addresses, admin_bp, bp, changes, pickers, services
from casework.auth.forms import EnrolForm, EnrolmentCodeForm, LoginForm, PasswordForm, UserForm
from casework.auth.models import AccountChange, ApiToken, User, UserSession
from casework.auth.policy import allow
from casework.auth.roles import ALL_ROLES, ROLE_LABELS, SCOPE_OF_ROLE, Role
from casework.auth.schemas import AccountEdit, Credentials, Enrolment, EnrolmentCode, NewAccount, PasswordChange
from casework.errors import DomainError, ValidationError
from casework.extensions import db, limiter
from casework.forms import apply_domain_errors, choices, form_status, validate_in_one_round
from casework.geo import data as geo
from casework.schemas import Schema, form_values

SIGN_IN_FAILED = "The username, password or code is not right, or the account cannot sign in now."


def _login_limit() -> str:
    return str(current_app.config["SETTINGS"].login_rate_limit)


def _read[S: Schema](form: FlaskForm, schema: type[S], leave_out: tuple[str, ...] = ()) -> S | None:
    """The submitted form read through its schema, or None with the messages put on the form's fields."""
    data = form_values(request.form, lists=("addresses",))
    for name in leave_out:
        data.pop(name, None)
    try:
        return schema.from_form(data)
    except ValidationError as e:
        apply_domain_errors(form, e)
        return None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated and g.get("second_factor_done"):
        return redirect(url_for("main.index"))
    form = LoginForm()
    credentials = _read(form, Credentials) if form.validate_on_submit() else None
    if credentials is not None:
        try:
            result = services.authenticate(credentials.username, credentials.password, credentials.totp or "",
                                           client=request.remote_addr)
        except services.SignInFailed:
            g.commit_on_error = True  # the failure count and its audit event must stay
            form.form_errors.append(_(SIGN_IN_FAILED))
            form.totp.data = ""  # never echo a code back
            return render_template("auth/login.html", form=form), 401
        from casework import drafts

        kept = session.get(drafts.SESSION_KEY)  # a draft kept when her session ended (issue 13)
        session.clear()  # a new session id at every sign-in (no fixation)
        session["sid"] = services.start_session(result.user, second_factor_done=not result.needs_enrolment,
                                                client=services.client_label(request.user_agent.string))
        drafts.bind_form_token(db.session.get_one(UserSession, services.token_hash(session["sid"])))
        session.permanent = True
        if result.needs_enrolment:
            return redirect(url_for("auth.enrol"))
        target = drafts.after_sign_in(result.user, kept)  # only her own draft; another account sees nothing
        if target:  # the form page says it is not saved yet
            return redirect(target)
        return redirect(url_for("main.index"))
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
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
def enrol() -> ResponseReturnValue:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    user: User = current_user._get_current_object()
    if g.get("second_factor_done"):
        return redirect(url_for("main.index"))
    sid = g.user_session.id
    if services.needs_enrolment_code(user) and session.get("enrol_unlocked") != sid:
        # After a reset, the password alone never leads to enrolment: the code a second admin issued does.
        code_form = EnrolmentCodeForm()
        entered = _read(code_form, EnrolmentCode) if code_form.validate_on_submit() else None
        if entered is not None:
            if services.redeem_enrolment_code(user, entered.enrolment_code):
                session["enrol_unlocked"] = sid
                return redirect(url_for("auth.enrol"))
            g.commit_on_error = True  # the failure count and its audit event must stay
            code_form.enrolment_code.errors = [_("This enrolment code is not right or has expired. Ask an "
                                                 "administrator for a new second-factor reset.")]
        status = 422 if code_form.errors else 200
        return render_template("auth/enrol_code.html", form=code_form), status
    form = EnrolForm()
    enrolment = _read(form, Enrolment) if form.validate_on_submit() else None
    if enrolment is not None:
        try:
            codes = services.confirm_enrolment(user, enrolment.code)
        except ValidationError as e:
            form.code.errors = e.fields.get("code", [e.message])
        else:
            g.user_session.second_factor_done = True
            session.pop("enrol_unlocked", None)
            return render_template("auth/recovery_codes.html", codes=codes)
    uri = services.totp_uri(user)
    secret = uri.split("secret=")[1].split("&")[0]
    status = 422 if form.errors else 200
    # Issue 13: on the phone that shows the QR code, a link opens the authenticator app, and the key is
    # readable in groups of four for typing by hand.
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("auth/enrol.html", form=form, qr=_qr_svg(uri), secret=grouped, uri=uri), status


@bp.route("/account/password", methods=["GET", "POST"])
@allow(*ALL_ROLES)
def password() -> ResponseReturnValue:
    """Change one's own password; the first sign-in of an account an admin created lands here first."""
    user: User = current_user._get_current_object()
    form = PasswordForm()
    if not user.totp_confirmed:
        del form.totp
    change = _read(form, PasswordChange, leave_out=() if form.totp else ("totp",)) \
        if form.validate_on_submit() else None
    if change is not None:
        sess = g.get("user_session")
        try:
            services.change_password(user, change.current_password, change.new_password, change.totp or "",
                                     keep_session_id=sess.id if sess else None)
        except ValidationError as e:
            g.commit_on_error = True  # a code used in a refused attempt stays used
            apply_domain_errors(form, e, {})
        else:
            flash(_("Your password was changed. Your other sessions and access tokens have ended."), "info")
            return redirect(url_for("main.index"))
    for name in ("current_password", "new_password"):
        getattr(form, name).data = ""  # never echo a password back
    if form.totp:
        form.totp.data = ""
    return render_template("auth/password.html", form=form, first=user.must_change_password), form_status(form)


@bp.get("/account/sessions")
@allow(*ALL_ROLES)
def sessions() -> ResponseReturnValue:
    user: User = current_user._get_current_object()
    return render_template("auth/sessions.html", sessions=services.active_sessions(user),
                           tokens=services.active_tokens(user), current=g.get("user_session"))


@bp.post("/account/sessions/end-others")
@allow(*ALL_ROLES)
def end_others() -> ResponseReturnValue:
    user: User = current_user._get_current_object()
    sess = g.get("user_session")
    services.end_other_sessions(user, sess.id if sess else None, None, "ended_by_user")
    from casework.protect import audit

    audit.record("sessions_end_others", object_type="user", object_id=user.id, actor=user)
    flash(_("Your other sessions and access tokens have ended."), "info")
    return redirect(url_for("auth.sessions"))


def _own_open_row(model: type[Any], row_id: str, closed: str, kind: str) -> tuple[User, Any]:
    """The caller and their own session or access token ``row_id`` while it is open (``closed``: the column set
    when it ends); anything else is refused like a missing one."""
    user: User = current_user._get_current_object()
    row = db.session.get(model, row_id) if len(row_id) == 64 else None
    if row is None or row.user_id != user.id or getattr(row, closed) is not None:
        from casework.auth.policy import deny

        deny(kind, None)
    return user, row


@bp.post("/account/sessions/<session_id>/end")
@allow(*ALL_ROLES)
def end_one_session(session_id: str) -> ResponseReturnValue:
    user, row = _own_open_row(UserSession, session_id, "ended_at", "user_session")
    services.end_session(row, "ended_by_user")
    from casework.protect import audit

    audit.record("session_end", object_type="user", object_id=user.id, actor=user)
    flash(_("The session has ended."), "info")
    current = g.get("user_session")
    if current is not None and current.id == row.id:
        session.clear()
        return redirect(url_for("auth.login"))
    return redirect(url_for("auth.sessions"))


@bp.post("/account/tokens/<token_id>/end")
@allow(*ALL_ROLES)
def end_one_token(token_id: str) -> ResponseReturnValue:
    user, row = _own_open_row(ApiToken, token_id, "revoked_at", "api_token")
    from casework.models import utcnow
    from casework.protect import audit

    row.revoked_at = utcnow()
    audit.record("api_token_revoke", object_type="user", object_id=user.id, actor=user)
    flash(_("The access token was revoked."), "info")
    return redirect(url_for("auth.sessions"))


@bp.route("/account", methods=["GET", "POST"])
@allow(*ALL_ROLES)
def account() -> ResponseReturnValue:
    user: User = current_user._get_current_object()
    if request.method == "POST" and request.form.get("action") == "end_others":
        current = g.get("user_session")
        services.end_other_sessions(user, current.id if current else None, None, "ended_by_user")
        flash(_("Your other sessions and access tokens have ended."), "info")
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", sessions=services.active_sessions(user),
                           current=g.get("user_session"), role_label=ROLE_LABELS[Role(user.role)])


# --- administration -----------------------------------------------------------------------------

PAGE_SIZE = 50


@admin_bp.get("/users")
@allow(Role.ADMIN)
def users() -> ResponseReturnValue:
    after = request.args.get("after", "")
    role = request.args.get("role", "")
    q = select(User).order_by(User.username).limit(PAGE_SIZE + 1)
    if after:
        q = q.where(User.username > after)
    if role in {r.value for r in Role}:
        q = q.where(User.role == role)
    rows = list(db.session.scalars(q))
    next_after = rows[PAGE_SIZE - 1].username if len(rows) > PAGE_SIZE else None
    shown = rows[:PAGE_SIZE]
    # "Phạm vi" in words (issue 13): commune and province, addresses and organisations by name, never an id.
    address_names = addresses.address_names({a for u in shown for a in u.address_ids})
    org_names = pickers.organisation_names(u.organisation_id for u in shown)
    scopes = {u.id: pickers.scope_label(u, address_names, org_names) for u in shown}
    return render_template("admin/users.html", users=shown, next_after=next_after,
                           role_labels=ROLE_LABELS, role=role, scopes=scopes)


def _address_choices(query: str = "", keep: tuple[str, ...] = ()) -> list[SelectChoice]:
    """Trusted addresses by name with their commune and province; a search narrows them by any of the three."""
    from casework.text import fold, vi_sort_key

    rows = sorted(addresses.load_addresses(), key=lambda a: (vi_sort_key(a.name), a.id))
    labelled = [(a.id, f"{a.name} — {pickers.commune_label(a.commune_code)}") for a in rows]
    q = fold(query or "")
    if q:
        found = [(aid, label) for aid, label in labelled if q in fold(label) or aid in keep]
        labelled = found if any(aid not in keep for aid, _l in found) else labelled
    return choices(labelled)


def _role_kind(form: UserForm) -> str | None:
    return SCOPE_OF_ROLE.get(Role(form.role.data)) if form.role.data in {r.value for r in Role} else None


def _prepare_user_form(form: UserForm) -> None:
    """The pickers' options for this answer: the search narrows them; what is chosen always stays listed."""
    query = form.place_q.data or ""
    chosen_commune = geo.commune(form.commune.data)
    province = form.province.data or (chosen_commune.province_code if chosen_commune else None)
    form.province.choices = choices([("", _("— Choose a province —")),
                                     *((p.code, p.name) for p in pickers.provinces(query, keep=province))])
    groups = pickers.communes(query, province, keep=form.commune.data)
    form.commune.choices = {"": [("", _("— Choose a commune —"))],
                            **{name: [(c.code, c.name) for c in items] for name, items in groups.items()}}
    form.addresses.choices = _address_choices(query, tuple(form.addresses.data or ()))
    form.organisation.choices = {"": [("", _("— Choose an organisation —"))],
                                 **pickers.organisation_choices(query, keep=form.organisation.data)}


def _scope_checks(form: UserForm) -> tuple[str | None, dict[str, list[str]], dict[str, str]]:
    """The scope code the services take, the picker checks of the form, and where the services' errors go."""
    kind = _role_kind(form)
    errors: dict[str, list[str]] = {}
    aliases = {"address": "addresses", "addresses": "addresses", "organisation_id": "organisation"}
    scope = None
    if kind == "commune":
        scope = form.commune.data or request.form.get("scope") or None
        aliases["scope"] = "commune"
        if geo.commune(scope) is None:
            errors["commune"] = [_("Choose the commune: type its name, press Find, then pick it from the list.")]
    elif kind == "province":
        scope = form.province.data or request.form.get("scope") or None
        aliases["scope"] = "province"
        if geo.province(scope) is None:
            errors["province"] = [_("Choose the province from the list.")]
    elif kind == "organisation":
        known = {oid for oid, _n, _p in pickers.organisations()}
        if form.organisation.data and form.organisation.data not in known:
            errors["organisation"] = [_("Choose the organisation from the list.")]
    return scope, errors, aliases


def _as_typed(form: UserForm, schema: type[AccountEdit]) -> dict[str, Any]:
    """What was typed, as the schema's fields, for a form that failed its schema: the services still check it,
    so that their messages come in the same answer as the fields' (validation in one round, issue 13)."""
    raw = form_values(form)
    typed: dict[str, Any] = {name: raw.get(name) or None for name in schema.model_fields}
    typed.update(role=raw.get("role") or "", addresses=tuple(raw.get("addresses") or ()),
                 can_override_consent=bool(raw.get("can_override_consent")))
    if "username" in typed:
        typed["username"] = raw.get("username") or ""
    return typed


def _render_user_form(form: UserForm, user: User | None, status: int) -> tuple[str, int]:
    context = {}
    if user is not None:
        context = {"own": user.id == current_user.id, "sessions": services.active_sessions(user),
                   "pending": _pending_for(user), "field_labels": _field_labels()}
    return render_template("admin/user_form.html", form=form, user=user, kind=_role_kind(form),
                           role_labels=ROLE_LABELS, role_kinds={r.value: k or "" for r, k in SCOPE_OF_ROLE.items()},
                           **context), status


def _finding() -> bool:
    """The search step (a plain submit): show the narrowed pickers and the fields of the chosen role, save nothing."""
    return request.method == "POST" and request.form.get("action") == "find"


@admin_bp.route("/users/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def user_new() -> ResponseReturnValue:
    form = UserForm()
    _prepare_user_form(form)
    if request.method == "POST" and not _finding():
        account, schema_errors = NewAccount.collect(form_values(request.form, lists=("addresses",)), form=True)
        scope, picker_errors, aliases = _scope_checks(form)
        new = account if account is not None else NewAccount.model_construct(**_as_typed(form, NewAccount))

        def save() -> User:
            user, _secret = services.create_user(current_user, services.NewUser(
                username=new.username, role=new.role, password=new.password or "",
                display_name=new.display_name or "", scope=scope, address_ids=new.addresses,
                organisation_id=new.organisation or None))
            user.can_override_consent = new.can_override_consent
            changes.request_activation(current_user, user)
            return user

        result = validate_in_one_round(form, save, field_errors={**picker_errors, **schema_errors}, aliases=aliases)
        if result.saved:
            flash(_("The account was created. It can sign in once another administrator confirms it; the user "
                    "then chooses her own password and enrols her authenticator."), "info")
            return redirect(url_for("admin.user_edit", user_id=result.value.id))
    form.password.data = ""  # never echo a password back
    return _render_user_form(form, None, form_status(form))


@admin_bp.route("/users/<user_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def user_edit(user_id: str) -> ResponseReturnValue:
    user = db.session.get(User, user_id)
    if user is None:
        from casework.auth.policy import deny

        deny("user", None)
    form = UserForm(obj=None if request.method == "POST" else user)
    del form.password
    del form.username  # shown, never changed
    if request.method == "GET":
        form.commune.data = user.commune_code if user.role == Role.COMMUNE_OFFICER else ""
        form.province.data = user.province_code or ""
        form.addresses.data = user.address_ids
        form.organisation.data = user.organisation_id or ""
    _prepare_user_form(form)
    action = request.form.get("action")
    try:
        if request.method == "POST" and action in ("disable", "enable", "reset_2fa", "end_sessions"):
            if action == "disable":
                services.set_active(current_user, user.id, False)
                flash(_("The account was disabled and its sessions ended."), "info")
            elif action == "enable":
                changes.request_reenable(current_user, user.id)
                flash(_pending_message(), "info")
            elif action == "reset_2fa":
                changes.request_second_factor_reset(current_user, user.id)
                flash(_pending_message(), "info")
            else:
                n = services.end_all_sessions(user, "ended_by_admin")
                from casework.protect import audit

                audit.record("sessions_end", object_type="user", object_id=user.id)
                flash(_("%(n)d sessions were ended.", n=n), "info")
            return redirect(url_for("admin.user_edit", user_id=user.id))
        if request.method == "POST" and not _finding():
            account, schema_errors = AccountEdit.collect(form_values(request.form, lists=("addresses",)), form=True)
            scope, picker_errors, aliases = _scope_checks(form)
            kind = _role_kind(form)
            edit = account if account is not None else AccountEdit.model_construct(**_as_typed(form, AccountEdit))

            def save() -> bool:
                wanted = {"role": edit.role, "scope": scope if kind in ("commune", "province") else None,
                          "addresses": sorted(edit.addresses) if kind == "address" else [],
                          "organisation_id": (edit.organisation or None) if kind == "organisation" else None,
                          "can_override_consent": edit.can_override_consent}
                current = changes.current_values(user)
                requested = {k: v for k, v in wanted.items() if v != current[k]}
                if requested:
                    changes.request_change(current_user, user.id, requested)
                if (edit.display_name or "") != user.display_name:
                    user.display_name = edit.display_name or ""
                    from casework.protect import audit

                    audit.record("user_rename", object_type="user", object_id=user.id, fields=["display_name"])
                return bool(requested)

            result = validate_in_one_round(form, save, field_errors={**picker_errors, **schema_errors},
                                           aliases=aliases)
            if result.saved:
                flash(_pending_message() if result.value else _("The account was updated."), "info")
                return redirect(url_for("admin.user_edit", user_id=user.id))
    except ValidationError as e:
        apply_domain_errors(form, e)
    except DomainError as e:
        g.commit_on_error = False
        flash(e.message, "error")
        return _render_user_form(form, user, e.status)
    return _render_user_form(form, user, form_status(form))


def _pending_message() -> str:
    return str(_("The request was recorded. It takes effect when another administrator confirms it within 24 "
                 "hours."))


def _pending_for(user: User) -> list[AccountChange]:
    return [c for c in changes.pending() if c.target_user_id == user.id]


@admin_bp.get("/account-changes")
@allow(Role.ADMIN)
def account_changes() -> ResponseReturnValue:
    rows = changes.pending()
    described = [changes.describe(c) for c in rows]
    address_names = addresses.address_names({a for v in described for a in (v.get("addresses") or [])})
    org_names = pickers.organisation_names(v.get("organisation_id") for v in described)

    def value_label(field: str, value: Any) -> str:
        """A requested value in words (issue 13): places, addresses and organisations by name."""
        if field == "scope":
            return pickers.commune_label(value) if geo.commune(value) else pickers.province_label(value)
        if field == "addresses":
            return "; ".join(address_names.get(a, _("Address not found")) for a in value or [])
        if field == "organisation_id":
            return org_names.get(value or "", _("Organisation not found")) if value else ""
        return str(value) if value not in (None, "") else ""

    return render_template("admin/account_changes.html", rows=rows, describe=changes.describe,
                           role_labels=ROLE_LABELS, field_labels=_field_labels(), value_label=value_label)


def _field_labels() -> dict[str, str]:
    return {"role": _("Role"), "scope": _("Commune or province"), "addresses": _("Trusted addresses"),
            "organisation_id": _("Organisation"), "can_override_consent": _("May override consent"),
            "second_factor": _("Second factor reset"), "access": _("Re-enable the account"),
            "new_account": _("New account")}


@admin_bp.post("/account-changes/<change_id>")
@allow(Role.ADMIN)
def account_change_decide(change_id: str) -> ResponseReturnValue:
    action = request.form.get("action")
    if action == "confirm":
        change, code = changes.confirm(current_user, change_id)
        if code is not None:
            # Shown once, on this answer only, for delivery to the user out of band; never stored clear.
            return render_template("admin/enrolment_code.html", change=change, code=code)
        flash(_("Confirmed: the change has taken effect."), "info")
    elif action == "cancel":
        changes.cancel(current_user, change_id)
        flash(_("The request was cancelled."), "info")
    else:
        from casework.auth.policy import deny

        deny("account_change", None)
    return redirect(url_for("admin.account_changes"))
