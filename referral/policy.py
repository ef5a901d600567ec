"""Who sees which referral: the senders through the cases they may see, the receiving organisation's staff
through their organisation; who sees and manages which organisation of the directory. A referral or an
organisation outside the actor's scope answers 404 (STYLE rule 4)."""

from __future__ import annotations

import re

from sqlalchemy import Select, select

from casework.auth.models import User
from casework.auth.policy import deny
from casework.auth.roles import Role
from casework.extensions import db
from referral.models import Organisation, OrganisationCommune, Referral
from referral.schemas import OPAQUE_ID

_OPAQUE = re.compile(f"^{OPAQUE_ID}$")
SENDER_ROLES = (Role.HOST, Role.COMMUNE_OFFICER)


def role_of(user: User) -> str:
    """The role of whoever acts, as text ("" for an account without one)."""
    return str(getattr(user, "role", ""))


def referrals_visible_to(user: User) -> Select:
    """Senders see the referrals of the cases they may see; a service provider those addressed to her
    organisation; nobody else sees any."""
    from casework.cases.models import Case
    from casework.cases.policy import case_scope

    q = select(Referral)
    role = role_of(user)
    if role in SENDER_ROLES:
        return q.where(Referral.case_id.in_(select(Case.id).where(case_scope(user))))
    if role == Role.SERVICE_PROVIDER and getattr(user, "organisation_id", None):
        return q.where(Referral.organisation_id == user.organisation_id)
    return q.where(db.false())


def get_referral_or_404(user: User, referral_id: str) -> Referral:
    """The referral if the user may see it; otherwise 404 and an ``access_denied`` audit event."""
    referral = None
    if referral_id and _OPAQUE.match(referral_id):
        referral = db.session.scalar(referrals_visible_to(user).where(Referral.id == referral_id))
    if referral is None:
        deny("referral", referral_id)
    return referral


def is_receiver(user: User, referral: Referral) -> bool:
    return (role_of(user) == Role.SERVICE_PROVIDER and bool(getattr(user, "organisation_id", None))
            and user.organisation_id == referral.organisation_id)


def is_sender_side(user: User) -> bool:
    return role_of(user) in SENDER_ROLES


def case_of(referral: Referral):
    """The referral's case, loaded without the case policy: the caller has already checked the referral."""
    from casework.cases.models import Case

    return db.session.get(Case, referral.case_id)


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
