"""Screens of the livelihood domain: thin views that parse, authorise, call a service and render.

Commune officers register survivors and draft proposals with them, record monitoring and support
events; province officers appraise and decide, manage the budget and record disbursements. Page
titles, URLs and flash messages never carry a person's name; a name search is a POST.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casework.auth.models import User
from casework.auth.policy import acting_user_and, allow, deny
from casework.auth.roles import Role
from casework.errors import DomainError, ValidationError
from casework.forms import form_status, merge_errors, submitted, validate_in_one_round
from casework.geo import data as geo
from casework.protect import audit
from casework.schemas import form_values
from casework.text import format_number
from livelihood import codes, forms, presenters, schemas, services, workbook
from livelihood.models import Proposal, Survivor

bp = Blueprint("livelihood", __name__, url_prefix="/livelihood")

COMMUNE = Role.COMMUNE_OFFICER
PROVINCE = Role.PROVINCE_OFFICER


def _user():
    return current_user._get_current_object()


@bp.context_processor
def _labels():
    return {
        "STATE_LABELS": codes.STATE_LABELS, "KIND_LABELS": codes.KIND_LABELS,
        "STATUS_LABELS": codes.SURVIVOR_STATUS_LABELS, "SEX_LABELS": codes.SEX_LABELS,
        "ENTITLEMENT_LABELS": codes.ENTITLEMENT_LABELS, "ACTION_LABELS": codes.ACTION_LABELS,
        "FORM_LABELS": codes.FORM_LABELS, "PROGRESS_LABELS": codes.PROGRESS_LABELS,
        "EVENT_LABELS": codes.EVENT_LABELS, "OUTCOME_LABELS": codes.OUTCOME_LABELS,
        "CHILD_ENTITLEMENTS": forms.CHILD_ENTITLEMENTS,
        "AGE_BAND_LABELS": codes.AGE_BAND_LABELS, "CRITERION_LABELS": codes.CRITERION_LABELS,
        "commune_name": geo.commune_name, "ethnic_name": geo.ethnic_name, "percent": services.percent,
        "is_commune": current_user.is_authenticated and current_user.role == COMMUNE,
        "is_province": current_user.is_authenticated and current_user.role == PROVINCE,
    }


def _to_proposal(p: Proposal) -> str:
    return url_for("livelihood.proposal", proposal_id=p.id)


def _proposal_and_form(proposal_id: str, form_class: type, today_in: str | None = None) -> tuple[Any, Proposal, Any]:
    """The acting user, the proposal (404 out of her scope) and a new form for a step on it; on the form's first
    showing the date field ``today_in`` holds today."""
    user, p = acting_user_and(services.get_proposal_or_404, proposal_id)
    form = form_class()
    if today_in and request.method == "GET":
        form[today_in].data = services.today().isoformat()
    return user, p, form


def _back_to_proposal(p: Proposal, done: str) -> Response:
    """After a step on a proposal: ``done`` shown on the proposal's page."""
    flash(done, "info")
    return cast(Response, redirect(_to_proposal(p)))


# --- home ----------------------------------------------------------------------------------------


@bp.get("/")
@allow(COMMUNE, PROVINCE)
def index():
    user = _user()
    counts = services.proposal_counts(user)
    if user.role == COMMUNE:
        waiting = services.page_of(services.proposals_visible_to(user).where(
            Proposal.state.in_(("draft", "returned", "approved", "disbursing"))), Proposal, None, 10)
        survivors = services.page_of(services.survivors_visible_to(user), Survivor, None, 5)
        if survivors.items:  # names are on the page: the list view is kept like any other
            audit.record("survivor_list", object_type="survivor", actor=user,
                         detail=f"results:{len(survivors.items)}")
        return render_template("livelihood/index.html", counts=counts,
                               proposals=presenters.present_all(user, waiting.items),
                               survivors=survivors.items, budget=None)
    waiting = services.page_of(services.proposals_visible_to(user).where(
        Proposal.state.in_(("submitted", "under_appraisal", "approved", "disbursing"))), Proposal, None, 10)
    return render_template("livelihood/index.html", counts=counts,
                           proposals=presenters.present_all(user, waiting.items), survivors=[],
                           budget=services.budget_summary(user), year=services.today().year)


# --- survivors -----------------------------------------------------------------------------------


