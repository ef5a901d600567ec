"""Organisation directory and referrals. Services flush and never commit (STYLE rule 3)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import Select, select

from casework.auth.models import User
from casework.auth.policy import deny
from casework.auth.roles import Role
from casework.errors import ValidationError
from casework.extensions import db
from casework.geo import data as geo
from casework.protect import audit
from casework.service_types import SERVICE_TYPES
from casework.text import nfc
from referral.models import ORGANISATION_KINDS, Organisation, OrganisationCommune, OrganisationService


@dataclass(frozen=True)
class OrganisationInput:
    name: str
    kind: str
    province_code: str | None
    services: tuple[str, ...] = ()
    commune_codes: tuple[str, ...] = ()
    contact: str = ""
    active: bool = True
    extra: dict = field(default_factory=dict)


def organisations_visible_to(user: User) -> Select:
    """Admins see every organisation; province officers their province's; hosts and commune officers
    those serving their commune (to refer to); a service provider her own."""
    q = select(Organisation)
    role = Role(user.role)
    if role == Role.ADMIN:
        return q
    if role == Role.PROVINCE_OFFICER:
        return q.where(Organisation.province_code == user.province_code)
    if role in (Role.HOST, Role.COMMUNE_OFFICER) and user.commune_code:
        served = select(OrganisationCommune.organisation_id).where(
            OrganisationCommune.commune_code == user.commune_code)
        return q.where(Organisation.id.in_(served))
    if role == Role.SERVICE_PROVIDER and user.organisation_id:
        return q.where(Organisation.id == user.organisation_id)
    return q.where(db.false())


def can_manage_organisations(user: User) -> bool:
    return Role(user.role) in (Role.ADMIN, Role.PROVINCE_OFFICER)


def get_organisation_or_404(user: User, organisation_id: str, manage: bool = False) -> Organisation:
    org = db.session.scalar(organisations_visible_to(user).where(Organisation.id == organisation_id))
    if org is None or (manage and not can_manage_organisations(user)):
        deny("organisation", organisation_id)
    return org


def organisations_serving(commune_code: str, service: str | None = None) -> Select:
    """Active organisations that serve a commune, optionally offering one service type."""
    q = select(Organisation).where(Organisation.active.is_(True), Organisation.id.in_(
        select(OrganisationCommune.organisation_id).where(OrganisationCommune.commune_code == commune_code)))
    if service:
        q = q.where(Organisation.id.in_(select(OrganisationService.organisation_id)
                                        .where(OrganisationService.service == service)))
    return q.order_by(Organisation.name)


def _validate(actor: User, data: OrganisationInput) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not nfc(data.name):
        errors["name"] = [_("Enter the organisation's name.")]
    elif len(nfc(data.name)) > 200:
        errors["name"] = [_("At most 200 characters.")]
    if data.kind not in ORGANISATION_KINDS:
        errors["kind"] = [_("Choose a kind from the list.")]
    unknown = [s for s in data.services if s not in SERVICE_TYPES]
    if not data.services or unknown:
        errors["services"] = [_("Choose at least one service from the list.")]
    province = geo.province(data.province_code)
    if Role(actor.role) == Role.PROVINCE_OFFICER:
        if data.province_code not in (None, "", actor.province_code):
            errors["province_code"] = [_("You can only add organisations of your own province.")]
        province = geo.province(actor.province_code)
    if province is None:
        errors["province_code"] = errors.get("province_code") or [_("Enter an existing province code (2 digits).")]
    bad_communes = [c for c in data.commune_codes
                    if geo.commune(c) is None or (province and geo.commune(c).province_code != province.code)]
    if not data.commune_codes:
        errors["commune_codes"] = [_("List at least one commune the organisation serves.")]
    elif bad_communes:
        errors["commune_codes"] = [_("These codes are not communes of the province: %(codes)s",
                                     codes=", ".join(bad_communes[:10]))]
    if len(data.contact) > 200:
        errors["contact"] = [_("At most 200 characters.")]
    if errors:
        raise ValidationError(_("Please correct the marked fields."), errors)
    return errors


def save_organisation(actor: User, data: OrganisationInput, organisation: Organisation | None = None) -> Organisation:
    """Create or update an organisation. Admins anywhere, province officers in their province."""
    if not can_manage_organisations(actor):
        deny("organisation", organisation.id if organisation else None)
    _validate(actor, data)
    creating = organisation is None
    org = organisation or Organisation()
    org.name = nfc(data.name)
    org.kind = data.kind
    org.province_code = actor.province_code if Role(actor.role) == Role.PROVINCE_OFFICER else data.province_code
    org.services = list(data.services)
    org.commune_codes = list(data.commune_codes)
    org.contact = nfc(data.contact)
    org.active = data.active
    if creating:
        db.session.add(org)
    db.session.flush()
    audit.record("organisation_create" if creating else "organisation_update", object_type="organisation",
                 object_id=org.id, fields=["name", "kind", "services", "communes", "contact", "active"])
    return org


def parse_codes(text: str) -> tuple[str, ...]:
    return tuple(sorted({c.strip() for c in text.replace(";", ",").replace(" ", ",").split(",") if c.strip()}))
