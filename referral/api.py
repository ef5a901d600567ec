"""Referral domain API: organisations (referrals follow)."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from casework.api import api_route
from casework.api.json import json_body
from casework.auth.roles import Role
from casework.errors import ValidationError
from casework.extensions import db
from casework.service_types import SERVICE_TYPES
from referral import services
from referral.models import ORGANISATION_KINDS, Organisation

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
ORGANISATION_INPUT = {
    "type": "object",
    "required": ["name", "kind", "services", "commune_codes"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "kind": {"type": "string", "enum": list(ORGANISATION_KINDS)},
        "services": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": list(SERVICE_TYPES)}},
        "province_code": {"type": "string", "pattern": "^[0-9]{2}$"},
        "commune_codes": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[0-9]{5}$"}},
        "contact": {"type": "string", "maxLength": 200},
        "active": {"type": "boolean"},
    },
}
DIRECTORY_ROLES = (Role.ADMIN, Role.PROVINCE_OFFICER, Role.COMMUNE_OFFICER, Role.HOST, Role.SERVICE_PROVIDER)


def organisation_json(org: Organisation) -> dict:
    return {"id": org.id, "name": org.name, "kind": org.kind, "services": org.services,
            "province_code": org.province_code, "commune_codes": org.commune_codes, "contact": org.contact,
            "active": org.active}


def _input(data: dict) -> services.OrganisationInput:
    errors: dict[str, list[str]] = {}
    for name in ("services", "commune_codes"):
        value = data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            errors[name] = ["—"]
    for name in ("name", "kind", "province_code", "contact"):
        if name in data and not isinstance(data[name], str):
            errors[name] = ["—"]
    if "active" in data and not isinstance(data["active"], bool):
        errors["active"] = ["—"]
    if errors:
        from flask_babel import gettext as _

        raise ValidationError(_("Please correct the marked fields."),
                              {k: [_("This value has the wrong type.")] for k in errors})
    return services.OrganisationInput(
        name=data.get("name", ""), kind=data.get("kind", ""), province_code=data.get("province_code"),
        services=tuple(data.get("services", [])), commune_codes=tuple(data.get("commune_codes", [])),
        contact=data.get("contact", ""), active=data.get("active", True))


@api_route("/organisations", "GET", summary="Organisations visible to the caller", roles=DIRECTORY_ROLES,
           response={"type": "object", "required": ["items", "next"], "properties": {
               "items": {"type": "array", "items": ORGANISATION_SCHEMA}, "next": {"type": ["string", "null"]}}},
           query={"after": {"type": "string", "maxLength": 22}})
def organisations_list():
    from flask import request

    q = services.organisations_visible_to(current_user).order_by(Organisation.id).limit(101)
    after = request.args.get("after", "")[:22]
    if after:
        q = q.where(Organisation.id > after)
    rows = list(db.session.scalars(q))
    return jsonify(items=[organisation_json(o) for o in rows[:100]], next=rows[99].id if len(rows) > 100 else None)


@api_route("/organisations", "POST", summary="Register an organisation", roles=(Role.ADMIN, Role.PROVINCE_OFFICER),
           request=ORGANISATION_INPUT, response=ORGANISATION_SCHEMA, status=201)
def organisations_create():
    org = services.save_organisation(current_user, _input(json_body()))
    return jsonify(organisation_json(org)), 201


@api_route("/organisations/<organisation_id>", "GET", summary="One organisation", roles=DIRECTORY_ROLES,
           response=ORGANISATION_SCHEMA)
def organisations_get(organisation_id: str):
    return jsonify(organisation_json(services.get_organisation_or_404(current_user, organisation_id)))


@api_route("/organisations/<organisation_id>", "PATCH", summary="Change an organisation",
           roles=(Role.ADMIN, Role.PROVINCE_OFFICER), request={**ORGANISATION_INPUT, "required": []},
           response=ORGANISATION_SCHEMA)
def organisations_update(organisation_id: str):
    org = services.get_organisation_or_404(current_user, organisation_id, manage=True)
    data = {**organisation_json(org), **json_body()}
    org = services.save_organisation(current_user, _input(data), org)
    return jsonify(organisation_json(org))
