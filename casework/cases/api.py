"""JSON API of trusted-address casework (DESIGN §4): addresses, cases, consents, follow-ups, closure.

Errors: 400 malformed JSON, 422 invalid values with a message per field, 404 outside the caller's scope,
409 a transition not allowed now or a stale ``version``. A name or phone to search for travels only in the
body of ``POST /cases/search`` (``GET /cases?q=`` is a 400 ``search_in_body``): it is never in a URL, a log
line or the audit event (which has the count only).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import gettext as _

from casework.api import api_route
from casework.api.json import json_body
from casework.auth.models import User
from casework.auth.policy import acting_user, acting_user_and
from casework.auth.roles import Role
from casework.cases import codes, presenters, schemas, services
from casework.cases import consent as consent_service
from casework.cases.closure import OpenItemsError
from casework.cases.policy import ADDRESS_MANAGERS, ADDRESS_READERS, CASE_ROLES, WORKER_ROLES, can_see_identity
from casework.errors import DomainError, NotFound, ValidationError
from casework.extensions import db
from casework.models import ID_LENGTH
from casework.schemas import Errors, form_values

# --- schemas (documentation in openapi.json; the checks themselves are below and in the services) -----

_STR = {"type": "string"}
_NSTR = {"type": "string", "nullable": True}
_DATE = {"type": "string", "format": "date", "nullable": True}
_DT = {"type": "string", "format": "date-time", "nullable": True}
_ID = {"type": "string"}

ADDRESS_OUT = {"type": "object", "required": ["id", "name", "kind", "commune_code", "province_code", "active"],
               "properties": {"id": _ID, "name": _STR, "kind": _STR, "commune_code": _STR, "province_code": _STR,
                              "declared_on": _DATE, "published_on": _DATE, "active": {"type": "boolean"},
                              "hosts": {"type": "array", "items": _STR}}}
CASE_SUMMARY = {"type": "object", "required": ["id", "reference", "status"], "properties": {
    "id": _ID, "reference": _STR, "status": {"enum": list(codes.STATUSES)}, "commune_code": _STR,
    "intake_at": _DT, "intake_date": _DATE, "risk_level": _STR, "forms": {"type": "array", "items": _STR},
    "person": {"type": "object", "properties": {"full_name": _NSTR}}}}
CASE_LIST = {"type": "object", "required": ["items", "next"], "properties": {
    "items": {"type": "array", "items": CASE_SUMMARY}, "next": _NSTR}}
CASE_OUT = {"type": "object", "required": ["id", "reference", "status"], "properties": {
    "id": _ID, "reference": _STR, "status": {"enum": list(codes.STATUSES)}, "version": {"type": "integer"},
    "person": {"type": "object", "properties": {"full_name": _NSTR, "phone": _NSTR}},
    "acts": {"type": "array", "items": _STR}, "forms": {"type": "array", "items": _STR},
    "warnings": {"type": "array", "items": {"type": "object", "required": ["code"], "properties": {
        "code": {"enum": ["act_not_counted"]}, "acts": {"type": "array", "items": _STR},
        "confirmed": {"type": "boolean"}}}}}}
CONSENT_OUT = {"type": "object", "required": ["id", "purpose", "active"], "properties": {
    "id": _ID, "purpose": {"enum": list(codes.PURPOSES)}, "service": _NSTR,
    "fields": {"type": "array", "items": _STR}, "given_at": _DT, "withdrawn_at": _DT, "active": {"type": "boolean"}}}
FOLLOW_UP_OUT = {"type": "object", "required": ["id", "on"], "properties": {
    "id": _ID, "on": {"type": "string", "format": "date"}, "kind": _STR, "situation": _STR,
    "violence_recurred": {"type": "boolean"}, "note": _NSTR,
    "next_on": {"type": ["string", "null"], "format": "date"}}}
SHELTER_OUT = {"type": "object", "required": ["id", "start_on"], "properties": {
    "id": _ID, "start_on": {"type": "string", "format": "date"}, "end_on": _DATE,
    "essentials": {"type": "array", "items": _STR}, "money_vnd": {"type": "integer", "nullable": True}}}
BAN_OUT = {"type": "object", "required": ["id", "kind", "requested_at", "decision_due_at"], "properties": {
    "id": _ID, "kind": {"enum": list(codes.CONTACT_BAN_KINDS)}, "origin": _STR, "requester": _STR,
    "requested_at": _DT, "decision_due_at": _DT, "decision": _NSTR, "valid_until": _DT, "court_name": _STR,
    "revocation": {"type": "object", "nullable": True, "properties": {"date": _DATE, "reason": _NSTR}}}}
STATE_OUT = {"type": "object", "required": ["id", "status"], "properties": {
    "id": _ID, "status": {"enum": list(codes.STATUSES)}, "version": {"type": "integer"}}}
TIMELINE_OUT = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
    "type": "object", "required": ["kind", "at"], "properties": {"kind": _STR, "at": _DT, "note": _NSTR}}}}}
ERRORS = (400, 401, 404, 409, 422)


class SearchInURL(DomainError):
    status = 400
    code = "search_in_body"


def _me() -> User:
    return acting_user()


def _answer(*found: dict[str, list[str]]) -> None:
    """One 422 with the messages of the schema and of the service together (DESIGN §4)."""
    errors = Errors()
    for fields in found:
        errors.merge(fields)
    errors.raise_if_any()


def read_intake(user: User, body: dict[str, Any], *, address_id: str | None = None) -> services.IntakeData:
    """An intake's JSON, from the API or from an offline entry (casework/offline), as the services take it; or
    one 422 with every message of ``schemas.IntakeIn`` and of the service together, so both ways in are judged
    by the same rules and answered in the same words. ``address_id``: the address when the body names none."""
    value, errors = schemas.IntakeIn.read_all(body)
    data = services.IntakeData.of(value)
    if not data.address_id and address_id:
        data = services.with_changes(data, address_id=address_id)
    _answer(errors, services.intake_errors(user, data))
    return data


def _case_json(case) -> dict[str, Any]:
    """The case's intake details in the shape of the PATCH body, which a PATCH overlays."""
    data = services.intake_data_of(case)
    p = data.person
    act_parts: dict[str, list[str]] = {}
    for letter, part in (v.split(":", 1) for v in sorted(data.act_parts)):
        act_parts.setdefault(letter, []).append(part)
    return {
        "intake_at": data.intake_at.isoformat() if data.intake_at else None, "arrival": data.arrival,
        "person": {"full_name": p.full_name, "other_names": p.other_names, "sex": p.sex, "birth_year": p.birth_year,
                   "birth_date": p.birth_date.isoformat() if p.birth_date else None, "age_band": p.age_band,
                   "ethnicity_code": p.ethnicity_code, "phone": p.phone, "id_number": p.id_number,
                   "home_commune_code": p.home_commune_code, "home_address": p.home_address,
                   "legacy_home_commune_code": p.legacy_home_commune_code},
        "children": {"count": data.children_count, "ages": list(data.children_ages)},
        "acts": list(data.acts), "act_parts": act_parts, "relationship": data.relationship,
        "perpetrator": {"sex": data.perpetrator_sex, "age_band": data.perpetrator_age_band},
        "injuries": data.injuries, "first_aid_given": data.first_aid_given, "first_aid": data.first_aid,
        "risk": {"factors": sorted(data.risk_factors), "judged_high": data.risk_judged_high},
        "safety_plan": data.safety_plan,
        "commune_notified_at": data.commune_notified_at.isoformat() if data.commune_notified_at else None,
        "narrative": data.narrative, "legacy_commune_code": data.legacy_commune_code,
    }


