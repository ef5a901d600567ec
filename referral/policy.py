"""Who sees which referral: the senders through the cases they may see, the receiving organisation's staff
through their organisation; a referral outside the actor's scope answers 404 (STYLE rule 4)."""

from __future__ import annotations

import re

from sqlalchemy import Select, select

from casework.auth.models import User
from casework.auth.policy import deny
from casework.auth.roles import Role
from casework.extensions import db
from referral.models import Referral
from referral.schemas import OPAQUE_ID

_OPAQUE = re.compile(f"^{OPAQUE_ID}$")
SENDER_ROLES = (Role.HOST, Role.COMMUNE_OFFICER)


def _role(user: User) -> str:
    return str(getattr(user, "role", ""))


def referrals_visible_to(user: User) -> Select:
    """Senders see the referrals of the cases they may see; a service provider those addressed to her
    organisation; nobody else sees any."""
    from casework.cases.models import Case
    from casework.cases.policy import case_scope

    q = select(Referral)
    role = _role(user)
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
    return (_role(user) == Role.SERVICE_PROVIDER and bool(getattr(user, "organisation_id", None))
            and user.organisation_id == referral.organisation_id)


def is_sender_side(user: User) -> bool:
    return _role(user) in SENDER_ROLES


def case_of(referral: Referral):
    """The referral's case, loaded without the case policy: the caller has already checked the referral."""
    from casework.cases.models import Case

    return db.session.get(Case, referral.case_id)
