"""Screens of trusted-address casework. Views parse, authorise and call a service (STYLE rule 3).

No personal data ever goes into a URL, a page title or a flash message: pages are addressed by the
case's random id, the name search is a POST, and titles say "Case" (security.md §6.3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from casework.auth.models import User
from casework.auth.policy import acting_user_and, allow, settings_province
from casework.auth.roles import Role
from casework.cases import closure as closure_checks
from casework.cases import codes, forms, presenters, schemas, services
from casework.cases import consent as consent_service
from casework.cases import transfer as transfers
from casework.cases.closure import OpenItemsError
from casework.cases.extensions import case_page, timeline_label
from casework.cases.models import Address, Case
from casework.cases.policy import (
    ADDRESS_MANAGERS,
    ADDRESS_READERS,
    CASE_ROLES,
    WORKER_ROLES,
    can_decide_closure,
    can_manage_address,
    can_see_identity,
    intake_addresses,
)
from casework.drafts.views import filling as filling_from_draft
from casework.errors import DomainError, StateError, ValidationError
from casework.extensions import db
from casework.forms import apply_domain_errors, form_status, validate_in_one_round
from casework.geo import data as geo
from casework.geo import legacy
from casework.models import ID_LENGTH, utcnow
from casework.schemas import form_values
from casework.text import VN_TZ, vi_sort_key

bp = Blueprint("cases", __name__)


def _me() -> User:
    return current_user._get_current_object()


def _dmy(iso: str | None) -> str:
    from datetime import date

    return date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def _render(template: str, status: int = 200, **context: Any):
    context.setdefault("commune_name", presenters.commune_name)
    context.setdefault("dmy", _dmy)
    context.setdefault("legacy_label", legacy.label)
    return render_template(template, L=presenters.labels(), ethnic_name=geo.ethnic_name,
                           timeline_label=timeline_label, **context), status


def _errors_to_form(form, errors: dict[str, list[str]], aliases: dict[str, str] | None = None) -> None:
    apply_domain_errors(form, ValidationError(_("Please correct the marked fields."), errors), aliases)


def _conflict(form, error: StateError) -> None:
    """A transition not allowed now (409): the reason at the top of the form and on its field."""
    apply_domain_errors(form, error)
    if error.fields:
        form.form_errors.append(error.message)


def _merge(parse_errors: dict[str, list[str]], service_errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The form's messages, then the service's on the fields that have none yet."""
    out = {k: list(v) for k, v in parse_errors.items()}
    for name, messages in service_errors.items():
        out.setdefault(name, messages)
    return out


def _one_or_404(items, item_id: str):
    """The case's stay or ban with this id, or 404."""
    found = next((item for item in items if item.id == item_id), None)
    if found is None:
        abort(404)
    return found


def _save(form, save: Callable[[], Any], done: str, to: str, aliases: dict[str, str] | None = None):
    """``save``'s refusal on the form (None: show it again); or ``done`` flashed and a redirect to ``to``."""
    try:
        save()
    except DomainError as e:
        apply_domain_errors(form, e, aliases)
        return None
    flash(done, "info")
    return redirect(to)


def _act(action: Callable[[], Any], done: str, to: str, refused: Callable[[DomainError], str] | None = None):
    """A one-button action: ``done`` flashed, or the service's refusal as a warning; back to ``to`` either way."""
    try:
        action()
    except DomainError as e:
        flash(refused(e) if refused else e.message, "warning")
    else:
        flash(done, "info")
    return redirect(to)


def _case_form(case_id: str, form_class: type) -> tuple[Any, Case, Any]:
    """The acting user, the case (404 out of her scope) and a new form for a page about that case."""
    user, case = acting_user_and(services.get_case_or_404, case_id)
    return user, case, form_class()


def _transition(form, case: Case, action: Callable[[], Any], done: Callable[[], str]):
    """Closure, its decision, reopening: (redirect to the case, 200), or (None, status): 409 for a transition
    not allowed now, 422 for open items to confirm or marked fields."""
    try:
        action()
    except OpenItemsError as e:
        apply_domain_errors(form, e)
        form.form_errors.append(e.message)
    except StateError as e:
        _conflict(form, e)
        return None, 409
    except ValidationError as e:
        apply_domain_errors(form, e)
    else:
        flash(done(), "info")
        return redirect(url_for("cases.view", case_id=case.id)), 200
    return None, form_status(form)


