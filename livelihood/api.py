"""JSON API of the livelihood domain (DESIGN §4): survivors, proposals, decisions, disbursements,
monitoring visits, support events and budgets. Contributed to the application by ``livelihood.register``.

Every route declares its roles and schemas (``openapi.json`` is built from them). Errors: 400 for
a body that is not a JSON object, 422 per field, 404 outside the caller's scope, 409 for a
transition not allowed now, 403 when the four-eyes rule stops the caller (she drafted the
proposal, or gave its first approval).

Province officers get a survivor without identity: her code, commune, status, sex, age band and
ethnicity, never her name, phone or birth year (``services.can_see_identity``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from casework.api import api_route
from casework.api.json import json_body
from casework.auth.models import User
from casework.auth.policy import acting_user_and
from casework.auth.roles import Role
from casework.errors import ValidationError
from casework.extensions import db
from casework.protect import audit
from livelihood import presenters, schemas, services
from livelihood.models import (
    DISBURSEMENT_FORMS,
    PROPOSAL_KINDS,
    PROPOSAL_STATES,
    SURVIVOR_STATUSES,
    VISIT_PROGRESS,
    Budget,
    Disbursement,
    MonitoringVisit,
    Proposal,
    Survivor,
)

COMMUNE = Role.COMMUNE_OFFICER
PROVINCE = Role.PROVINCE_OFFICER
COORDINATOR = Role.COORDINATOR
ERRORS = (400, 401, 404, 422)
STATE_ERRORS = (400, 401, 403, 404, 409, 422)

DAY = {"type": "string", "format": "date"}
ID = {"type": "string"}

# Answers (request bodies come from ``livelihood.schemas``: ``request=X.openapi()``).
SURVIVOR_RESPONSE = {"type": "object", "required": ["id", "code", "status"], "properties": {
    "id": ID, "code": {"type": "string"}, "province_code": {"type": "string"}, "commune_code": {"type": "string"},
    "status": {"enum": list(SURVIVOR_STATUSES)}, "status_on": {"type": "string", "nullable": True},
    "entitlements": {"type": "array", "items": {"type": "string"}},
    "supports_received": {"type": "array", "items": {"type": "string"}},
    "person": {"type": "object", "description": "full_name, birth_year and phone only for her commune's officer"},
    "consent": {"type": "object"}, "survey": {"type": "object"}}}
LINE_RESPONSE = {"type": "object", "required": ["item", "quantity", "unit_cost_vnd"], "properties": {
    "item": {"type": "string"}, "unit": {"type": "string"}, "quantity": {"type": "integer"},
    "unit_cost_vnd": {"type": "integer"}, "co_contribution_vnd": {"type": "integer"}}}
PROPOSAL_RESPONSE = {"type": "object", "required": ["id", "state", "total_vnd"], "properties": {
    "id": ID, "survivor_id": ID, "survivor_code": {"type": "string"}, "commune_code": {"type": "string"},
    "kind": {"enum": list(PROPOSAL_KINDS)}, "title": {"type": "string"}, "state": {"enum": list(PROPOSAL_STATES)},
    "total_vnd": {"type": "integer"}, "co_contribution_vnd": {"type": "integer"},
    "requested_vnd": {"type": "integer"}, "approved_amount_vnd": {"type": "integer", "nullable": True},
    "disbursed_vnd": {"type": "integer"}, "remaining_vnd": {"type": "integer"},
    "awaiting_second_approval": {"type": "boolean"}, "budget_lines": {"type": "array", "items": LINE_RESPONSE}}}
STATE_RESPONSE = {"type": "object", "required": ["id", "state"], "properties": {
    "id": ID, "state": {"enum": list(PROPOSAL_STATES)}, "approved_amount_vnd": {"type": "integer", "nullable": True},
    "awaiting_second_approval": {"type": "boolean"}}}
DISBURSEMENT_RESPONSE = {"type": "object", "required": ["id", "amount_vnd", "date", "form", "state"], "properties": {
    "id": ID, "amount_vnd": {"type": "integer"}, "date": DAY, "form": {"enum": list(DISBURSEMENT_FORMS)},
    "state": {"enum": ["pending", "confirmed", "cancelled"],
              "description": "pending: waits for a second province officer; only confirmed money counts as paid"},
    "pending_vnd": {"type": "integer"},
    "proposal_state": {"enum": list(PROPOSAL_STATES)}, "disbursed_vnd": {"type": "integer"},
    "remaining_vnd": {"type": "integer"}}}
VISIT_RESPONSE = {"type": "object", "required": ["id", "date", "progress"], "properties": {
    "id": ID, "date": DAY, "progress": {"enum": list(VISIT_PROGRESS)},
    "income_before_vnd": {"type": "integer", "nullable": True},
    "income_after_vnd": {"type": "integer", "nullable": True},
    "funds_used_as_planned": {"type": "boolean", "nullable": True}}}
PENDING_RESPONSE = {"type": "object", "required": ["id", "state"], "properties": {
    "id": ID, "state": {"enum": ["pending"]}}}
BUDGET_CHANGE_RESPONSE = {"type": "object", "required": ["id", "state", "budget_id"], "properties": {
    "id": ID, "state": {"enum": ["pending", "applied", "expired"]}, "budget_id": ID,
    "province_code": {"type": "string"}, "year": {"type": "integer"}, "amount_vnd": {"type": "integer"},
    "second_approval_above_vnd": {"type": "integer", "nullable": True}, "proposed_by_id": ID,
    "proposed_at": {"type": "string", "format": "date-time"}, "expires_at": {"type": "string", "format": "date-time"},
    "decided_by_id": {"type": "string", "nullable": True}}}
BUDGET_RESPONSE = {"type": "object", "required": ["id", "province_code", "year", "amount_vnd"], "properties": {
    "id": ID, "province_code": {"type": "string"}, "year": {"type": "integer"}, "amount_vnd": {"type": "integer"},
    "committed_vnd": {"type": "integer"}, "disbursed_vnd": {"type": "integer"}, "available_vnd": {"type": "integer"},
    "second_approval_above_vnd": {"type": "integer", "nullable": True}}}


def list_of(schema: dict) -> dict:
    return {"type": "object", "required": ["items", "next"], "properties": {
        "items": {"type": "array", "items": schema}, "next": {"type": "string", "nullable": True}}}


PAGE_QUERY = {"after": {"type": "string", "description": "the ``next`` cursor of the previous page"}}


def _user():
    return current_user._get_current_object()


# --- answers --------------------------------------------------------------------------------------


def survivor_json(user, s: Survivor) -> dict:
    v = presenters.present(user, s)  # read through the presenter: ``presenters.reading`` notes the fields
    body: dict[str, Any] = {
        "id": v.id, "code": v.code, "province_code": v.province_code, "commune_code": v.commune_code,
        "status": v.status, "status_on": v.status_on.isoformat() if v.status_on else None,
        "entitlements": list(services.entitlements_of(s)), "supports_received": [r.item for r in v.supports],
        "person": {"sex": v.sex, "ethnicity_code": v.ethnicity_code, "age_band": v.age_band},
        "consent": {"record": v.consent_record, "statistics": v.consent_statistics},
    }
    if v.full:  # her commune's officer only (issue 12)
        body["person"].update(full_name=v.full_name, phone=v.phone,
                              birth_year=int(v.birth_year) if v.birth_year else None)
        body["status_authority"] = v.status_authority
        body["consent"]["given_by"] = v.consent_given_by
        body["survey"] = {"household_size": v.household_size, "monthly_income_vnd": v.monthly_income_vnd,
                          "skills": v.skills, "assets": v.assets, "health": v.health, "wishes": v.wishes}
    return body


def proposal_json(user, record: Proposal) -> dict:
    """The proposal as the caller may see it: free text only for her commune's officer (``presenters``)."""
    p = presenters.present(user, record)
    return {
        "id": p.id, "survivor_id": p.survivor_id, "survivor_code": p.survivor.code, "commune_code": p.commune_code,
        "kind": p.kind, "title": p.title, "description": p.description, "expected_results": p.expected_results,
        "state": p.state, "total_vnd": p.total_vnd, "co_contribution_vnd": p.co_contribution_vnd,
        "requested_vnd": p.requested_vnd, "approved_amount_vnd": p.approved_amount_vnd,
        "disbursed_vnd": p.disbursed_vnd, "remaining_vnd": p.remaining_vnd,
        "awaiting_second_approval": p.awaiting_second_approval, "outcome": p.outcome,
        "pending_disbursement_vnd": p.pending_disbursement_vnd,
        "budget_lines": [{"item": ln.item, "unit": ln.unit, "quantity": ln.quantity,
                          "unit_cost_vnd": ln.unit_cost_vnd, "co_contribution_vnd": ln.co_contribution_vnd,
                          "total_vnd": ln.total_vnd} for ln in p.lines],
    }