def _overlay(current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A PATCH changes the fields it sends; in the nested objects too (an absent or null object changes nothing)."""
    out = {**current, **body}
    for name in ("person", "children", "perpetrator", "risk"):
        sent = body.get(name)
        if sent is None:
            out[name] = current[name]
        elif isinstance(sent, dict):
            out[name] = {**current[name], **sent}
    return out


# --- addresses -----------------------------------------------------------------------------------------


@api_route("/addresses", "GET", summary="Trusted addresses the caller may see", roles=ADDRESS_READERS,
           response={"type": "object", "required": ["items"], "properties": {
               "items": {"type": "array", "items": ADDRESS_OUT}}}, errors=(401,))
def address_list():
    from sqlalchemy.orm import selectinload

    from casework.auth.models import User

    # The hosts' ids only, in one query for the whole list (``Address.hosts`` is loaded on demand).
    rows = db.session.scalars(services.addresses_visible_to(_me()).order_by(services.Address.id).limit(500)
                              .options(selectinload(services.Address.hosts).load_only(User.id)))
    return jsonify(items=[presenters.address_json(a) for a in rows])


@api_route("/addresses", "POST", summary="Register a trusted address (commune officer of its commune, admin)",
           roles=ADDRESS_MANAGERS, request=schemas.AddressIn.openapi(), response=ADDRESS_OUT, status=201)
def address_create():
    user = _me()
    data, errors = schemas.AddressIn.read_all(json_body())
    _answer(errors, services.address_errors(user, data) if errors else {})
    address = services.create_address(user, data)
    return jsonify(presenters.address_json(address, with_details=True)), 201


@api_route("/addresses/<address_id>", "GET", summary="One trusted address with its trainings and support",
           roles=ADDRESS_READERS, response=ADDRESS_OUT, errors=(401, 404))
def address_get(address_id: str):
    address = services.get_address_or_404(_me(), address_id)
    return jsonify(presenters.address_json(address, with_details=True))


# --- cases ----------------------------------------------------------------------------------------------


@api_route("/cases", "POST", summary="Record an intake with the person, the acts, the relationship and her consent",
           roles=WORKER_ROLES, request=schemas.IntakeIn.openapi(), response=CASE_OUT, status=201)
def case_create():
    user = _me()
    case = services.create_case(user, read_intake(user, json_body()))
    return jsonify(presenters.full_detail(case)), 201


@api_route("/cases", "GET", summary="Cases the caller may see, most urgent first (search: POST /cases/search)",
           roles=CASE_ROLES, response=CASE_LIST, errors=(400, 401, 422),
           query=schemas.query_parameters(schemas.CaseListQuery))
def case_list():
    user = _me()
    if "q" in request.args:
        # A name or phone in a URL ends up in proxy logs, browser history and Referer headers (DESIGN §4).
        raise SearchInURL(_("Search by name or phone with POST /api/v1/cases/search and the term in the body."),
                          {"q": [_("Send the search term in the request body, never in the address.")]})
    query = schemas.CaseListQuery.from_form(form_values(request.args))
    page = services.list_cases(user, query, query.after)
    if can_see_identity(user):
        services.record_list(user, page.items, presenters.LIST_FIELDS)
        items = [presenters.full_summary(c, f) for c, f in _with_flags(page.items)]
    else:
        items = [presenters.anonymous_summary(c) for c in page.items]
        services.record_list(user, page.items, sorted({f for i in items for f in presenters.anonymous_fields(i)}))
    return jsonify(items=items, next=page.next_cursor)


@api_route("/cases/search", "POST", summary="Cases whose person's name or phone matches q (the term only in the body)",
           roles=CASE_ROLES, request=schemas.CaseSearchIn.openapi(), response=CASE_LIST, errors=(400, 401, 422))
def case_search():
    """The same answer as the case list, for the cases whose person matches ``q`` (blind index).

    The term is never in a URL, a log line or the audit event (which has the result count only).
    """
    user = _me()
    body = schemas.CaseSearchIn.from_json(json_body())
    if not can_see_identity(user):
        raise ValidationError(_("Searching by name or phone is not available to your role."),
                              {"q": [_("Searching by name or phone is not available to your role.")]})
    found = services.search_cases(user, body.q, body)
    return jsonify(items=[presenters.full_summary(c, f) for c, f in _with_flags(found)], next=None)


def _with_flags(cases):
    flags = services.flags_for(cases)
    return [(c, flags[c.id]) for c in cases]


@api_route("/cases/<case_id>", "GET", summary="One case; identity only for hosts and commune officers",
           roles=CASE_ROLES, response=CASE_OUT, errors=(401, 404))
def case_get(case_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    if not can_see_identity(user, case):
        out = presenters.anonymous_detail(case)
        services.record_view(user, case, presenters.anonymous_fields(out))
        return jsonify(out)
    out = presenters.full_detail(case)
    services.record_view(user, case, presenters.detail_fields(out))  # the fields of this answer (issue 18)
    return jsonify(out)


@api_route("/cases/<case_id>", "PATCH", summary="Change intake details; send the version you read (409 if stale)",
           roles=WORKER_ROLES, request=schemas.CaseEditIn.openapi(), response=CASE_OUT, errors=ERRORS)
def case_update(case_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    value, errors = schemas.CaseEditIn.read_all(_overlay(_case_json(case), json_body()))
    if value.version is None and "version" not in errors:
        errors["version"] = [_("Send the version of the case you read.")]
    data = services.IntakeData.of(value, address_id=case.address_id)
    _answer(errors, services.update_errors(case, data))
    services.update_case(user, case, value.version, data)
    return jsonify(presenters.full_detail(case))


@api_route("/cases/<case_id>/timeline", "GET", summary="The case's timeline, newest first", roles=WORKER_ROLES,
           response=TIMELINE_OUT, errors=(401, 404))
def case_timeline(case_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    services.record_view(user, case, ["timeline"])
    return jsonify(items=[{"kind": e.kind, "at": e.at.isoformat(), "note": e.note,
                           "object_type": e.object_type, "object_id": e.object_id} for e in services.timeline(case)])


# --- consent ------------------------------------------------------------------------------------------


@api_route("/cases/<case_id>/consents", "GET", summary="Her consents, current and past", roles=WORKER_ROLES,
           response={"type": "object", "required": ["items"], "properties": {
               "items": {"type": "array", "items": CONSENT_OUT}}}, errors=(401, 404))
def consent_list(case_id: str):
    case = services.get_case_or_404(_me(), case_id)
    return jsonify(items=[presenters.consent_json(c) for c in consent_service.summary(case).history])


@api_route("/cases/<case_id>/consents", "POST", summary="Record a consent (record, statistics, or share with a "
           "service and chosen fields)", roles=WORKER_ROLES, request=schemas.ConsentIn.openapi(), response=CONSENT_OUT,
           status=201, errors=ERRORS)
def consent_give(case_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    data = schemas.ConsentIn.from_json(json_body())
    row = consent_service.give_consent(user, case, data.as_input())
    return jsonify(presenters.consent_json(row)), 201


@api_route("/cases/<case_id>/consents/<consent_id>/withdraw", "POST", summary="She withdraws a consent",
           roles=WORKER_ROLES, response=CONSENT_OUT, errors=ERRORS)
def consent_withdraw(case_id: str, consent_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    row = consent_service.withdraw_consent(user, case, consent_id[:ID_LENGTH])
    return jsonify(presenters.consent_json(row))


# --- shelter, contact bans, follow-ups --------------------------------------------------------------------


@api_route("/cases/<case_id>/shelter-stays", "POST", summary="Record a shelter stay with the essentials given",
           roles=WORKER_ROLES, request=schemas.ShelterStayIn.openapi(), response=SHELTER_OUT, status=201,
           errors=ERRORS)
def shelter_create(case_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    data = schemas.ShelterStayIn.from_json(json_body())
    stay = services.add_shelter_stay(user, case, data)
    return jsonify(presenters.shelter_json(stay)), 201


@api_route("/cases/<case_id>/shelter-stays/<stay_id>", "PATCH", summary="Change a shelter stay or record its end",
           roles=WORKER_ROLES, request=schemas.ShelterStayIn.openapi(), response=SHELTER_OUT, errors=ERRORS)
def shelter_update(case_id: str, stay_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    stay = next((s for s in case.shelter_stays if s.id == stay_id), None)
    if stay is None:
        raise NotFound(_("Not found."))
    # The fields sent change the stay; the others keep their values.
    data = schemas.ShelterStayIn.from_json({**presenters.shelter_json(stay), **json_body()})
    stay = services.update_shelter_stay(user, case, stay.id, data)
    return jsonify(presenters.shelter_json(stay))


@api_route("/cases/<case_id>/contact-bans", "POST", summary="Record a contact ban: a request to the commune chair "
           "(decided within 12 hours, at most 3 days; Art. 25), the chair's own initiative when her life is "
           "threatened (Art. 25(1)(b)), or a court's ban (at most 4 months; Art. 26)", roles=WORKER_ROLES,
           request=schemas.ContactBanIn.openapi(), response=BAN_OUT, status=201, errors=ERRORS)
def contact_ban_create(case_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    data = schemas.ContactBanIn.from_json(json_body())
    if data.kind == "court":
        ban = services.record_court_ban(user, case, data)
    else:
        ban = services.request_contact_ban(user, case, data)
    return jsonify(presenters.contact_ban_json(ban)), 201


@api_route("/cases/<case_id>/contact-bans/<ban_id>/revoke", "POST", summary="Record that a granted contact ban "
           "was revoked before its end, with the reason and the date (Art. 25(4))", roles=WORKER_ROLES,
           request=schemas.ContactBanRevocationIn.openapi(), response=BAN_OUT, errors=ERRORS)
def contact_ban_revoke(case_id: str, ban_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    data = schemas.ContactBanRevocationIn.from_json(json_body())
    ban = services.revoke_contact_ban(user, case, ban_id[:ID_LENGTH], data)
    return jsonify(presenters.contact_ban_json(ban))


@api_route("/cases/<case_id>/contact-bans/<ban_id>/decision", "POST", summary="Record the commune chair's decision "
           "(at most 3 days)", roles=WORKER_ROLES, request=schemas.ContactBanDecisionIn.openapi(), response=BAN_OUT,
           errors=ERRORS)
def contact_ban_decide(case_id: str, ban_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    data = schemas.ContactBanDecisionIn.from_json(json_body())
    ban = services.decide_contact_ban(user, case, ban_id[:ID_LENGTH], data)
    return jsonify(presenters.contact_ban_json(ban))


@api_route("/cases/<case_id>/follow-ups", "GET", summary="Follow-up visits and calls", roles=WORKER_ROLES,
           response={"type": "object", "required": ["items"], "properties": {
               "items": {"type": "array", "items": FOLLOW_UP_OUT}}}, errors=(401, 404))
def follow_up_list(case_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    services.record_view(user, case, ["follow_ups"])
    return jsonify(items=[presenters.follow_up_json(f) for f in case.follow_ups])


@api_route("/cases/<case_id>/follow-ups", "POST", summary="Record a follow-up visit or call", roles=WORKER_ROLES,
           request=schemas.FollowUpIn.openapi(), response=FOLLOW_UP_OUT, status=201, errors=ERRORS)
def follow_up_create(case_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    data = schemas.FollowUpIn.from_json(json_body())
    row = services.add_follow_up(user, case, data)
    return jsonify(presenters.follow_up_json(row)), 201


# --- closure ----------------------------------------------------------------------------------------------


def _state(case) -> dict[str, Any]:
    return {"id": case.id, "status": case.status, "version": case.version}


@api_route("/cases/<case_id>/closure", "POST", summary="Request closure (409 if already requested or closed)",
           roles=WORKER_ROLES, request=schemas.ClosureRequestIn.openapi(), response=STATE_OUT, errors=ERRORS)
def closure_request(case_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    data = schemas.ClosureRequestIn.from_json(json_body())
    services.request_closure(user, case, data.reason, data.note)
    return jsonify(_state(case))


@api_route("/cases/<case_id>/closure/decision", "POST", summary="The commune officer approves or returns a closure",
           roles=[Role.COMMUNE_OFFICER], request=schemas.ClosureDecisionIn.openapi(), response=STATE_OUT,
           errors=ERRORS)
def closure_decide(case_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    data = schemas.ClosureDecisionIn.from_json(json_body())
    try:
        services.decide_closure(user, case, data.decision, data.note, confirm_open_items=data.confirm_open_items,
                                confirm_reason=data.confirm_reason)
    except OpenItemsError as e:
        # The error body of DESIGN §4, with the open items listed by their stable codes (issue 13).
        return jsonify({"error": {"code": e.code, "message": e.message, "fields": e.fields,
                                  "open_items": [i.as_json() for i in e.items]}}), 409
    return jsonify(_state(case))


@api_route("/cases/<case_id>/reopen", "POST", summary="Reopen a closed case with a reason", roles=WORKER_ROLES,
           request=schemas.ReopenIn.openapi(), response=STATE_OUT, errors=ERRORS)
def case_reopen(case_id: str):
    user, case = acting_user_and(services.get_case_or_404, case_id)
    data = schemas.ReopenIn.from_json(json_body())
    services.reopen_case(user, case, data.reason)
    return jsonify(_state(case))