# --- lists ------------------------------------------------------------------------------------------


def _filters_from(args) -> tuple[schemas.CaseScreenFilters, dict[str, str]]:
    chosen = {k: (args.get(k) or "")[:32] for k in ("status", "risk", "form", "from", "to", "address")}
    filters, _unread = schemas.CaseScreenFilters.read_all(chosen, form=True)  # what it cannot read filters nothing
    return filters, chosen


@bp.get("/cases")
@allow(*CASE_ROLES)
def index():
    user = _me()
    filters, chosen = _filters_from(request.args)
    after = request.args.get("after") or None
    # Issue 18: who sees identity gets rows of the columns shown (one query, no ORM object per case); the
    # province officer's anonymous rows are built from the cases, never loading the person.
    listing = services.list_case_rows if can_see_identity(user) else services.list_cases
    try:
        page = listing(user, filters, after)
    except ValidationError:  # a stale or garbled page link: start again at the first page
        page = listing(user, filters)
    next_url = url_for("cases.index", after=page.next_cursor, **{k: v for k, v in chosen.items() if v}) \
        if page.next_cursor else None
    if not can_see_identity(user):
        rows = [presenters.anonymous_summary(c) for c in page.items]
        services.record_list(user, page.items, sorted({f for r in rows for f in presenters.anonymous_fields(r)}))
        return _render("cases/index_province.html", rows=rows, chosen=chosen, next_url=next_url)
    services.record_list(user, page.items, presenters.LIST_FIELDS)
    flags = services.flags_for(page.items)
    return _render("cases/index.html", cases=page.items, flags=flags, chosen=chosen, next_url=next_url,
                   search_form=forms.SearchForm(formdata=None), addresses=intake_addresses(user), searched=False,
                   badges=presenters.list_badges())


@bp.post("/cases/search")
@allow(*WORKER_ROLES)
def search():
    """Name or phone search through the blind index; a POST, so the term is never in a URL or a log."""
    user = _me()
    form = forms.SearchForm()
    filters, chosen = _filters_from(request.form)
    results: list[services.CaseRow] = []
    status = 200
    try:
        results = services.search_case_rows(user, form.q.data or "", filters)
    except ValidationError as e:
        apply_domain_errors(form, e)
        status = 422
    return _render("cases/index.html", status, cases=results, flags=services.flags_for(results), chosen=chosen,
                   next_url=None, search_form=form, addresses=intake_addresses(user), searched=True,
                   badges=presenters.list_badges())


# --- intake and edit ----------------------------------------------------------------------------------


def _read_intake[S: (schemas.IntakeIn, schemas.CaseEditIn)](schema: type[S]) -> tuple[S, dict[str, list[str]]]:
    """The submitted intake form read by the same schema as the API's JSON body; the messages keyed by the JSON's
    names (``schemas.INTAKE_FORM_NAMES`` puts them back on the form's fields)."""
    values = form_values(request.form, lists=schemas.INTAKE_FORM_LISTS)
    return schema.read_all(schemas.intake_form_values(values), form=True)


def _prepare_intake_form(form: forms.IntakeForm, province_code: str | None, addresses) -> None:
    form.address_id.choices = forms.choices([(a.id, a.name) for a in addresses])
    form.ethnicity_code.choices = forms.ethnic_choices()
    form.home_commune_code.choices = forms.commune_choices(province_code or "")
    form.legacy_commune_code.choices = forms.legacy_commune_choices(province_code or "")


@bp.route("/cases/new", methods=["GET", "POST"])
@allow(*WORKER_ROLES)
def new():
    user = _me()
    addresses = intake_addresses(user)
    form = forms.IntakeForm()
    chosen = next((a for a in addresses if a.id == form.address_id.data), addresses[0] if addresses else None)
    _prepare_intake_form(form, chosen.province_code if chosen else None, addresses)
    if request.method == "GET":
        if not filling_from_draft():  # issue 13: a draft's own values stay as she typed them
            form.intake_at.data = forms.local_input(utcnow())
            form.home_commune_code.data = chosen.commune_code if chosen else ""
            form.consent_record.data = False
    elif addresses:
        value, errors = _read_intake(schemas.IntakeIn)
        data = services.IntakeData.of(value)
        refused = services.intake_errors(user, data)
        if errors or refused:
            _errors_to_form(form, _merge(errors, refused), schemas.INTAKE_FORM_NAMES)
        else:
            try:
                case = services.create_case(user, data)
            except ValidationError as e:
                apply_domain_errors(form, e, schemas.INTAKE_FORM_NAMES)
            else:
                flash(_("The intake was saved."), "info")
                if case.acts_not_counted and case.not_counted_confirmed_at is None:
                    flash(_("Some acts do not count as domestic violence for this relationship (Decree 76/2023). "
                            "See the warning on the case page."), "warning")
                return redirect(url_for("cases.view", case_id=case.id))
    return _render("cases/intake.html", form_status(form), form=form, case=None, addresses=addresses,
                   acts_by_form=codes.acts_by_form(), act_parts=codes.ACT_PARTS, notified=False)