@bp.get("/survivors")
@allow(COMMUNE)
def survivors():
    user = _user()
    try:
        page = services.page_of(services.survivors_visible_to(user), Survivor, request.args.get("after"))
    except ValidationError:
        page = services.page_of(services.survivors_visible_to(user), Survivor, None)
    audit.record("survivor_list", object_type="survivor", actor=user, detail=f"results:{len(page.items)}")
    return render_template("livelihood/survivors.html", survivors=page.items, next_after=page.next,
                           search=forms.SearchForm(), results=None)


@bp.post("/survivors/search")
@allow(COMMUNE)
def survivor_search():
    user = _user()
    form = forms.SearchForm()
    results = None
    if form.validate_on_submit():
        results = services.search_survivors(user, form.q.data)
    return render_template("livelihood/survivors.html", survivors=[], next_after=None, search=form,
                           results=results), form_status(form)


def _survivor_input(form: forms.SurvivorForm, survivor: Survivor | None = None) -> schemas.SurvivorChangeIn:
    """The form read by the schema the API reads (``SurvivorIn``; ``SurvivorChangeIn`` when editing her record)."""
    values = {**schemas.nest(form_values(form)), "commune_code": _user().commune_code}
    if survivor is None:
        return schemas.SurvivorIn.from_form(values)
    return schemas.SurvivorChangeIn.from_form(values)


@bp.route("/survivors/new", methods=["GET", "POST"])
@allow(COMMUNE)
def survivor_new():
    user = _user()
    form = forms.SurvivorForm()
    done = submitted(form, lambda: services.register_survivor(user, cast(schemas.SurvivorIn, _survivor_input(form))),
                      lambda survivor: _("The survivor was registered with code %(code)s.", code=survivor.code),
                      lambda survivor: url_for("livelihood.survivor", survivor_id=survivor.id),
                      schemas.SURVIVOR_ALIASES)
    if done is not None:
        return done
    return render_template("livelihood/survivor_form.html", form=form, survivor=None,
                           entitled_by_status=services.ENTITLED_BY_STATUS), form_status(form)


@bp.get("/survivors/<survivor_id>")
@allow(COMMUNE, PROVINCE)
def survivor(survivor_id: str):
    user, s = acting_user_and(services.get_survivor_or_404, survivor_id)
    identity = services.can_see_identity(user, s)
    kids = presenters.present_all(user, s.children, commune_code=s.commune_code) if identity else []
    # Everything of her the page shows is read through the presenter; the event records it (issue 18).
    with presenters.reading(s) as shown:
        page = presenters.present(user, s)
        body = render_template("livelihood/survivor.html", s=page, identity=identity, children=kids,
                               proposals=presenters.present_all(user, services.proposals_of(user, s)),
                               events=presenters.present_all(user, services.events_of(s), commune_code=s.commune_code),
                               entitled=services.entitlements_of(s), received={r.item for r in page.supports})
    services.record_survivor_view(user, s, shown.fields)
    child_fields = sorted({f.removeprefix("child.") for f in shown.fields if f.startswith("child.")})
    if child_fields:  # their names are read: audited like hers (Law 53/2024 Art. 37(2) children)
        audit.record("survivor_child_view", object_type="survivor", object_id=s.id, actor=user, fields=child_fields)
    return body


def _edit_form[R, F](find: Callable[[User, str], R], record_id: str, fill: Callable[[Any], F],
                     sent: Callable[[], F], record_view: Callable[[User, R, Any], None]) -> tuple[User, R, F]:
    """The caller, the record they may edit and its form: when asked for, the form filled from the record through
    the presenter and the event recording what it read (issue 18); when sent, the form as sent."""
    user, record = acting_user_and(find, record_id)
    if request.method != "GET":
        return user, record, sent()
    view = presenters.present(user, record)
    with presenters.reading(record) as shown:
        form = fill(view)
    record_view(user, record, shown.fields)
    return user, record, form


def _survivor_form_of(view) -> forms.SurvivorForm:
    form = forms.SurvivorForm(obj=view, editing=True)
    form.supports_received.data = [r.item for r in view.supports]
    size, income = view.household_size, view.monthly_income_vnd
    form.household_size.data = str(size) if size is not None else ""
    form.monthly_income_vnd.data = format_number(income) if income is not None else ""
    return form


