"""The organisation directory: those serving a commune, the Vietnamese order, and saving one (who sees and manages
which organisation is ``referral.policy``)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, select

from casework.auth.models import User
from casework.auth.policy import deny
from casework.auth.roles import Role
from casework.errors import ValidationError
from casework.extensions import db
from casework.geo import data as geo
from casework.protect import audit
from casework.schemas import Errors, FieldErrors
from referral.models import Organisation, OrganisationCommune, OrganisationService
from referral.policy import can_manage_organisations
from referral.schemas import OrganisationIn, OrganisationPlace, Refused, not_communes
from referral.services.common import _refuse


def organisations_serving(commune_code: str, service: str | None = None) -> Select:
    """Active organisations that serve a commune, optionally offering one service type."""
    q = select(Organisation).where(Organisation.active.is_(True), Organisation.id.in_(
        select(OrganisationCommune.organisation_id).where(OrganisationCommune.commune_code == commune_code)))
    if service:
        q = q.where(Organisation.id.in_(select(OrganisationService.organisation_id)
                                        .where(OrganisationService.service == service)))
    return q


def in_vietnamese_order(organisations) -> list:
    """Organisations by name in Vietnamese collation (casework.text.vi_sort_key), never the database's order."""
    from casework.text import vi_sort_key

    return sorted(organisations, key=lambda o: (vi_sort_key(o.name), o.id))


def _check_place(actor: User, place: OrganisationIn | OrganisationPlace) -> tuple[str, FieldErrors]:
    """The organisation's province and that its communes are of it: a province officer's own, an admin's the one
    given. Returns the province code and the messages per field."""
    errors = Errors()
    province = geo.province(place.province_code)
    if Role(actor.role) == Role.PROVINCE_OFFICER:
        if place.province_code not in (None, actor.province_code):
            errors.add("province_code", _("You can only add organisations of your own province."))
        province = geo.province(actor.province_code)
    if province is None:
        if "province_code" not in errors.fields:
            errors.add("province_code", _("Enter an existing province code (2 digits)."))
        return "", errors.fields
    elsewhere = [c for c in place.commune_codes if (commune := geo.commune(c)) is None
                 or commune.province_code != province.code]
    if elsewhere:
        errors.add("commune_codes", not_communes(elsewhere))
    return province.code, errors.fields


def save_organisation(actor: User, data: OrganisationIn | Refused[OrganisationPlace],
                      organisation: Organisation | None = None) -> Organisation:
    """Create or update an organisation. Admins anywhere, province officers in their province (422 for another
    province, or communes outside the province, beside the messages of a refused body)."""
    if not can_manage_organisations(actor):
        deny("organisation", organisation.id if organisation else None)
    if isinstance(data, Refused):
        raise _refuse(data.fields, _check_place(actor, data.part)[1])
    province_code, errors = _check_place(actor, data)
    if errors:
        raise ValidationError(_("Please correct the marked fields."), errors)
    creating = organisation is None
    org = organisation or Organisation()
    org.name = data.name
    org.kind = data.kind
    org.province_code = province_code
    org.services = list(data.services)
    org.commune_codes = list(data.commune_codes)
    org.contact = data.contact or ""
    org.active = data.active
    if creating:
        db.session.add(org)
    db.session.flush()
    audit.record("organisation_create" if creating else "organisation_update", object_type="organisation",
                 object_id=org.id, fields=["name", "kind", "services", "communes", "contact", "active"])
    return org