def _fill_edit_form(form: forms.IntakeForm, case: Case) -> None:
    data = services.intake_data_of(case)
    p = data.person
    form.version.data = str(case.version)
    form.intake_at.data = forms.local_input(case.intake_at)
    form.arrival.data = case.arrival
    form.full_name.data, form.other_names.data, form.sex.data = p.full_name, p.other_names, p.sex
    form.birth_year.data = str(p.birth_year) if p.birth_year else ""
    form.birth_date.data = p.birth_date.isoformat() if p.birth_date else ""
    form.age_band.data, form.ethnicity_code.data = p.age_band, p.ethnicity_code or ""
    form.phone.data, form.id_number.data = p.phone, p.id_number
    form.home_commune_code.data, form.home_address.data = p.home_commune_code or "", p.home_address
    form.legacy_commune_code.data = case.legacy_commune_code or ""
    form.legacy_home_commune_code.data = p.legacy_home_commune_code or ""
    home = geo.commune(p.home_commune_code)
    if home is not None and home.province_code != case.province_code:
        form.home_commune_code.data, form.home_commune_other.data = "", home.code
    form.children_count.data = str(case.children_count)
    form.children_ages.data = ", ".join(str(a) for a in data.children_ages)
    form.acts.data = list(data.acts)
    form.act_parts.data = sorted(data.act_parts)
    form.acts_not_counted_confirmed.data = case.not_counted_confirmed_at is not None
    form.relationship.data = case.relationship_code
    form.perpetrator_sex.data, form.perpetrator_age_band.data = case.perpetrator_sex, case.perpetrator_age_band
    form.injuries.data, form.first_aid_given.data, form.first_aid.data = case.injuries, case.first_aid_given, \
        case.first_aid
    for factor in codes.RISK_FACTORS:
        getattr(form, f"risk_{factor}").data = factor in case.risk_factors
    form.risk_judged_high.data = case.risk_judged_high
    form.safety_plan.data = case.safety_plan
    form.commune_notified.data = case.commune_notified_at is not None
    form.commune_notified_at.data = forms.local_input(case.commune_notified_at)
    form.narrative.data = case.narrative


@bp.route("/cases/<case_id>/edit", methods=["GET", "POST"])
@allow(*WORKER_ROLES)
def edit(case_id: str):
    user, case, form = _case_form(case_id, forms.EditForm)
    _prepare_intake_form(form, case.province_code, [case.address])
    form.address_id.data = case.address_id
    stale = False
    if request.method == "GET":
        _fill_edit_form(form, case)
        # The fields the form was filled with from her record (issue 18): what the page shows of her.
        services.record_view(user, case, presenters.edit_form_fields(form), action="case_view")
    else:
        value, errors = _read_intake(schemas.CaseEditIn)
        # A version that is not a number is a stale form (409), never a message on a hidden field.
        version = None if errors.pop("version", None) else value.version
        data = services.IntakeData.of(value, address_id=case.address_id)
        refused = services.update_errors(case, data)
        if errors or refused:
            _errors_to_form(form, _merge(errors, refused), schemas.INTAKE_FORM_NAMES)
        else:
            try:
                services.update_case(user, case, version, data)
            except StateError as e:
                stale = "version" in e.fields
                form.form_errors.append(e.message)
            except ValidationError as e:
                apply_domain_errors(form, e, schemas.INTAKE_FORM_NAMES)
            else:
                flash(_("The changes were saved."), "info")
                return redirect(url_for("cases.view", case_id=case.id))
    status = 409 if stale else form_status(form)
    return _render("cases/intake.html", status, form=form, case=case, addresses=[case.address],
                   acts_by_form=codes.acts_by_form(), act_parts=codes.ACT_PARTS, stale=stale)


