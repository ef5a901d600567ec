"""Referral domain API (DESIGN §4): organisations, a case's referrals, the referral lists and transitions.

Errors: 400 malformed JSON, 422 invalid values with a message per field, 404 outside the caller's scope,
409 a transition not allowed now (or consent missing). A receiver's answers carry only the fields she
consented to share, and never the case's id or code.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user

from casework.api import api_route
from casework.api.json import json_body
from casework.auth.roles import Role
from casework.errors import ValidationError
from casework.extensions import db
from casework.models import ID_LENGTH
from casework.service_types import SERVICE_TYPES
from referral import presenters, services
from referral.models import REFERRAL_STATES, RESULTS, URGENCIES, Organisation, Referral
from referral.schemas import CompletionIn, DeclineIn, OrganisationIn, ReferralIn, read_organisation, read_referral

ORGANISATION_SCHEMA = {
    "type": "object",
    "required": ["id", "name", "kind", "services", "province_code", "commune_codes", "active"],
    "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string"},
        "services": {"type": "array", "items": {"type": "string"}}, "province_code": {"type": "string"},
        "commune_codes": {"type": "array", "items": {"type": "string"}}, "contact": {"type": "string"},
        "active": {"type": "boolean"},
    },
}
DIRECTORY_ROLES = (Role.ADMIN, Role.PROVINCE_OFFICER, Role.COMMUNE_OFFICER, Role.HOST, Role.SERVICE_PROVIDER)


def organisation_json(org: Organisation) -> dict:
    return {"id": org.id, "name": org.name, "kind": org.kind, "services": org.services,
            "province_code": org.province_code, "commune_codes": org.commune_codes, "contact": org.contact,
            "active": org.active}


@api_route("/organisations", "GET", summary="Organisations visible to the caller", roles=DIRECTORY_ROLES,
           response={"type": "object", "required": ["items", "next"], "properties": {
               "items": {"type": "array", "items": ORGANISATION_SCHEMA}, "next": {"type": ["string", "null"]}}},
           query={"after": {"type": "string", "maxLength": ID_LENGTH}})
def organisations_list():
    from flask import request

    q = services.organisations_visible_to(current_user).order_by(Organisation.id).limit(101)
    after = request.args.get("after", "")[:ID_LENGTH]
    if after:
        q = q.where(Organisation.id > after)
    rows = list(db.session.scalars(q))
    return jsonify(items=[organisation_json(o) for o in rows[:100]], next=rows[99].id if len(rows) > 100 else None)


@api_route("/organisations", "POST", summary="Register an organisation", roles=(Role.ADMIN, Role.PROVINCE_OFFICER),
           request=OrganisationIn.openapi(), response=ORGANISATION_SCHEMA, status=201)
def organisations_create():
    org = services.save_organisation(current_user, read_organisation(json_body()))
    return jsonify(organisation_json(org)), 201


@api_route("/organisations/<organisation_id>", "GET", summary="One organisation", roles=DIRECTORY_ROLES,
           response=ORGANISATION_SCHEMA)
def organisations_get(organisation_id: str):
    return jsonify(organisation_json(services.get_organisation_or_404(current_user, organisation_id)))


@api_route("/organisations/<organisation_id>", "PATCH", summary="Change an organisation",
           roles=(Role.ADMIN, Role.PROVINCE_OFFICER), request=OrganisationIn.openapi(), response=ORGANISATION_SCHEMA)
def organisations_update(organisation_id: str):
    """The fields not in the body keep their values."""
    org = services.get_organisation_or_404(current_user, organisation_id, manage=True)
    data = {**organisation_json(org), **json_body()}
    org = services.save_organisation(current_user, read_organisation(data), org)
    return jsonify(organisation_json(org))


# --- referrals ----------------------------------------------------------------------------------------

_STR = {"type": "string"}
_NSTR = {"type": "string", "nullable": True}
_DT = {"type": "string", "format": "date-time"}
_NDT = {"type": "string", "format": "date-time", "nullable": True}
_STATES = {"type": "string", "enum": list(REFERRAL_STATES)}

SHARED_OUT = {"type": "object", "additionalProperties": False, "properties": {
    "full_name": _NSTR, "other_names": _NSTR, "birth_year": {"type": "integer", "nullable": True},
    "birth_date": _NSTR, "sex": _STR, "age_band": _STR, "ethnicity_code": _NSTR, "phone": _NSTR,
    "id_number": _NSTR, "home_address": _NSTR,
    "children": {"type": "object", "required": ["count", "ages"], "properties": {
        "count": {"type": "integer"}, "ages": {"type": "array", "items": {"type": "integer"}}}},
    "acts": {"type": "array", "items": _STR}, "relationship": _STR,
    "injuries": {"type": "object", "required": ["injuries", "first_aid_given", "first_aid"], "properties": {
        "injuries": _NSTR, "first_aid_given": {"type": "boolean"}, "first_aid": _NSTR}},
    "risk": {"type": "object", "required": ["level", "factors"], "properties": {
        "level": _STR, "factors": {"type": "array", "items": _STR}}},
    "safety_plan": _NSTR, "narrative": _NSTR}}
REFERRAL_SUMMARY: dict[str, Any] = {"type": "object", "required": [
    "id", "reference", "state", "service", "urgency", "organisation_id", "organisation_name", "sent_at",
    "ack_due_at", "overdue", "override"], "properties": {
    "id": _STR, "reference": _STR, "state": _STATES, "service": {"type": "string", "enum": list(SERVICE_TYPES)},
    "urgency": {"type": "string", "enum": list(URGENCIES)}, "organisation_id": _STR, "organisation_name": _STR,
    "sent_at": _DT, "ack_due_at": _DT, "overdue": {"type": "boolean"}, "override": {"type": "boolean"},
    "accepted_at": _NDT, "declined_at": _NDT, "completed_at": _NDT, "cancelled_at": _NDT,
    "result": {"type": "string", "enum": list(RESULTS), "nullable": True},
    "service_date": {"type": "string", "format": "date", "nullable": True},
    "case_id": _STR, "case_reference": _STR}}
REFERRAL_DETAIL = {**REFERRAL_SUMMARY, "required": [*REFERRAL_SUMMARY["required"], "shared_fields", "reason"],
                   "properties": {**REFERRAL_SUMMARY["properties"],
                                  "shared_fields": {"type": "array", "items": _STR}, "shared": SHARED_OUT,
                                  "reason": _NSTR, "override_reason": _NSTR, "decline_reason": _NSTR,
                                  "service_given": _NSTR, "outcome": _NSTR}}
REFERRAL_LIST = {"type": "object", "required": ["items", "next"], "properties": {
    "items": {"type": "array", "items": REFERRAL_SUMMARY}, "next": _NSTR}}
CASE_REFERRAL_LIST = {"type": "object", "required": ["items", "next", "suggestions"], "properties": {
    "items": {"type": "array", "items": REFERRAL_SUMMARY}, "next": _NSTR,
    "suggestions": {"type": "array", "items": {"type": "string", "enum": ["child_protection"]}}}}
STATE_OUT = {"type": "object", "required": ["id", "state"], "properties": {"id": _STR, "state": _STATES}}
TRANSITION_ERRORS = (400, 401, 404, 409, 422)
SENDERS = (Role.HOST, Role.COMMUNE_OFFICER)
READERS = (Role.HOST, Role.COMMUNE_OFFICER, Role.SERVICE_PROVIDER)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def referral_summary(r: Referral, case_reference: str | None = None) -> dict:
    out = {"id": r.id, "reference": r.reference, "state": r.state, "service": r.service, "urgency": r.urgency,
           "organisation_id": r.organisation_id, "organisation_name": r.organisation.name,
           "sent_at": _iso(r.sent_at), "ack_due_at": _iso(r.ack_due_at), "overdue": r.is_overdue(),
           "override": r.override, "accepted_at": _iso(r.accepted_at), "declined_at": _iso(r.declined_at),
           "completed_at": _iso(r.completed_at), "cancelled_at": _iso(r.cancelled_at), "result": r.result,
           "service_date": _iso(r.service_date)}
    if case_reference is not None:  # senders only: a receiver never learns the case's id or code
        out["case_id"], out["case_reference"] = r.case_id, case_reference
    return out


def _case_references(rows: list[Referral]) -> dict[str, str]:
    from casework.cases.models import Case

    ids = {r.case_id for r in rows}
    if not ids:
        return {}
    return dict(db.session.execute(db.select(Case.id, Case.reference).where(Case.id.in_(ids))).all())


def _list_json(rows: list[Referral], sender: bool) -> list[dict]:
    refs = _case_references(rows) if sender else {}
    return [referral_summary(r, refs.get(r.case_id) if sender else None) for r in rows]


def _detail(referral: Referral) -> dict:
    """One referral for its reader, audited with the names of the fields in the answer: the answer shows her
    data only from ``presenters.view``, whose field names the event records (issue 18)."""
    case = services.case_of(referral)
    shown = presenters.view(current_user, referral, case)
    if shown.receiver:
        out = referral_summary(referral)
        out["shared_fields"] = list(shown.shared_fields)
        out["shared"] = shown.values
    else:
        out = referral_summary(referral, case.reference)
        out["shared_fields"] = referral.shared_fields
        out["override_reason"] = shown.text.get("override_reason")
    for name in ("reason", "decline_reason", "service_given", "outcome"):
        out[name] = shown.text.get(name)
    services.record_view(current_user, referral, shown.fields)
    return out


@api_route("/cases/<case_id>/referrals", "POST", summary="Refer a case to an organisation for one kind of service",
           roles=SENDERS, request=ReferralIn.openapi(), response=REFERRAL_DETAIL, status=201, errors=TRANSITION_ERRORS)
def case_referrals_create(case_id: str):
    from casework.cases.policy import get_case_or_404

    case = get_case_or_404(current_user, case_id)
    referral = services.send_referral(current_user, case, read_referral(json_body()))
    return jsonify(_detail(referral)), 201


@api_route("/cases/<case_id>/referrals", "GET", summary="Referrals of a case", roles=SENDERS,
           response=CASE_REFERRAL_LIST, query={"after": {"type": "string", "maxLength": 200}})
def case_referrals_list(case_id: str):
    from casework.cases.policy import get_case_or_404

    case = get_case_or_404(current_user, case_id)
    page = services.list_referrals(current_user, case=case, after=request.args.get("after", "")[:200] or None,
                                   overdue_first=False)
    services.record_list(current_user, len(page.items))
    return jsonify(items=_list_json(page.items, sender=True), next=page.next_cursor,
                   suggestions=["child_protection"] if services.is_child(case) else [])


@api_route("/referrals", "GET", summary="Referrals sent from the caller's cases, or addressed to her organisation",
           roles=READERS, response=REFERRAL_LIST,
           query={"state": {"type": "string", "enum": list(REFERRAL_STATES)},
                  "overdue": {"type": "string", "enum": ["true", "false"]},
                  "after": {"type": "string", "maxLength": 200}})
def referrals_list():
    from flask_babel import gettext as _

    state = request.args.get("state") or None
    if state is not None and state not in REFERRAL_STATES:
        raise ValidationError(_("Please correct the marked fields."), {"state": [_("Choose a state from the list.")]})
    page = services.list_referrals(current_user, state=state, after=request.args.get("after", "")[:200] or None,
                                   overdue_first=False, only_overdue=request.args.get("overdue") == "true")
    services.record_list(current_user, len(page.items))
    return jsonify(items=_list_json(page.items, sender=services.is_sender_side(current_user)), next=page.next_cursor)


@api_route("/referrals/<referral_id>", "GET", summary="One referral: a receiver gets only the shared fields",
           roles=READERS, response=REFERRAL_DETAIL)
def referrals_get(referral_id: str):
    return jsonify(_detail(services.get_referral_or_404(current_user, referral_id)))


def _state(referral: Referral):
    return jsonify(id=referral.id, state=referral.state)


@api_route("/referrals/<referral_id>/accept", "POST",
           summary="Accept a referral addressed to the caller's organisation",
           roles=(Role.SERVICE_PROVIDER,), response=STATE_OUT, errors=TRANSITION_ERRORS)
def referrals_accept(referral_id: str):
    referral = services.get_referral_or_404(current_user, referral_id)
    return _state(services.accept_referral(current_user, referral))


@api_route("/referrals/<referral_id>/decline", "POST", summary="Decline a referral, with a reason",
           roles=(Role.SERVICE_PROVIDER,), request=DeclineIn.openapi(), response=STATE_OUT, errors=TRANSITION_ERRORS)
def referrals_decline(referral_id: str):
    referral = services.get_referral_or_404(current_user, referral_id)
    return _state(services.decline_referral(current_user, referral, DeclineIn.from_json(json_body())))


@api_route("/referrals/<referral_id>/complete", "POST", summary="Record the service given and its outcome",
           roles=(Role.SERVICE_PROVIDER,), request=CompletionIn.openapi(), response=STATE_OUT, errors=TRANSITION_ERRORS)
def referrals_complete(referral_id: str):
    referral = services.get_referral_or_404(current_user, referral_id)
    return _state(services.complete_referral(current_user, referral, CompletionIn.from_json(json_body())))


@api_route("/referrals/<referral_id>/cancel", "POST", summary="Cancel a referral that has not been answered yet",
           roles=SENDERS, response=STATE_OUT, errors=TRANSITION_ERRORS)
def referrals_cancel(referral_id: str):
    referral = services.get_referral_or_404(current_user, referral_id)
    return _state(services.cancel_referral(current_user, referral))
