from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Column, Date, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.extensions import Model, db
from casework.models import ID_LENGTH, IdMixin, TimestampMixin, code_list, parent_id, ref_id, utc_datetime, utcnow
from casework.protect.fields import Protected, ProtectedMixin

# Kinds of receiving organisation (vietnam-domain §1.3–1.4).
ORGANISATION_KINDS = (
    "commune_police", "health_station", "commune_committee", "legal_aid", "social_assistance",
    "peace_house", "safe_house", "hotline_111", "other",
)

def _values_of_rows(rows: str, column: str, make: Callable[[str], Any]) -> Any:
    """A list of strings kept as the child rows ``rows``, one per distinct value: read sorted, written whole."""
    def read(self: Any) -> list[str]:
        return sorted(getattr(row, column) for row in getattr(self, rows))

    def write(self: Any, values: list[str]) -> None:
        setattr(self, rows, [make(v) for v in sorted(set(values))])

    return property(read, write)


organisation_service = Table(
    "organisation_service",
    db.metadata,
    Column("organisation_id", String(ID_LENGTH), ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
    Column("service", String(32), primary_key=True, index=True),
)

organisation_commune = Table(
    "organisation_commune",
    db.metadata,
    Column("organisation_id", String(ID_LENGTH), ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
    Column("commune_code", String(5), primary_key=True, index=True),
)


class Organisation(IdMixin, TimestampMixin, Model):
    """A police post, health station, legal-aid centre… that receives referrals."""

    __tablename__ = "organisation"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    province_code: Mapped[str] = mapped_column(String(2), nullable=False, index=True)
    # The organisation's own switchboard or e-mail, never a person's.
    contact: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    _services = relationship("OrganisationService", cascade="all, delete-orphan", lazy="selectin")
    _communes = relationship("OrganisationCommune", cascade="all, delete-orphan", lazy="selectin")

    services = _values_of_rows("_services", "service", lambda v: OrganisationService(service=v))
    commune_codes = _values_of_rows("_communes", "commune_code", lambda v: OrganisationCommune(commune_code=v))

    def __repr__(self) -> str:
        return f"<Organisation {self.id}>"


class OrganisationService(Model):
    __table__ = organisation_service
    if TYPE_CHECKING:  # mapped from the table above
        organisation_id: Mapped[str]
        service: Mapped[str]


class OrganisationCommune(Model):
    __table__ = organisation_commune
    if TYPE_CHECKING:  # mapped from the table above
        organisation_id: Mapped[str]
        commune_code: Mapped[str]


# --- referrals ------------------------------------------------------------------------------------

# DESIGN §2 Referral: sent → accepted | declined → completed; cancelled by the sender before acceptance.
REFERRAL_STATES = ("sent", "accepted", "declined", "completed", "cancelled")
URGENCIES = ("normal", "urgent")
# What came of an accepted referral, for the statistics of referrals by outcome (referral/tables.py).
RESULTS = ("provided", "partly_provided", "not_provided")
# Sort key of every list: waiting for an answer first, then accepted (service still due), then finished.
OPEN_RANK = {"sent": 2, "accepted": 1, "declined": 0, "completed": 0, "cancelled": 0}
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: read aloud over a phone


def new_referral_reference() -> str:
    """A short random referral code (``CG-7KQ2M9XA``) for the receiver, who never learns the case code."""
    return "CG-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


class Referral(ProtectedMixin, IdMixin, TimestampMixin, Model):
    """A case sent to an organisation for one kind of service.

    ``shared_fields`` are the names of the parts of the case the receiver may read, frozen when the
    referral is sent: exactly those she consented to share with that kind of service, or, with an
    override for a threat to life, those the sender chose (``override`` is then set). Free text is
    encrypted; categories, states and times stay in clear for lists, deadlines and statistics.
    """

    __tablename__ = "referral"

    reference: Mapped[str] = mapped_column(String(16), nullable=False, unique=True, default=new_referral_reference)
    case_id: Mapped[str] = parent_id("case")
    organisation_id: Mapped[str] = ref_id("organisation", nullable=False)
    service: Mapped[str] = mapped_column(String(32), nullable=False)
    urgency: Mapped[str] = mapped_column(String(8), nullable=False, default="normal")
    # Copied from the case: the protected fields' mixin, scoped lists and statistics need them in clear.
    province_code: Mapped[str] = mapped_column(String(2), nullable=False)
    commune_code: Mapped[str] = mapped_column(String(5), nullable=False)

    state: Mapped[str] = mapped_column(String(16), nullable=False, default="sent")
    open_rank: Mapped[int] = mapped_column(Integer, nullable=False, default=2)
    shared_fields: Mapped[list[str]] = code_list(400)

    sent_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    sent_by_id: Mapped[str] = ref_id(nullable=False)
    ack_due_at: Mapped[datetime] = utc_datetime(nullable=False)
    overdue_notified_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    accepted_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    accepted_by_id: Mapped[str | None] = ref_id(nullable=True)
    declined_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    declined_by_id: Mapped[str | None] = ref_id(nullable=True)
    completed_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    completed_by_id: Mapped[str | None] = ref_id(nullable=True)
    cancelled_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    cancelled_by_id: Mapped[str | None] = ref_id(nullable=True)
    result: Mapped[str | None] = mapped_column(String(16), nullable=True)
    service_date: Mapped[date | None] = mapped_column(Date, nullable=True)

    # DESIGN §2 Consent: an override for a threat to life is its own permission, with a reason, marked here.
    override: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    override_by_id: Mapped[str | None] = ref_id(nullable=True)

    reason = Protected(max_length=2000)
    override_reason = Protected(max_length=2000)
    decline_reason = Protected(max_length=2000)
    service_given = Protected(max_length=2000)
    outcome = Protected(max_length=4000)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (
        # Keyset pagination of each list walks one of these (open_rank, sent_at, id all descending).
        Index("ix_referral_organisation_order", "organisation_id", "open_rank", "sent_at", "id"),
        Index("ix_referral_commune_order", "commune_code", "open_rank", "sent_at", "id"),
        # The overdue sweep: referrals still waiting for an answer, by deadline.
        Index("ix_referral_state_due", "state", "ack_due_at"),
        # The work queue (issue 13): per case of her scope, the referrals still waiting for an answer.
        Index("ix_referral_case_state", "case_id", "state", "ack_due_at"),
    )

    @property
    def is_finished(self) -> bool:
        return self.state in ("declined", "completed", "cancelled")

    def is_overdue(self, now: datetime | None = None) -> bool:
        """Not acknowledged (accepted or declined) within the deadline of its service type."""
        return self.state == "sent" and self.ack_due_at < (now or utcnow())

    def __repr__(self) -> str:  # no free text in reprs, logs or tracebacks
        return f"<Referral {self.id} {self.state}>"


class ReferralDeadline(TimestampMixin, Model):
    """A province's acknowledgement deadline for one kind of service (issue 5: 24 h, 2 h when urgent)."""

    __tablename__ = "referral_deadline"

    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    ack_hours: Mapped[int] = mapped_column(Integer, nullable=False)
    urgent_ack_hours: Mapped[int] = mapped_column(Integer, nullable=False)


# Notifications moved to the core (casework.notify) when every domain began to hand work over (issue 13);
# the name stays importable here for the referral code and tests that use it.
from casework.notify import Notification  # noqa: E402,F401