def _proposal_form_of(view) -> forms.ProposalForm:
    form = forms.ProposalForm(obj=view)
    form.title.data, form.description.data, form.expected_results.data = (
        view.title, view.description, view.expected_results)
    _fill_lines(form, view)
    return form


@bp.route("/survivors/<survivor_id>/edit", methods=["GET", "POST"])
@allow(COMMUNE)
def survivor_edit(survivor_id: str):
    user, s, form = _edit_form(services.get_survivor_or_404, survivor_id, _survivor_form_of,
                               lambda: forms.SurvivorForm(editing=True), services.record_survivor_view)
    done = submitted(form, lambda: services.update_survivor(user, s, _survivor_input(form, s)),
                      _("The record was updated."), url_for("livelihood.survivor", survivor_id=s.id),
                      schemas.SURVIVOR_ALIASES)
    if done is not None:
        return done
    return render_template("livelihood/survivor_form.html", form=form, survivor=s,
                           entitled_by_status=services.ENTITLED_BY_STATUS), form_status(form)


@bp.route("/survivors/<survivor_id>/events/new", methods=["GET", "POST"])
@allow(COMMUNE)
def event_new(survivor_id: str):
    user, s = acting_user_and(services.get_survivor_or_404, survivor_id)
    form = forms.EventForm()
    done = submitted(form, lambda: services.record_event(user, s, schemas.EventIn.from_form(
        {"kind": form.kind.data, "date": form.held_on.data, "completed": bool(form.completed.data),
         "description": form.description.data})),
        _("The support was recorded."), url_for("livelihood.survivor", survivor_id=s.id), {"date": "held_on"})
    if done is not None:
        return done
    return render_template("livelihood/event_form.html", form=form, s=s), form_status(form)


# --- import --------------------------------------------------------------------------------------


@bp.get("/import/template.xlsx")
@allow(COMMUNE)
def import_template():
    response = Response(workbook.template_bytes(), mimetype=workbook.XLSX_MIME)
    response.headers["Content-Disposition"] = 'attachment; filename="mau-danh-sach-khao-sat.xlsx"'
    return response