# --- the case page --------------------------------------------------------------------------------


@bp.get("/cases/<case_id>")
@allow(*CASE_ROLES)
def view(case_id: str):
    user, (case, has) = acting_user_and(services.get_case_page_or_404, case_id)
    if not can_see_identity(user, case):
        row = presenters.anonymous_detail(case)
        services.record_view(user, case, presenters.anonymous_fields(row))
        return _render("cases/view_province.html", row=row)
    # Her data reaches the template only through ``shown``; the read event records its fields (issue 18).
    shown = presenters.case_page(case, has)
    services.record_view(user, case, presenters.page_fields(shown))
    flags = services.flags_for([case])[case.id]
    # The registered actions (refer her, move the case) need an open case: a closed one offers only Reopen.
    actions = [(e, label) for e, label, roles in case_page().actions if user.role in roles] if case.is_open else []
    # Other domains show their part of the case here (e.g. referral's list), without casework importing them.
    panels = [panel(user, case, has) for panel in current_app.extensions.get("tincay.case_panels", [])]
    return _render("cases/view.html", case=case, shown=shown, flags=flags,
                   suggestions=services.suggestions(case), nights=services.shelter_nights(case),
                   max_nights=services.max_shelter_days(case.province_code), actions=actions,
                   can_decide=can_decide_closure(user, case), today=services.local_today(),
                   panels=[p for p in panels if p],
                   moving=transfers.pending_move(case) if case.is_open and has.pending_move else None,
                   can_see_transfers=user.role == Role.COMMUNE_OFFICER)


@bp.post("/cases/<case_id>/acts-not-counted")
@allow(*WORKER_ROLES)
def confirm_not_counted(case_id: str):
    """Decree 76/2023: the host's one tick on the warning (recorded, not counted as domestic violence)."""
    user, case = acting_user_and(services.get_case_or_404, case_id)
    if request.form.get("confirm") != "y":
        flash(_("Tick the box to confirm."), "warning")
        return redirect(url_for("cases.view", case_id=case.id))
    return _act(lambda: services.confirm_acts_not_counted(user, case),
                _("Confirmed: recorded, but not counted as domestic violence."), url_for("cases.view", case_id=case.id))


@bp.post("/cases/<case_id>/notice")
@allow(*WORKER_ROLES)
def notice(case_id: str):
    user, case, form = _case_form(case_id, forms.NoticeForm)
    notice_in, errors = schemas.CommuneNoticeIn.read_all(_submitted(), form=True)

    def record() -> None:
        if errors:
            raise ValidationError(_("Please correct the marked fields."), errors)
        services.record_commune_notice(user, case, notice_in.commune_notified_at)

    return _act(record, _("The commune notice was recorded."), url_for("cases.view", case_id=case.id),
                refused=lambda e: next(iter(e.fields.values()), [e.message])[0])


@bp.get("/cases/<case_id>/record.pdf")
@allow(*WORKER_ROLES)
def record_pdf(case_id: str):
    from casework.cases.pdf import render_case_pdf

    user, case = acting_user_and(services.get_case_or_404, case_id)
    shown = presenters.case_page(case)
    data = render_case_pdf(case, user, utcnow(), shown)
    services.record_view(user, case, presenters.page_fields(shown), action="case_export_pdf")
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{case.reference}.pdf"'})


# --- consent ------------------------------------------------------------------------------------------


@bp.route("/cases/<case_id>/consents", methods=["GET", "POST"])
@allow(*WORKER_ROLES)
def consents(case_id: str):
    user, case, form = _case_form(case_id, forms.ConsentForm)
    if request.method == "GET":
        form.fields.data = list(codes.DEFAULT_SHARE_FIELDS)
    elif form.validate_on_submit():
        values = _submitted("fields")
        if values.get("purpose") != "share":
            values.pop("fields", None)  # the boxes stay ticked on the page; they belong to sharing only
        try:
            consent_service.give_consent(user, case, schemas.ConsentIn.from_form(values).as_input())
        except DomainError as e:
            apply_domain_errors(form, e)
        else:
            flash(_("The consent was recorded."), "info")
            return redirect(url_for("cases.consents", case_id=case.id))
    return _render("cases/consents.html", form_status(form), case=case, form=form,
                   summary=consent_service.summary(case))