def state_json(p: Proposal) -> dict:
    return {"id": p.id, "state": p.state, "approved_amount_vnd": p.approved_amount_vnd,
            "awaiting_second_approval": p.awaiting_second_approval}


def budget_json(b: Budget) -> dict:
    return {"id": b.id, "province_code": b.province_code, "year": b.year, "amount_vnd": b.amount_vnd,
            "committed_vnd": b.committed_vnd, "disbursed_vnd": b.disbursed_vnd, "available_vnd": b.available_vnd,
            "second_approval_above_vnd": b.second_approval_above_vnd}


def budget_change_json(c) -> dict:
    return {"id": c.id, "state": c.state, "budget_id": c.budget_id, "province_code": c.budget.province_code,
            "year": c.budget.year, "amount_vnd": c.amount_vnd, "second_approval_above_vnd": c.second_approval_above_vnd,
            "proposed_by_id": c.proposed_by_id, "proposed_at": c.proposed_at.isoformat(),
            "expires_at": c.expires_at.isoformat(), "decided_by_id": c.decided_by_id}


def tranche_json(t: Disbursement, p: Proposal) -> dict:
    return {"id": t.id, "amount_vnd": t.amount_vnd, "date": t.paid_on.isoformat(), "form": t.form,
            "state": t.state, "proposal_state": p.state, "disbursed_vnd": p.disbursed_vnd,
            "pending_vnd": p.pending_disbursement_vnd, "remaining_vnd": p.remaining_vnd}