@bp.route("/import", methods=["GET", "POST"])
@allow(COMMUNE)
def import_survivors():
    user = _user()
    form = forms.ImportForm()
    result, created = None, []
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        if not upload or not getattr(upload, "filename", ""):
            form.file.errors = [_("Choose the Excel file to import.")]
        else:
            data = upload.stream.read(workbook.MAX_BYTES + 1)
            result, created = workbook.import_survivors(user, data)
            if not result.ok:
                status = 422
                # A refusal of the whole file (not Excel, too large, a zip bomb) is said on the file field.
                form.file.errors = [e.message for e in result.errors if e.row == 0] or form.file.errors
            else:
                flash(_("%(n)d survivors were imported.", n=len(created)), "info")
    if form.errors and status == 200:
        status = 422
    return render_template("livelihood/import.html", form=form, result=result, created=created,
                           max_rows=workbook.MAX_ROWS, max_mb=workbook.MAX_BYTES // (1024 * 1024)), status


# --- proposals -----------------------------------------------------------------------------------


@bp.get("/proposals")
@allow(COMMUNE, PROVINCE)
def proposals():
    user = _user()
    state = request.args.get("state", "")
    query = services.proposals_visible_to(user)
    if state in codes.STATE_LABELS:
        query = query.where(Proposal.state == state)
    else:
        state = ""
    try:
        page = services.page_of(query, Proposal, request.args.get("after"))
    except ValidationError:
        page = services.page_of(query, Proposal, None)
    return render_template("livelihood/proposals.html", proposals=presenters.present_all(user, page.items),
                           next_after=page.next, state=state,
                           counts=services.proposal_counts(user))


@bp.get("/proposals/export.xlsx")
@allow(COMMUNE, PROVINCE)
def proposals_export():
    """The visible proposals without names (her code only); text cells are neutralised."""
    user = _user()
    rows = []
    query = services.proposals_visible_to(user).order_by(Proposal.created_at.desc()).limit(5000)
    from casework.extensions import db

    for record in db.session.scalars(query):
        p = presenters.present(user, record)
        rows.append([p.survivor.code, p.commune_code, geo.commune_name(p.commune_code), str(codes.KIND_LABELS[p.kind]),
                     p.title or "", str(codes.STATE_LABELS[p.state]), p.total_vnd, p.co_contribution_vnd,
                     p.requested_vnd, p.approved_amount_vnd, p.disbursed_vnd])
    header = [_("Survivor code"), _("Commune code"), _("Commune"), _("Kind"), _("Title"), _("State"),
              _("Total (VND)"), _("Her own contribution (VND)"), _("Requested (VND)"), _("Approved (VND)"),
              _("Disbursed (VND)")]
    audit.record("proposal_export", object_type="proposal", actor=user, detail=f"rows:{len(rows)}",
                 fields=["code", "commune_code", "kind", "title", "state", "amounts"])
    response = Response(workbook.workbook_bytes(_("Proposals"), header, rows), mimetype=workbook.XLSX_MIME)
    response.headers["Content-Disposition"] = 'attachment; filename="de-xuat-sinh-ke.xlsx"'
    return response


def _fill_lines(form: forms.ProposalForm, proposal: Proposal | presenters.Shown) -> None:
    while len(form.lines) < max(len(proposal.lines), 4):
        form.lines.append_entry()
    for entry, line in zip(form.lines, proposal.lines, strict=False):
        entry.form.item.data = line.item
        entry.form.unit.data = line.unit
        entry.form.quantity.data = str(line.quantity)
        entry.form.unit_cost_vnd.data = format_number(line.unit_cost_vnd)
        own = line.co_contribution_vnd
        entry.form.co_contribution_vnd.data = format_number(own) if own else ""


def _apply_line_errors(form: forms.ProposalForm, error: DomainError) -> None:
    """Line errors name the n-th filled line; show them on the row the officer filled."""
    positions = form.filled_positions()
    other: dict[str, list[str]] = {}
    for name, messages in error.fields.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "budget_lines" and parts[1].isdigit() and int(parts[1]) < len(positions):
            sub = form.lines[positions[int(parts[1])]].form[parts[2]]
            if not sub.errors:  # the field check's own message already says what is wrong with this value
                sub.errors = list(messages)
        elif name == "budget_lines":
            form.form_errors.extend(messages)
        else:
            other[name] = messages
    if other or not error.fields:
        merge_errors(form, type(error)(error.message, other))


def _proposal_input(form: forms.ProposalForm) -> schemas.ProposalIn:
    """The form read by ``ProposalIn``; a line left completely empty is not a line."""
    lines = [{name: entry.form[name].data for name in forms.LINE_FIELDS}
             for entry in form.lines if not entry.form.is_blank()]
    return schemas.ProposalIn.from_form({"kind": form.kind.data, "title": form.title.data,
                                         "description": form.description.data,
                                         "expected_results": form.expected_results.data, "budget_lines": lines})


def _proposal_form_page(form, survivor, proposal):
    if request.method == "POST" and request.form.get("add_line") and len(form.lines) < services.MAX_LINES:
        form.lines.append_entry()
        return render_template("livelihood/proposal_form.html", form=form, s=survivor, proposal=proposal), 200
    return None


@bp.route("/survivors/<survivor_id>/proposals/new", methods=["GET", "POST"])
@allow(COMMUNE)
def proposal_new(survivor_id: str):
    user, s = acting_user_and(services.get_survivor_or_404, survivor_id)
    form = forms.ProposalForm()
    more = _proposal_form_page(form, s, None)
    if more:
        return more
    if request.method == "POST":
        # One round (issue 13): the form's own checks and the service's rules in the same answer.
        result = validate_in_one_round(form, lambda: services.draft_proposal(user, s, _proposal_input(form)),
                                       apply=_apply_line_errors)
        if result.saved:
            flash(_("The proposal was saved as a draft."), "info")
            return redirect(url_for("livelihood.proposal", proposal_id=result.value.id))
    return render_template("livelihood/proposal_form.html", form=form, s=s, proposal=None), form_status(form)


@bp.route("/proposals/<proposal_id>/edit", methods=["GET", "POST"])
@allow(COMMUNE)
def proposal_edit(proposal_id: str):
    user, p, form = _edit_form(services.get_proposal_or_404, proposal_id, _proposal_form_of, forms.ProposalForm,
                               services.record_proposal_view)
    more = _proposal_form_page(form, p.survivor, p)
    if more:
        return more
    if request.method == "POST":
        # One round (issue 13): the form's own checks and the service's rules in the same answer.
        if validate_in_one_round(form, lambda: services.revise_proposal(user, p, _proposal_input(form)),
                                 apply=_apply_line_errors).saved:
            return _back_to_proposal(p, _("The proposal was saved."))
    return render_template("livelihood/proposal_form.html", form=form, s=p.survivor, proposal=p), form_status(form)


def _proposal_form(template: str, user, p: Proposal, **context) -> str:
    """A form page about one proposal: what it shows of the proposal through the presenter (its title, for
    her commune's officer) is a read, recorded with the fields read (issue 18)."""
    with presenters.reading(p) as shown:
        body = render_template(template, p=presenters.present(user, p), **context)
    if shown.fields:  # kept even when the page answers an error (422, 409) and the rest is rolled back
        audit.record_after_rollback("proposal_view", object_type="proposal", object_id=p.id, fields=shown.fields)
    return body


def _proposal_step(user, p: Proposal, form, template: str, save: Callable[[], Any],
                   done: str | Callable[[Any], str], aliases: Mapping[str, str] | None = None, **context):
    """A form about one proposal (appraisal, payment, visit, completion, closure): taken by the service, back
    to the proposal with ``done`` flashed; otherwise the form again (422 with its errors)."""
    answer = submitted(form, save, done, _to_proposal(p), aliases)
    if answer is not None:
        return answer
    return _proposal_form(template, user, p, form=form, **context), form_status(form)


@bp.get("/proposals/<proposal_id>")
@allow(COMMUNE, PROVINCE)
def proposal(proposal_id: str):
    user, p = acting_user_and(services.get_proposal_or_404, proposal_id)
    budget = p.budget or (services.budget_for(p.province_code, services.today().year)
                          if user.role == PROVINCE else None)
    disbursements, visits = services.disbursements_of(p), services.visits_of(p)
    # Receipts and photos only for her commune's officer; the rest through the presenter (issue 12).
    files = (services.attachments_by_owner([*disbursements, *visits])
             if presenters.may_download_attachments(user, p) else {})
    commune = p.commune_code
    identity = services.can_see_identity(user, p.survivor)
    is_drafter = user.id in (p.drafted_by_id, p.last_edited_by_id)
    is_first_approver = p.awaiting_second_approval and p.first_approved_by_id == user.id
    # What the page shows of her and her plan is read through the presenter; the event records it (issue 18).
    with presenters.reading(p) as shown:
        body = render_template(
            "livelihood/proposal.html", p=presenters.present(user, p),
            transitions=presenters.present_all(user, services.transitions_of(p), commune_code=commune),
            appraisals=presenters.present_all(user, services.appraisals_of(p), commune_code=commune),
            disbursements=presenters.present_all(user, disbursements, commune_code=commune),
            visits=presenters.present_all(user, visits, commune_code=commune),
            files=files, budget=budget, year=services.today().year, identity=identity,
            is_drafter=is_drafter, is_first_approver=is_first_approver)
    services.record_proposal_view(user, p, shown.fields)
    return body


@bp.post("/proposals/<proposal_id>/submit")
@allow(COMMUNE)
def proposal_submit(proposal_id: str):
    user, p = acting_user_and(services.get_proposal_or_404, proposal_id)
    services.submit_proposal(user, p)  # a StateError answers 409 with its message
    return _back_to_proposal(p, _("The proposal was sent to the province for appraisal."))


@bp.route("/proposals/<proposal_id>/appraise", methods=["GET", "POST"])
@allow(PROVINCE)
def proposal_appraise(proposal_id: str):
    user, p, form = _proposal_and_form(proposal_id, forms.AppraisalForm)
    return _proposal_step(user, p, form, "livelihood/appraisal_form.html",
                          lambda: services.appraise_proposal(user, p, schemas.AppraisalIn.from_form(form_values(form))),
                          _("The scoring sheet was saved."))


@bp.route("/proposals/<proposal_id>/decide", methods=["GET", "POST"])
@allow(PROVINCE)
def proposal_decide(proposal_id: str):
    user, p = acting_user_and(services.get_proposal_or_404, proposal_id)
    waiting = p.awaiting_second_approval and p.first_approved_by_id == user.id
    if waiting or user.id in (p.drafted_by_id, p.last_edited_by_id):
        # Issue 13: no form for who cannot use it; the page says who must act next. A POST still
        # reaches the service, which refuses it (403 second_person_required / forbidden).
        if request.method == "GET":
            return _proposal_form("livelihood/decision_form.html", user, p, form=None,
                                   budget=None,
                                   year=services.today().year, waiting=waiting)
    form = forms.DecisionForm()
    if request.method == "GET":
        form.approved_amount_vnd.data = format_number(p.first_approved_amount_vnd or p.requested_vnd)

    def decided(_value) -> str:
        messages = {
            "approved": _("The proposal was approved."),
            "returned": _("The proposal was returned for revision."),
            "rejected": _("The proposal was rejected."),
            "under_appraisal": _("Your approval was recorded; a second officer must confirm it."),
        }
        return messages.get(p.state, _("The decision was recorded."))

    done = submitted(form, lambda: services.decide_proposal(user, p, schemas.DecisionIn.from_form(form_values(form))),
                     decided, _to_proposal(p))
    if done is not None:
        return done
    budget = services.budget_for(p.province_code, services.today().year)
    return _proposal_form("livelihood/decision_form.html", user, p, form=form, budget=budget,
                           year=services.today().year, waiting=False,
                           threshold=services.threshold_for(p, budget)), form_status(form)


@bp.route("/proposals/<proposal_id>/disbursements/new", methods=["GET", "POST"])
@allow(PROVINCE)
def disbursement_new(proposal_id: str):
    user, p, form = _proposal_and_form(proposal_id, forms.DisbursementForm, today_in="paid_on")

    def save():
        receipts = forms.uploads(form.receipt)
        return services.disburse(user, p, schemas.TrancheIn.from_form(
            {"amount_vnd": form.amount_vnd.data, "date": form.paid_on.data, "form": form.form.data,
             "handed_over_by": form.handed_over_by.data, "items": form.items.data}),
            receipt=receipts[0] if receipts else None)

    return _proposal_step(user, p, form, "livelihood/disbursement_form.html", save, lambda tranche: _(
        "The payment was recorded. It counts as paid when another province officer confirms it.")
        if tranche.pending else _("The payment was recorded."), {"date": "paid_on", "file": "receipt"})


@bp.route("/proposals/<proposal_id>/visits/new", methods=["GET", "POST"])
@allow(COMMUNE)
def visit_new(proposal_id: str):
    user, p, form = _proposal_and_form(proposal_id, forms.VisitForm, today_in="visited_on")
    return _proposal_step(user, p, form, "livelihood/visit_form.html", lambda: services.record_visit(
        user, p, schemas.VisitIn.from_form({**form_values(form), "date": form.visited_on.data}),
        photos=forms.uploads(form.photos)),
        _("The monitoring visit was recorded."), {"date": "visited_on", "file": "photos"})


@bp.route("/proposals/<proposal_id>/complete", methods=["GET", "POST"])
@allow(COMMUNE, PROVINCE)
def proposal_complete(proposal_id: str):
    user, p, form = _proposal_and_form(proposal_id, forms.CompleteForm)
    return _proposal_step(user, p, form, "livelihood/closing_form.html",
                          lambda: _complete(user, p, schemas.CompleteIn.from_form(form_values(form))),
                          _("The proposal was completed."), completing=True)


def _complete(user, p: Proposal, done: schemas.CompleteIn) -> Proposal:
    return services.complete_proposal(user, p, done.outcome, done.note)


@bp.route("/proposals/<proposal_id>/close", methods=["GET", "POST"])
@allow(COMMUNE, PROVINCE)
def proposal_close(proposal_id: str):
    user, p, form = _proposal_and_form(proposal_id, forms.CloseForm)
    return _proposal_step(user, p, form, "livelihood/closing_form.html",
                          lambda: services.close_proposal(user, p, schemas.CloseIn.from_form(form_values(form)).reason),
                          _("The proposal was closed."), completing=False)


@bp.get("/proposals/<proposal_id>/<kind>/<owner_id>/<attachment_id>")
@allow(COMMUNE, PROVINCE)
def attachment(proposal_id: str, kind: str, owner_id: str, attachment_id: str):
    """A tranche's receipt or a visit's photo, to those who may see the proposal (a download, audited)."""
    from casework.errors import NotFound
    from casework.protect.attachments import get_attachment, send_attachment

    user, p = acting_user_and(services.get_proposal_or_404, proposal_id)
    if not presenters.may_download_attachments(user, p):
        deny("attachment", None)  # receipts and photos never reach the province (issue 12)
    owner = services.find_owner(p, kind, owner_id)  # kind is "receipt" (a tranche) or "photo" (a visit)
    if owner is None:
        deny("attachment", None)
    try:
        found = get_attachment(owner, attachment_id)
    except NotFound:
        deny("attachment", None)
    return send_attachment(owner, found)


# --- budget --------------------------------------------------------------------------------------


@bp.route("/budgets", methods=["GET", "POST"])
@allow(PROVINCE)
def budgets():
    from casework.extensions import db

    user = _user()
    form = forms.BudgetForm()
    if request.method == "GET":
        current = services.budget_summary(user)
        form.year.data = str(services.today().year)
        if current is not None:
            form.amount_vnd.data = format_number(current.amount_vnd)
            form.second_approval_above_vnd.data = (format_number(current.second_approval_above_vnd)
                                                   if current.second_approval_above_vnd is not None else "")
    done = submitted(form, lambda: services.set_budget(user, schemas.BudgetIn.from_form(
        {**form_values(form), "province_code": user.province_code})),
        lambda outcome: {"created": _("The budget was saved."),
                         "unchanged": _("Nothing changed: the budget already has these values."),
                         "pending": _("Your change was recorded. It takes effect when another province officer of "
                                      "the province or a national coordinator confirms it, within 24 hours.")}[
            outcome.status], url_for("livelihood.budgets"))
    if done is not None:
        return done
    from livelihood.models import Budget

    rows = list(db.session.scalars(services.budgets_visible_to(user).order_by(Budget.year.desc())))
    return render_template("livelihood/budgets.html", form=form, budgets=rows,
                           pending=services.pending_budget_changes(user),
                           province=geo.province(user.province_code)), form_status(form)


@bp.post("/budget-changes/<change_id>/confirm")
@allow(PROVINCE)
def budget_change_confirm(change_id: str):
    user, change = acting_user_and(services.get_budget_change_or_404, change_id)
    services.confirm_budget_change(user, change)  # the proposer: 403; no longer pending: 409
    flash(_("The budget change was confirmed and is now in force."), "info")
    return redirect(url_for("livelihood.budgets"))


@bp.post("/proposals/<proposal_id>/disbursements/<tranche_id>/confirm")
@allow(PROVINCE)
def disbursement_confirm(proposal_id: str, tranche_id: str):
    user, p = acting_user_and(services.get_proposal_or_404, proposal_id)
    if services.find_tranche(p, tranche_id) is None:
        deny("disbursement", tranche_id)
    services.confirm_tranche(user, p, tranche_id)  # the recorder: 403; no longer pending: 409
    return _back_to_proposal(p, _("The payment was confirmed; it now counts as paid."))


# --- children who came with her (Law 53/2024 Art. 37(2)) -----------------------------------------


@bp.route("/survivors/<survivor_id>/children/new", methods=["GET", "POST"])
@allow(COMMUNE)
def child_new(survivor_id: str):
    """Record a child under 18 who came with her, with the items a–h the child has received (Art. 37(2))."""
    from livelihood import children

    user, s = acting_user_and(services.get_survivor_or_404, survivor_id)
    if not services.can_see_identity(user, s):
        abort(404)
    form = forms.ChildForm()
    def save() -> None:
        raw = (form.birth_year.data or "").strip()
        year = int(raw) if raw.isdigit() and len(raw) <= 4 else None
        if raw and year is None:
            raise ValidationError(_("Please correct the marked fields."),
                                  {"birth_year": [_("Enter the year with four digits, for example 2015.")]})
        children.add_child(user, s, children.ChildInput(
            name=form.name.data, birth_year=year, sex=form.sex.data or "", supports=tuple(form.supports.data or ())))

    done = submitted(form, save, _("The child was recorded."),
                      url_for("livelihood.survivor", survivor_id=s.id) + "#children")
    if done is not None:
        return done
    return render_template("livelihood/child_form.html", form=form, s=s), form_status(form)