@bp.post("/cases/<case_id>/consents/<consent_id>/withdraw")
@allow(*WORKER_ROLES)
def withdraw(case_id: str, consent_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    return _act(lambda: consent_service.withdraw_consent(user, case, consent_id), _("The consent was withdrawn."),
                url_for("cases.consents", case_id=case.id))


def _submitted(*lists: str) -> dict[str, Any]:
    """The submitted form as a schema reads it (``lists``: the fields with several values)."""
    return form_values(request.form, lists=lists)


def _submitted_with(prefix: str) -> dict[str, Any]:
    """The fields of the submitted form whose names start with ``prefix`` (a form of several on one page), named
    without it."""
    return {key.removeprefix(prefix): value for key, value in request.form.items() if key.startswith(prefix)}


# --- shelter --------------------------------------------------------------------------------------------


@bp.route("/cases/<case_id>/shelter/new", methods=["GET", "POST"])
@bp.route("/cases/<case_id>/shelter/<stay_id>", methods=["GET", "POST"])
@allow(*WORKER_ROLES)
def shelter(case_id: str, stay_id: str | None = None):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    stay = _one_or_404(case.shelter_stays, stay_id) if stay_id else None
    form = forms.ShelterForm()
    if request.method == "GET":
        if stay is not None:
            form.start_on.data = stay.start_on.isoformat()
            form.end_on.data = stay.end_on.isoformat() if stay.end_on else ""
            form.essentials.data = stay.essentials
            form.money_vnd.data = str(stay.money_vnd) if stay.money_vnd is not None else ""
        else:
            form.start_on.data = max(services.local_today(), case.intake_at.astimezone(VN_TZ).date()).isoformat()
            form.essentials.data = ["food", "water"]
    else:
        # Every message at once (issue 13): a rule across fields (the money) still judges a bad date's form.
        read, errors = schemas.ShelterStayIn.read_all(_submitted("essentials"), form=True)
        data = None if errors else read

        def save():
            if data is None:
                return None
            if stay is None:
                return services.add_shelter_stay(user, case, data)
            return services.update_shelter_stay(user, case, stay.id, data)

        # One round (issue 13): the form's checks and the service's own rules in the same answer.
        if validate_in_one_round(form, save, field_errors=errors, catch=DomainError).saved:
            flash(_("The shelter stay was saved."), "info")
            return redirect(url_for("cases.view", case_id=case.id) + "#shelter")
    return _render("cases/shelter.html", form_status(form), case=case, form=form, stay=stay,
                   max_nights=services.max_shelter_days(case.province_code))


# --- contact bans -------------------------------------------------------------------------------------


def _bans_of(case: Case) -> str:
    return url_for("cases.view", case_id=case.id) + "#contact-bans"


def _ban_page(template: str, case: Case, form, prefill: Callable[[], dict[str, Any]], save: Callable[[], Any],
              done: str, **context: Any):
    """A contact-ban form: filled with ``prefill()`` when asked for; when sent, saved (``done`` flashed, back to
    the case's contact bans) or shown again with the reasons on its fields."""
    if request.method == "GET":
        for name, value in prefill().items():
            form[name].data = value
    else:
        saved = _save(form, save, done, _bans_of(case))
        if saved is not None:
            return saved
    return _render(template, form_status(form), case=case, form=form, **context)


@bp.route("/cases/<case_id>/contact-bans/new", methods=["GET", "POST"])
@allow(*WORKER_ROLES)
def contact_ban_new(case_id: str):
    user, case, form = _case_form(case_id, forms.ContactBanForm)

    def save():
        origin = form.origin.data or "request"
        if origin not in codes.CONTACT_BAN_ORIGINS:
            raise ValidationError(_("Please correct the marked fields."), {"origin": [_("Choose from the list.")]})
        values = {**_submitted(), "kind": "commune", "chair_initiative": origin == "chair_initiative"}
        return services.request_contact_ban(user, case, schemas.ContactBanIn.from_form(values))

    return _ban_page("cases/contact_ban.html", case, form,
                     lambda: {"requested_at": forms.local_input(utcnow()), "requester": "victim"}, save,
                     _("The contact-ban request was recorded. The decision is due within 12 hours."))


@bp.route("/cases/<case_id>/contact-bans/court", methods=["GET", "POST"])
@allow(*WORKER_ROLES)
def contact_ban_court(case_id: str):
    """Law 13/2022 Art. 26: record a court's contact ban (at most 4 months) and the issuing court."""
    user, case, form = _case_form(case_id, forms.CourtBanForm)
    return _ban_page("cases/contact_ban_court.html", case, form, dict,
                     lambda: services.record_court_ban(
                         user, case, schemas.ContactBanIn.from_form({**_submitted(), "kind": "court"})),
                     _("The court's contact ban was recorded."))


# The steps on a recorded contact ban: the decision on a request, and (Law 13/2022 Art. 25(4)) a granted ban
# revoked before its end with the reason and the date. Each: its page, form, first values, service and schema.
_BAN_STEPS: dict[str, tuple[str, type, Callable[[], dict[str, Any]], Callable[..., Any], Any, Any]] = {
    "decide": ("cases/contact_ban_decision.html", forms.ContactBanDecisionForm,
               lambda: {"decided_at": forms.local_input(utcnow())},
               services.decide_contact_ban, schemas.ContactBanDecisionIn, _l("The decision was recorded.")),
    "revoke": ("cases/contact_ban_revoke.html", forms.RevokeBanForm,
               lambda: {"date": services.local_today().isoformat()},
               services.revoke_contact_ban, schemas.ContactBanRevocationIn, _l("The revocation was recorded.")),
}


@bp.route("/cases/<case_id>/contact-bans/<ban_id>", methods=["GET", "POST"], endpoint="contact_ban_decision",
          defaults={"step": "decide"})
@bp.route("/cases/<case_id>/contact-bans/<ban_id>/revoke", methods=["GET", "POST"], endpoint="contact_ban_revoke",
          defaults={"step": "revoke"})
@allow(*WORKER_ROLES)
def contact_ban_step(case_id: str, ban_id: str, step: str):
    """A step on a recorded ban of this case (``_BAN_STEPS``); an unknown ban, or one of another case, is 404."""
    template, form_class, prefill, act, schema, done = _BAN_STEPS[step]
    user, case = acting_user_and(services.get_case_or_404, case_id)
    ban = _one_or_404(case.contact_bans, ban_id)
    return _ban_page(template, case, form_class(), prefill,
                     lambda: act(user, case, ban.id, schema.from_form(_submitted())), str(done), ban=ban)


# --- follow-ups ---------------------------------------------------------------------------------------


@bp.route("/cases/<case_id>/follow-ups/new", methods=["GET", "POST"])
@allow(*WORKER_ROLES)
def follow_up_new(case_id: str):
    user, case, form = _case_form(case_id, forms.FollowUpForm)
    if request.method == "GET":
        # Typed and shown as dd/mm/yyyy whatever the phone's language (a date picker follows the phone's).
        form.on.data = services.local_today().strftime("%d/%m/%Y")
        form.next_on.data = services.default_next_follow_up(case).strftime("%d/%m/%Y")
    else:
        read, errors = schemas.FollowUpIn.read_all(_submitted(), form=True)
        data = None if errors else read
        # One round (issue 13): the form's checks and the service's own rules in the same answer.
        if validate_in_one_round(form, lambda: data and services.add_follow_up(user, case, data),
                                 field_errors=errors, catch=DomainError).saved:
            flash(_("The follow-up was saved."), "info")
            return redirect(url_for("cases.view", case_id=case.id) + "#follow-ups")
    return _render("cases/follow_up.html", form_status(form), case=case, form=form,
                   follow_up_days=codes.follow_up_days(case.risk_level))


# --- closure and reopening ---------------------------------------------------------------------------


def _transition_page(case_id: str, form_class: type, act: Callable[[Any, Case], Any], done: Callable[[Case], str],
                     template: str, context: Callable[[Any, Case], dict[str, Any]]):
    """A case's closure, its decision or its reopening: the form; when sent, ``act(user, case)`` (then
    ``done(case)`` flashed and back to the case) or the form again with the reasons, 409 or 422."""
    user, case, form = _case_form(case_id, form_class)
    status = 200
    if request.method == "POST":
        response, status = _transition(form, case, lambda: act(user, case), lambda: done(case))
        if response is not None:
            return response
    return _render(template, status, case=case, form=form, **context(user, case))


def _request_closure(user, case: Case) -> Any:
    data = schemas.ClosureRequestIn.from_form(_submitted())
    return services.request_closure(user, case, data.reason, data.note)


def _decide_closure(user, case: Case) -> Any:
    data = schemas.ClosureDecisionIn.from_form(_submitted())
    return services.decide_closure(user, case, data.decision, data.note, confirm_open_items=data.confirm_open_items,
                                   confirm_reason=data.confirm_reason)


def _closure_decision_context(user, case: Case) -> dict[str, Any]:
    # The host's note and the open items are part of the decision (issue 13); reading the note is audited.
    services.record_view(user, case, ["closure_note", "open_items"], action="closure_view")
    return {"open_items": closure_checks.open_items(case), "request_note": closure_checks.request_note(case),
            "confirm_kinds": closure_checks.NEEDS_CONFIRMATION}


@bp.route("/cases/<case_id>/closure", methods=["GET", "POST"])
@allow(*WORKER_ROLES)
def closure(case_id: str):
    return _transition_page(case_id, forms.ClosureForm, _request_closure,
                            lambda case: _("Closure was requested. The commune officer will approve it or return it."),
                            "cases/closure.html", lambda user, case: {"open_items": closure_checks.open_items(case)})


@bp.route("/cases/<case_id>/closure/decision", methods=["GET", "POST"])
@allow(Role.COMMUNE_OFFICER)
def closure_decision(case_id: str):
    return _transition_page(case_id, forms.ClosureDecisionForm, _decide_closure,
                            lambda case: _("The case was closed.") if case.status == "closed"
                            else _("The closure request was returned."),
                            "cases/closure_decision.html", _closure_decision_context)


@bp.route("/cases/<case_id>/reopen", methods=["GET", "POST"])
@allow(*WORKER_ROLES)
def reopen(case_id: str):
    return _transition_page(case_id, forms.ReopenForm,
                            lambda user, case: services.reopen_case(
                                user, case, schemas.ReopenIn.from_form(_submitted()).reason),
                            lambda case: _("The case was reopened."), "cases/reopen.html", lambda user, case: {})


# --- address register ---------------------------------------------------------------------------------


@bp.get("/addresses")
@allow(*ADDRESS_READERS)
def addresses():
    user = _me()
    after = (request.args.get("after") or "")[:ID_LENGTH]
    q = services.addresses_visible_to(user).order_by(services.Address.id).limit(services.PAGE_SIZE + 1)
    if after:
        q = q.where(services.Address.id > after)
    rows = list(db.session.scalars(q))
    next_after = rows[services.PAGE_SIZE - 1].id if len(rows) > services.PAGE_SIZE else None
    # Vietnamese collation in Python (issue 15): communes by name without the kind prefix, then the names.
    rows = sorted(rows[:services.PAGE_SIZE], key=lambda a: (not a.active, geo.name_sort_key(
        presenters.commune_name(a.commune_code) or ""), vi_sort_key(a.name), a.id))
    return _render("cases/addresses.html", addresses=rows, next_after=next_after,
                   can_create=user.role in (Role.ADMIN, Role.COMMUNE_OFFICER), commune_name=presenters.commune_name)


def _save_address(user, form, own_commune, save):
    """Validate the address form and save it with ``save(actor, data)``; a redirect, or None to re-render.
    The search step of the commune picker (``action=find``) saves nothing."""
    if request.form.get("action") == "find":
        return None
    values = form_values(request.form)
    values["commune_code"] = own_commune or values.get("commune_code")
    values["active"] = "y" if values.get("active") not in (None, "", "false") else "n"
    data, errors = schemas.AddressIn.read_all(values, form=True)

    def checked_save():
        if errors:  # the service's own reasons join the form's in one answer; nothing is saved
            refused = services.address_errors(user, data)
            if refused:
                raise ValidationError(_("Please correct the marked fields."), refused)
            return None
        return save(user, data)

    result = validate_in_one_round(form, checked_save, field_errors=errors, catch=DomainError)
    if not result.saved:
        return None
    flash(_("The trusted address was saved."), "info")
    return redirect(url_for("cases.address", address_id=result.value.id))


def _commune_picker(form: forms.AddressForm) -> None:
    """The commune by name (issue 13): communes matching the search, grouped by province; the chosen one stays."""
    from casework.auth import pickers

    groups = pickers.communes(form.commune_q.data or "", None, keep=form.commune_code.data or None)
    form.commune_code.choices = {"": [("", _("— Choose a commune —"))],
                                 **{name: [(c.code, c.name) for c in items] for name, items in groups.items()}}


def _address_form(user, address: Address | None, save: Callable[[Any, Any], Any]):
    """The trusted-address form, blank for a new address or filled from ``address``; when sent, saved with
    ``save(actor, data)``. A commune officer's addresses stay in her own commune."""
    own_commune = user.commune_code if user.role == Role.COMMUNE_OFFICER else None
    form = forms.AddressForm()
    if request.method == "POST":
        saved = _save_address(user, form, own_commune, save)
        if saved is not None:
            return saved
    elif address is None:
        form.commune_code.data = own_commune or ""
        form.active.data = True
    else:
        form.name.data, form.kind.data, form.commune_code.data = address.name, address.kind, address.commune_code
        form.declared_on.data = address.declared_on.isoformat() if address.declared_on else ""
        form.published_on.data = address.published_on.isoformat() if address.published_on else ""
        form.active.data = address.active
    _commune_picker(form)
    return _render("cases/address_form.html", form_status(form), form=form, address=address,
                   own_commune=own_commune, commune_name=presenters.commune_name)


@bp.route("/addresses/new", methods=["GET", "POST"])
@allow(*ADDRESS_MANAGERS)
def address_new():
    return _address_form(_me(), None, services.create_address)


@bp.route("/addresses/<address_id>/edit", methods=["GET", "POST"])
@allow(*ADDRESS_MANAGERS)
def address_edit(address_id: str):
    user, address = acting_user_and(services.get_address_or_404, address_id)
    if not can_manage_address(user, address):
        abort(404)
    return _address_form(user, address, lambda actor, data: services.update_address(actor, address, data))


@bp.route("/addresses/<address_id>", methods=["GET", "POST"])
@allow(*ADDRESS_READERS)
def address(address_id: str):
    user, address = acting_user_and(services.get_address_or_404, address_id)
    manage = can_manage_address(user, address)
    training_form, support_form = forms.TrainingForm(prefix="t"), forms.SupportForm(prefix="s")
    status = 200
    if request.method == "POST":
        if not manage:
            abort(404)
        # Each of the page's two forms reads its own fields (named "t-…" or "s-…") through its schema.
        kinds: dict[str, tuple[Any, type[schemas.CaseSchema], str, Callable[..., object]]] = {
            "training": (training_form, schemas.AddressTrainingIn, "t-", services.add_training),
            "support": (support_form, schemas.AddressSupportIn, "s-", services.add_support)}
        form, schema, prefix, add = kinds["training" if request.form.get("action") == "training" else "support"]
        data, errors = schema.read_all(_submitted_with(prefix), form=True)
        if validate_in_one_round(form, lambda: None if errors else add(user, address, data), field_errors=errors,
                                 catch=DomainError).saved:
            flash(_("Saved."), "info")
            return redirect(url_for("cases.address", address_id=address.id))
        status = 422
    return _render("cases/address.html", status, address=address, manage=manage, training_form=training_form,
                   support_form=support_form, commune_name=presenters.commune_name,
                   province=geo.province(address.province_code))


@bp.route("/addresses/settings", methods=["GET", "POST"])
@allow(Role.PROVINCE_OFFICER, Role.ADMIN)
def settings():
    user = _me()
    form = forms.SettingsForm()
    province_code = settings_province(user, request.values.get("province")) or ""
    status = 200
    if request.method == "POST":
        chosen, errors = schemas.ProvinceSettingsIn.read_all(_submitted(), form=True)

        def save() -> None:
            if errors:
                raise ValidationError(_("Please correct the marked fields."), errors)
            services.set_max_shelter_days(user, province_code, chosen.max_shelter_days)
            if chosen.notice_hours is not None:  # blank: left as it is
                services.set_notice_hours(user, province_code, chosen.notice_hours)

        saved = _save(form, save, _("Saved."), url_for("cases.settings", province=province_code),
                      {"province_code": "max_shelter_days"})
        if saved is not None:
            return saved
        status = 422
    elif province_code:
        form.max_shelter_days.data = str(services.max_shelter_days(province_code))
        form.notice_hours.data = str(services.notice_hours(province_code))
    return _render("cases/settings.html", status, form=form, province=geo.province(province_code),
                   provinces=geo.provinces() if user.role == Role.ADMIN else [])