def visit_json(user, record: MonitoringVisit, commune_code: str | None = None) -> dict:
    v = presenters.present(user, record, commune_code=commune_code)
    return {"id": v.id, "date": v.visited_on.isoformat(), "progress": v.progress,
            "income_before_vnd": v.income_before_vnd, "income_after_vnd": v.income_after_vnd,
            "funds_used_as_planned": v.funds_used_as_planned, "problems": v.problems, "notes": v.notes}


def _read(record, answer, recorded):
    """``answer()`` made while reading ``record`` through the presenter; the fields it read go to ``recorded``
    (the answer's fields are its event's, issue 18)."""
    with presenters.reading(record) as shown:
        body = answer()
    recorded(shown.fields)
    return body


def _one(find, record_id: str, to_json, record_view):
    """The record the caller asked for, as JSON read through the presenter; the fields read go to its read event."""
    user, record = acting_user_and(find, record_id)
    return jsonify(_read(record, lambda: to_json(user, record), lambda fields: record_view(user, record, fields)))


def _proposal_step(proposal_id: str, step: Callable[[User, Proposal], object]):
    """A step of a proposal the caller may see (the service checks it is theirs to take); the answer is its state."""
    user, p = acting_user_and(services.get_proposal_or_404, proposal_id)
    step(user, p)
    return jsonify(state_json(p))


