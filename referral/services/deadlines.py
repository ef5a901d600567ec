"""Acknowledgement deadlines per province and kind of service (24 h, urgent 2 h, unless the province sets others)."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from sqlalchemy import select

from casework.auth.models import User
from casework.auth.roles import Role
from casework.errors import NotFound
from casework.extensions import db
from casework.geo import data as geo
from casework.protect import audit
from casework.schemas import Errors
from casework.service_types import SERVICE_TYPES
from referral.models import ReferralDeadline
from referral.policy import role_of
from referral.schemas import Deadline

# The defaults of issue 5: an organisation accepts or declines a referral within 24 hours, 2 when urgent.
DEFAULT_ACK_HOURS = 24
URGENT_ACK_HOURS = 2


def deadlines_for(province_code: str | None) -> dict[str, tuple[int, int]]:
    """``{service: (hours, urgent hours)}`` for a province: its own settings, else 24 h and 2 h."""
    out = {s: (DEFAULT_ACK_HOURS, URGENT_ACK_HOURS) for s in SERVICE_TYPES}
    if province_code:
        for row in db.session.scalars(select(ReferralDeadline).where(ReferralDeadline.province_code == province_code)):
            if row.service in out:
                out[row.service] = (row.ack_hours, row.urgent_ack_hours)
    return out


def ack_hours(province_code: str, service: str, urgency: str) -> int:
    hours, urgent = deadlines_for(province_code).get(service, (DEFAULT_ACK_HOURS, URGENT_ACK_HOURS))
    return urgent if urgency == "urgent" else hours


def can_set_deadlines(user: User, province_code: str | None = None) -> bool:
    role = role_of(user)
    return role == Role.ADMIN or (role == Role.PROVINCE_OFFICER and (province_code in (None, user.province_code)))


def set_deadlines(actor: User, province_code: str | None, values: Mapping[str, Deadline]) -> None:
    """Set a province's acknowledgement deadlines per kind of service (``schemas.read_deadlines``).

    Admins for any province, a province officer for her own (404 otherwise); 422 for a province or a kind
    of service that does not exist.
    """
    if not can_set_deadlines(actor, province_code):
        raise NotFound(_("Not found."))
    errors = Errors()
    if geo.province(province_code) is None:
        errors.add("province_code", _("Choose an existing province."))
    if any(service not in SERVICE_TYPES for service in values):
        errors.add("service", _("Choose a kind of service from the list."))
    errors.raise_if_any()
    for service, deadline in values.items():
        row = db.session.get(ReferralDeadline, (province_code, service))
        if row is None:
            row = ReferralDeadline(province_code=province_code, service=service)
            db.session.add(row)
        row.ack_hours, row.urgent_ack_hours = deadline.hours, deadline.urgent
    db.session.flush()
    audit.record("referral_deadline_update", object_type="province", object_id=province_code, actor=actor,
                 fields=sorted(values))
