"""Screens of the referral domain: the organisation directory, referrals, deadlines and notifications.

Views parse, authorise and call a service (STYLE rule 3). No personal data in a URL, a title or a flash:
pages are addressed by random ids and titles say "Referral".
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from casework.auth.models import User
from casework.auth.policy import acting_user, acting_user_and, allow, settings_province
from casework.auth.roles import Role
from casework.errors import DomainError, ValidationError
from casework.extensions import db
from casework.forms import apply_domain_errors, choices, form_status, submitted, validate_in_one_round
from casework.geo import data as geo
from casework.models import ID_LENGTH, utcnow
from casework.protect import audit
from casework.schemas import form_values
from casework.service_types import SERVICE_TYPES
from referral import presenters, services
from referral.codes import KIND_LABELS, RESULT_LABELS, STATE_LABELS, URGENCY_LABELS
from referral.forms import (
    ActionForm,
    CompleteForm,
    DeclineForm,
    OrganisationForm,
    ReferralForm,
    deadlines_form,
)
from referral.models import Organisation
from referral.schemas import (
    CompletionIn,
    DeclineIn,
    OrganisationIn,
    OrganisationPlace,
    Refused,
    read_deadlines,
    read_organisation,
    read_referral,
)

bp = Blueprint("referral", __name__, url_prefix="/referral")

PAGE_SIZE = 50
DIRECTORY_ROLES = (Role.ADMIN, Role.PROVINCE_OFFICER, Role.COMMUNE_OFFICER, Role.HOST)


@bp.get("/organisations")
@allow(*DIRECTORY_ROLES)
def organisations():
    after = request.args.get("after", "")[:ID_LENGTH]
    service = request.args.get("service", "")
    q = services.organisations_visible_to(current_user)
    if service in SERVICE_TYPES:
        from referral.models import OrganisationService

        q = q.where(Organisation.id.in_(db.select(OrganisationService.organisation_id)
                                        .where(OrganisationService.service == service)))
    # Vietnamese order in Python, not the database's (issue 15: "Đ…" after "D", before "E"); the page after
    # ``after`` is the rest of that order.
    rows = services.in_vietnamese_order(db.session.scalars(q))
    if after:
        ids = [o.id for o in rows]
        rows = rows[ids.index(after) + 1:] if after in ids else rows
    rows = rows[:PAGE_SIZE + 1]
    next_after = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return render_template("referral/organisations.html", organisations=rows[:PAGE_SIZE], next_after=next_after,
                           service=service, service_types=SERVICE_TYPES, kinds=KIND_LABELS, geo=geo,
                           can_manage=services.can_manage_organisations(current_user))


def _organisation(form: OrganisationForm) -> OrganisationIn | Refused[OrganisationPlace]:
    return read_organisation(form_values(form), form=True)


@bp.route("/organisations/new", methods=["GET", "POST"])
@allow(Role.ADMIN, Role.PROVINCE_OFFICER)
def organisation_new():
    form = OrganisationForm()
    if request.method == "GET" and current_user.province_code:
        form.province_code.data = current_user.province_code
    done = submitted(form, lambda: services.save_organisation(current_user, _organisation(form)),
                     _("The organisation was saved."),
                     lambda org: url_for("referral.organisation_edit", organisation_id=org.id))
    if done is not None:
        return done
    return render_template("referral/organisation_form.html", form=form, organisation=None), form_status(form)


@bp.route("/organisations/<organisation_id>", methods=["GET", "POST"])
@allow(Role.ADMIN, Role.PROVINCE_OFFICER)
def organisation_edit(organisation_id: str):
    org = services.get_organisation_or_404(current_user, organisation_id, manage=True)
    form = OrganisationForm(obj=None if request.method == "POST" else org)
    if request.method == "GET":
        form.commune_codes.data = ", ".join(org.commune_codes)
        form.services.data = org.services
    done = submitted(form, lambda: services.save_organisation(current_user, _organisation(form), org),
                     _("The organisation was saved."), url_for("referral.organisation_edit", organisation_id=org.id))
    if done is not None:
        return done
    return render_template("referral/organisation_form.html", form=form, organisation=org), form_status(form)


# --- referrals ---------------------------------------------------------------------------------------

SENDERS = (Role.HOST, Role.COMMUNE_OFFICER)
REFERRAL_READERS = (Role.HOST, Role.COMMUNE_OFFICER, Role.SERVICE_PROVIDER)


def _me() -> User:
    return acting_user()


def _labels() -> dict:
    from casework.cases import codes

    return {"services": SERVICE_TYPES, "urgencies": URGENCY_LABELS, "states": STATE_LABELS, "results": RESULT_LABELS,
            "shareable": codes.SHAREABLE_FIELDS, "sexes": codes.SEXES, "age_bands": codes.AGE_BANDS,
            "acts": codes.ACTS, "relationships": codes.RELATIONSHIPS, "risk_levels": codes.RISK_LEVELS,
            "risk_factors": codes.RISK_FACTORS}


def _render(template: str, status: int = 200, **context):
    return render_template(template, L=_labels(), commune_name=geo.commune_name, ethnic_name=geo.ethnic_name,
                           now=utcnow(), **context), status


@bp.get("/")
@allow(*REFERRAL_READERS)
def index():
    user = _me()
    state = request.args.get("state", "")
    state = state if state in STATE_LABELS else ""
    after = request.args.get("after", "")[:200] or None
    try:
        page = services.list_referrals(user, state=state or None, after=after)
    except ValidationError:
        abort(404)
    services.record_list(user, len(page.items) + len(page.overdue))
    references = {}
    if services.is_sender_side(user):
        from casework.cases.models import Case

        ids = {r.case_id for r in [*page.items, *page.overdue]}
        if ids:
            references = dict(db.session.execute(db.select(Case.id, Case.reference).where(Case.id.in_(ids))).all())
    return _render("referral/index.html", page=page, state=state, references=references,
                   receiver=not services.is_sender_side(user))


def _referral_form_context(user, case, service: str, form: ReferralForm) -> dict:
    from casework.cases import codes

    serving = services.organisations_serving(case.commune_code, service) if service else None
    orgs = services.in_vietnamese_order(db.session.scalars(serving)) if serving is not None else []
    form.organisation_id.choices = choices([(o.id, o.name) for o in orgs])
    form.override_fields.choices = choices(codes.SHAREABLE_FIELDS)
    consent = {code: services.consented_fields(case, code) for code in SERVICE_TYPES}
    return {"case": case, "service": service, "organisations": orgs, "consent": consent,
            "consented": consent.get(service, ()), "can_override": bool(user.can_override_consent),
            "child": services.is_child(case), "young_children": services.has_young_children(case),
            "kinds": KIND_LABELS}


@bp.route("/cases/<case_id>/new", methods=["GET", "POST"])
@allow(*SENDERS)
def new(case_id: str):
    """Send a referral: choose the kind of service first (a plain GET), then the organisation."""
    from casework.cases.codes import DEFAULT_SHARE_FIELDS
    from casework.cases.policy import get_case_or_404

    user = _me()
    case = get_case_or_404(user, case_id)
    service = (request.form.get("service") if request.method == "POST" else request.args.get("service")) or ""
    service = service if service in SERVICE_TYPES else ""
    form = ReferralForm()
    context = _referral_form_context(user, case, service, form)
    if request.method == "GET":
        form.service.data = service
        form.override_fields.data = list(DEFAULT_SHARE_FIELDS)
    else:
        # One round (issue 13): the schema's messages and the service's rules in the same answer.
        result = validate_in_one_round(
            form, lambda: services.send_referral(user, case, read_referral(form_values(form), form=True)),
            catch=DomainError)
        if result.saved:
            flash(_("The referral was sent."), "info")
            return redirect(url_for("referral.view", referral_id=result.value.id))
    return _render("referral/new.html", form_status(form), form=form, **context)


def _view(referral, status: int = 200, decline_form=None, complete_form=None, error: str | None = None):
    """The referral page: a receiver reads only the shared fields, decrypted one by one; a sender reads the
    referral (she sees the case itself on the case page). The page shows her data only from
    ``presenters.view``, whose field names its audit event records (issue 18)."""
    user = _me()
    case = services.case_of(referral)
    shown = presenters.view(user, referral, case)
    if status < 400:
        services.record_view(user, referral, shown.fields)
    else:
        audit.record_after_rollback("referral_view", object_type="referral", object_id=referral.id,
                                    fields=shown.fields)
    return _render("referral/view.html", status, referral=referral, case=case, receiver=shown.receiver,
                   text=shown.text, fields=shown.shared_fields, values=shown.values,
                   case_reference=None if shown.receiver else case.reference,
                   frozen=referral.shared_fields,
                   decline_form=decline_form or DeclineForm(formdata=None),
                   complete_form=complete_form or CompleteForm(formdata=None), action_form=ActionForm(formdata=None),
                   overdue=referral.is_overdue(), error=error,
                   can_cancel=services.is_sender_side(user) and referral.state == "sent")


@bp.get("/<referral_id>")
@allow(*REFERRAL_READERS)
def view(referral_id: str):
    return _view(services.get_referral_or_404(_me(), referral_id))


def _act(referral_id: str, action, done: str):
    """A one-button step: ``done`` flashed and back to the referral, or its page with the service's refusal."""
    user, referral = acting_user_and(services.get_referral_or_404, referral_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action(user, referral)
    except DomainError as e:
        return _view(referral, e.status, error=e.message)
    flash(done, "info")
    return redirect(url_for("referral.view", referral_id=referral_id))


@bp.post("/<referral_id>/accept")
@allow(Role.SERVICE_PROVIDER)
def accept(referral_id: str):
    return _act(referral_id, services.accept_referral, _("You accepted the referral."))


@bp.post("/<referral_id>/cancel")
@allow(*SENDERS)
def cancel(referral_id: str):
    return _act(referral_id, services.cancel_referral, _("The referral was cancelled."))


def _provider_step(referral, form, name: str, save, done: str):
    """The provider's form ``name`` on the referral page: ``done`` flashed and back to the page, or the page with
    the form's errors (422 when the form did not validate, the service's status when it refused)."""
    if not form.validate_on_submit():
        return _view(referral, 422, **{name: form})
    try:
        save()
    except DomainError as e:
        apply_domain_errors(form, e)
        return _view(referral, e.status, error=None if e.fields else e.message, **{name: form})
    flash(done, "info")
    return redirect(url_for("referral.view", referral_id=referral.id))


@bp.post("/<referral_id>/decline")
@allow(Role.SERVICE_PROVIDER)
def decline(referral_id: str):
    user, referral = acting_user_and(services.get_referral_or_404, referral_id)
    form = DeclineForm()
    return _provider_step(referral, form, "decline_form",
                          lambda: services.decline_referral(user, referral, DeclineIn.from_form(form_values(form))),
                          _("You declined the referral."))


@bp.post("/<referral_id>/complete")
@allow(Role.SERVICE_PROVIDER)
def complete(referral_id: str):
    user, referral = acting_user_and(services.get_referral_or_404, referral_id)
    form = CompleteForm()

    def save() -> None:
        services.complete_referral(user, referral, CompletionIn.from_form(form_values(form)))

    return _provider_step(referral, form, "complete_form", save, _("The service was recorded."))


# --- deadlines ---------------------------------------------------------------------------------------


@bp.route("/deadlines", methods=["GET", "POST"])
@allow(Role.PROVINCE_OFFICER, Role.ADMIN)
def deadlines():
    user = _me()
    province_code = settings_province(
        user, request.form.get("province") if request.method == "POST" else request.args.get("province"))
    current = services.deadlines_for(province_code)
    form = deadlines_form(SERVICE_TYPES, current, request.form if request.method == "POST" else None)
    if request.method == "POST" and province_code and form.validate_on_submit():
        try:
            services.set_deadlines(user, province_code, read_deadlines(form_values(form)))
        except DomainError as e:
            apply_domain_errors(form, e)
        else:
            flash(_("The deadlines were saved."), "info")
            return redirect(url_for("referral.deadlines", province=province_code if user.role == Role.ADMIN else None))
    elif request.method == "POST" and not province_code:
        form.form_errors.append(_("Choose a province."))
    return _render("referral/deadlines.html", form_status(form), form=form, province=geo.province(province_code),
                   provinces=geo.provinces() if user.role == Role.ADMIN else [])


# --- notifications ---------------------------------------------------------------------------------------


@bp.get("/notifications")
@allow(*REFERRAL_READERS)
def notification_list():
    """The notifications list, kept at its old address; the menu points to the core's list."""
    from casework import notify

    return notify.render_list(read_endpoint="referral.notifications_read", list_endpoint="referral.notification_list")


@bp.post("/notifications/read")
@allow(*REFERRAL_READERS)
def notifications_read():
    from casework import notify

    return notify.handle_read(list_endpoint="referral.notification_list")


# --- the case page ------------------------------------------------------------------------------------------


def case_panel(user, case, has=None) -> Markup:
    """The referrals of a case as a section of the case page (hook ``tincay.case_panels``).

    Issue 18: when the case page's own statement found no referral of the case (``has.probes``), the panel says so
    without a query: a sender may see every referral of a case she sees (``referrals_visible_to``), and she sees
    this one. The panel's template is rendered straight, without a second ``render_template`` (its context
    processors and signals): it uses only what it is given and the environment's globals."""
    if not services.is_sender_side(user):
        return Markup("")
    none = has is not None and not has.probes.get("referrals", True)
    rows = [] if none else services.case_referrals(user, case)
    if rows or current_app.debug:
        return _render_panel(rows)
    # Most cases have no referral: that panel is the same for every case, and made once per language and process
    # (the template is never given the case, so nothing of one case can be kept and shown on another's page).
    empty: dict[str, Markup] = current_app.extensions.setdefault("referral.empty_case_panel", {})
    language = str(get_locale())
    if language not in empty:
        empty[language] = _render_panel([])
    return empty[language]


def _render_panel(rows: list) -> Markup:
    template = current_app.jinja_env.get_template("referral/_case_referrals.html")
    # A template rendered with autoescaping: every value in it is escaped already.
    html = template.render(referrals=rows, L=_labels(), now=utcnow())
    return Markup(html)  # noqa: S704  # nosec B704