def _created(body: dict):
    response = jsonify(body)
    response.status_code = 201
    return response


# --- survivors ------------------------------------------------------------------------------------


@api_route("/survivors", "POST", summary="Register a trafficking survivor in the caller's commune",
           roles=[COMMUNE], request=schemas.SurvivorIn.openapi(), response=SURVIVOR_RESPONSE, status=201, errors=ERRORS)
def livelihood_survivor_create():
    survivor = services.register_survivor(_user(), schemas.SurvivorIn.from_json(json_body()))
    return _created(survivor_json(_user(), survivor))


@api_route("/survivors", "GET", summary="Survivors the caller may see, newest first (keyset pages)",
           roles=[COMMUNE, PROVINCE], response=list_of(SURVIVOR_RESPONSE), query=PAGE_QUERY, errors=ERRORS)
def livelihood_survivor_list():
    user = _user()
    page = services.page_of(services.survivors_visible_to(user), Survivor, request.args.get("after"))
    audit.record("survivor_list", object_type="survivor", actor=user, detail=f"results:{len(page.items)}")
    return jsonify(items=[survivor_json(user, s) for s in page.items], next=page.next)


@api_route("/survivors/<survivor_id>", "GET", summary="One survivor (identity only for her commune's officer)",
           roles=[COMMUNE, PROVINCE], response=SURVIVOR_RESPONSE, errors=ERRORS)
def livelihood_survivor_get(survivor_id: str):
    return _one(services.get_survivor_or_404, survivor_id, survivor_json, services.record_survivor_view)


@api_route("/survivors/<survivor_id>/events", "POST",
           summary="Record vocational training, job counselling or a market-linkage event",
           roles=[COMMUNE], request=schemas.EventIn.openapi(), status=201, errors=ERRORS,
           response={"type": "object", "required": ["id", "kind", "date"]})
def livelihood_event_create(survivor_id: str):
    user, s = acting_user_and(services.get_survivor_or_404, survivor_id)
    new = schemas.EventIn.from_json(json_body())
    event = services.record_event(user, s, new)
    return _created({"id": event.id, "kind": event.kind, "date": event.held_on.isoformat(),
                     "completed": event.completed})


# --- proposals ------------------------------------------------------------------------------------


@api_route("/proposals", "POST", summary="Draft a livelihood proposal with a survivor of the caller's commune",
           roles=[COMMUNE], request=schemas.NewProposalIn.openapi(), response=PROPOSAL_RESPONSE, status=201,
           errors=ERRORS)
def livelihood_proposal_create():
    user = _user()
    new = schemas.NewProposalIn.from_json(json_body())
    survivor = services.get_survivor_or_404(user, new.survivor_id)
    proposal = services.draft_proposal(user, survivor, new)
    return _created(proposal_json(user, proposal))


@api_route("/proposals", "GET", summary="Proposals the caller may see, newest first (keyset pages)",
           roles=[COMMUNE, PROVINCE], response=list_of(PROPOSAL_RESPONSE),
           query={**PAGE_QUERY, "state": {"enum": list(PROPOSAL_STATES)}}, errors=ERRORS)
def livelihood_proposal_list():
    user = _user()
    query = services.proposals_visible_to(user)
    state = request.args.get("state")
    if state:
        if state not in PROPOSAL_STATES:
            raise ValidationError(_("Please correct the marked fields."), {"state": [_("Unknown state.")]})
        query = query.where(Proposal.state == state)
    page = services.page_of(query, Proposal, request.args.get("after"))
    return jsonify(items=[proposal_json(user, p) for p in page.items], next=page.next)


@api_route("/proposals/<proposal_id>", "GET", summary="One proposal with its budget lines",
           roles=[COMMUNE, PROVINCE], response=PROPOSAL_RESPONSE, errors=ERRORS)
def livelihood_proposal_get(proposal_id: str):
    return _one(services.get_proposal_or_404, proposal_id, proposal_json, services.record_proposal_view)


@api_route("/proposals/<proposal_id>/submit", "POST", summary="Send a draft (or revised) proposal for appraisal",
           roles=[COMMUNE], response=STATE_RESPONSE, errors=STATE_ERRORS)
def livelihood_proposal_submit(proposal_id: str):
    return _proposal_step(proposal_id, lambda user, p: services.submit_proposal(
        user, p, schemas.SubmitIn.from_json(json_body()).note if request.get_data() else None))


@api_route("/proposals/<proposal_id>/appraisals", "POST", summary="Record a scoring sheet (five criteria, 1–5)",
           roles=[PROVINCE], request=schemas.AppraisalIn.openapi(), status=201, errors=STATE_ERRORS,
           response={"type": "object", "required": ["id", "total", "state"]})
def livelihood_proposal_appraise(proposal_id: str):
    user, p = acting_user_and(services.get_proposal_or_404, proposal_id)
    sheet = services.appraise_proposal(user, p, schemas.AppraisalIn.from_json(json_body()))
    return _created({"id": sheet.id, "total": sheet.total, "state": p.state})


@api_route("/proposals/<proposal_id>/decision", "POST",
           summary="Approve (an amount up to the request), return for revision, or reject",
           roles=[PROVINCE], request=schemas.DecisionIn.openapi(), response=STATE_RESPONSE, errors=STATE_ERRORS)
def livelihood_proposal_decide(proposal_id: str):
    return _proposal_step(proposal_id, lambda user, p: services.decide_proposal(
        user, p, schemas.DecisionIn.from_json(json_body())))


@api_route("/proposals/<proposal_id>/disbursements", "POST", summary="Record a tranche paid in cash or in kind",
           roles=[PROVINCE], request=schemas.TrancheIn.openapi(), response=DISBURSEMENT_RESPONSE, status=201,
           errors=STATE_ERRORS)
def livelihood_disbursement_create(proposal_id: str):
    user, p = acting_user_and(services.get_proposal_or_404, proposal_id)
    tranche: Disbursement = services.disburse(user, p, schemas.TrancheIn.from_json(json_body()))
    return _created(tranche_json(tranche, p))


@api_route("/proposals/<proposal_id>/disbursements/<tranche_id>/confirm", "POST",
           summary="A second province officer confirms a pending tranche (not the one who recorded it: 403 "
                   "second_person_required); it then counts as paid",
           roles=[PROVINCE], response=DISBURSEMENT_RESPONSE, errors=STATE_ERRORS)
def livelihood_disbursement_confirm(proposal_id: str, tranche_id: str):
    user, p = acting_user_and(services.get_proposal_or_404, proposal_id)
    if services.find_tranche(p, tranche_id) is None:
        from casework.auth.policy import deny

        deny("disbursement", tranche_id)
    tranche = services.confirm_tranche(user, p, tranche_id)
    return jsonify(tranche_json(tranche, p))


@api_route("/proposals/<proposal_id>/visits", "POST", summary="Record a monitoring visit",
           roles=[COMMUNE], request=schemas.VisitIn.openapi(), response=VISIT_RESPONSE, status=201, errors=STATE_ERRORS)
def livelihood_visit_create(proposal_id: str):
    user, p = acting_user_and(services.get_proposal_or_404, proposal_id)
    new = schemas.VisitIn.from_json(json_body())
    visit = services.record_visit(user, p, new)
    return _created(visit_json(user, visit, p.commune_code))


@api_route("/proposals/<proposal_id>/visits", "GET", summary="Monitoring visits of a proposal",
           roles=[COMMUNE, PROVINCE], response=list_of(VISIT_RESPONSE), errors=ERRORS)
def livelihood_visit_list(proposal_id: str):
    user, p = acting_user_and(services.get_proposal_or_404, proposal_id)
    items = _read(p, lambda: [visit_json(user, v, p.commune_code) for v in services.visits_of(p)],
                  lambda fields: services.record_proposal_view(user, p, fields))
    return jsonify(items=items, next=None)


@api_route("/proposals/<proposal_id>/complete", "POST", summary="Complete a proposal with its outcome",
           roles=[COMMUNE, PROVINCE], request=schemas.CompleteIn.openapi(), response=STATE_RESPONSE,
           errors=STATE_ERRORS)
def livelihood_proposal_complete(proposal_id: str):
    def complete(user: User, p: Proposal) -> None:
        done = schemas.CompleteIn.from_json(json_body())
        services.complete_proposal(user, p, done.outcome, done.note)

    return _proposal_step(proposal_id, complete)


@api_route("/proposals/<proposal_id>/close", "POST", summary="Close a proposal without completion, with a reason",
           roles=[COMMUNE, PROVINCE], request=schemas.CloseIn.openapi(), response=STATE_RESPONSE, errors=STATE_ERRORS)
def livelihood_proposal_close(proposal_id: str):
    return _proposal_step(proposal_id, lambda user, p: services.close_proposal(
        user, p, schemas.CloseIn.from_json(json_body()).reason))


# --- budgets --------------------------------------------------------------------------------------


@api_route("/budgets", "POST",
           summary="Set the caller's province's livelihood budget for a year: the first one takes effect at once "
                   "(201), the same values again change nothing (200), a change waits for a second person (202 "
                   "{id, state: pending}; 409 pending_confirmation while another change waits)",
           roles=[PROVINCE], request=schemas.BudgetIn.openapi(), response=BUDGET_RESPONSE, status=201,
           errors=STATE_ERRORS)
def livelihood_budget_set():
    user = _user()
    new = schemas.BudgetIn.from_json(json_body())
    if new.province_code != user.province_code:
        from casework.auth.policy import deny

        deny("budget", None)  # another province's money is outside the caller's scope
    outcome = services.set_budget(user, new)
    if outcome.change is not None:  # a change waits for a second person: nothing changed yet
        response = jsonify(id=outcome.change.id, state="pending")
        response.status_code = 202
        return response
    response = jsonify(budget_json(outcome.budget))
    response.status_code = 201 if outcome.status == "created" else 200
    return response


@api_route("/budgets", "GET", summary="The caller's province's budgets, newest year first",
           roles=[PROVINCE], response=list_of(BUDGET_RESPONSE), errors=(401,))
def livelihood_budget_list():
    user = _user()
    rows = db.session.scalars(services.budgets_visible_to(user).order_by(Budget.year.desc()))
    return jsonify(items=[budget_json(b) for b in rows], next=None)


@api_route("/budget-changes", "GET", summary="Budget changes waiting for a second person (the caller's province; "
           "every province for a coordinator)", roles=[PROVINCE, COORDINATOR],
           response=list_of(BUDGET_CHANGE_RESPONSE), errors=(401,))
def livelihood_budget_change_list():
    user = _user()
    return jsonify(items=[budget_change_json(c) for c in services.pending_budget_changes(user)], next=None)


@api_route("/budget-changes/<change_id>/confirm", "POST",
           summary="Another province officer of the province, or a coordinator, confirms a budget change "
                   "(the proposer: 403 second_person_required)",
           roles=[PROVINCE, COORDINATOR], response={"type": "object", "required": ["state"], "properties": {
               "state": {"enum": ["applied"]}, "budget": BUDGET_RESPONSE}}, errors=STATE_ERRORS)
def livelihood_budget_change_confirm(change_id: str):
    user, change = acting_user_and(services.get_budget_change_or_404, change_id)
    budget = services.confirm_budget_change(user, change)
    return jsonify(id=change.id, state="applied", budget=budget_json(budget))


from livelihood import children as _children  # noqa: E402,F401  (Law 53/2024 Art. 37(2) routes attach on import)
