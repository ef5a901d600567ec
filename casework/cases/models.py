"""Trusted addresses and their cases (DESIGN §2).

Personal data sits in protected fields (``casework.protect.fields``): the person's identity on
``Person``, free text on the case, its follow-ups and its timeline. Categorical fields needed for
scoping, lists and statistics stay in clear columns; exact birth dates never do.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, event
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column, relationship

from casework.auth.models import address_host
from casework.cases import codes
from casework.extensions import db
from casework.models import IdMixin, TimestampMixin, UTCDateTime, utcnow
from casework.protect.fields import Protected, ProtectedMixin

ADDRESS_KINDS = tuple(codes.ADDRESS_KINDS)
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: read aloud over a phone


def new_reference() -> str:
    """A short random case reference (e.g. ``VV-7KQ2M9XA``): says nothing about order or count."""
    return "VV-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


class Address(IdMixin, TimestampMixin, db.Model):
    """A community trusted address (ĐCTC): a household or organisation that receives victims."""

    __tablename__ = "address"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    province_code: Mapped[str] = mapped_column(String(2), nullable=False, index=True)
    commune_code: Mapped[str] = mapped_column(String(5), nullable=False, index=True)
    geo_scheme: Mapped[str] = mapped_column(String(8), nullable=False, default="2025")
    # Law 13/2022 Art. 36(2): declared to the commune People's Committee, which lists and publishes it.
    declared_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    published_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    hosts = relationship("User", secondary=address_host, back_populates="addresses", lazy="selectin")
    trainings: Mapped[list[AddressTraining]] = relationship(
        back_populates="address", order_by="AddressTraining.held_on.desc()", cascade="all, delete-orphan")
    support_packages: Mapped[list[AddressSupport]] = relationship(
        back_populates="address", order_by="AddressSupport.received_on.desc()", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Address {self.id}>"


class AddressTraining(IdMixin, TimestampMixin, db.Model):
    """A training the commune gave the address's hosts (Art. 36(2): the commune trains trusted addresses)."""

    __tablename__ = "address_training"

    address_id: Mapped[str] = mapped_column(String(22), ForeignKey("address.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    topic: Mapped[str] = mapped_column(String(200), nullable=False)
    organiser: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    address: Mapped[Address] = relationship(back_populates="trainings")


class AddressSupport(IdMixin, TimestampMixin, db.Model):
    """A support package the address received (money, equipment, supplies)."""

    __tablename__ = "address_support"

    address_id: Mapped[str] = mapped_column(String(22), ForeignKey("address.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    amount_vnd: Mapped[int | None] = mapped_column(Integer, nullable=True)

    address: Mapped[Address] = relationship(back_populates="support_packages")


class ProvinceSetting(TimestampMixin, db.Model):
    """Casework settings a province chooses for itself."""

    __tablename__ = "case_province_setting"

    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    # Shelter beyond this many nights is flagged, never refused (DESIGN §2; the legal limit is unknown).
    max_shelter_days: Mapped[int] = mapped_column(Integer, nullable=False, default=codes.DEFAULT_MAX_SHELTER_DAYS)


class Person(ProtectedMixin, IdMixin, TimestampMixin, db.Model):
    """The woman (or child) received. Identity is encrypted; only categories stay in clear.

    ``province_code`` is the province of the address that received her: it keys her blind indexes, so
    a name search runs within the searching officer's province.
    """

    __tablename__ = "case_person"

    province_code: Mapped[str] = mapped_column(String(2), nullable=False)
    sex: Mapped[str] = mapped_column(String(8), nullable=False)
    age_band: Mapped[str] = mapped_column(String(8), nullable=False)
    ethnicity_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    home_commune_code: Mapped[str | None] = mapped_column(String(5), nullable=True)
    geo_scheme: Mapped[str] = mapped_column(String(8), nullable=False, default="2025")

    full_name = Protected(index="name", max_length=200)
    other_names = Protected(max_length=200)
    birth_year = Protected(max_length=4)
    birth_date = Protected(max_length=10)  # ISO yyyy-mm-dd
    phone = Protected(index="phone", max_length=32)
    id_number = Protected(max_length=32)
    home_address = Protected(max_length=300)

    def __repr__(self) -> str:  # no personal data in reprs, logs or tracebacks
        return f"<Person {self.id}>"


class Case(ProtectedMixin, IdMixin, TimestampMixin, db.Model):
    """One reception of a person at a trusted address, and everything done for her after."""

    __tablename__ = "case"

    reference: Mapped[str] = mapped_column(String(16), nullable=False, unique=True, default=new_reference)
    address_id: Mapped[str] = mapped_column(String(22), ForeignKey("address.id"), nullable=False)
    person_id: Mapped[str] = mapped_column(String(22), ForeignKey("case_person.id"), nullable=False, index=True)
    # Copied from the address at intake, so every scoped list is one indexed range.
    province_code: Mapped[str] = mapped_column(String(2), nullable=False)
    commune_code: Mapped[str] = mapped_column(String(5), nullable=False)
    geo_scheme: Mapped[str] = mapped_column(String(8), nullable=False, default="2025")

    intake_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    arrival: Mapped[str] = mapped_column(String(32), nullable=False)
    children_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    children_ages: Mapped[str] = mapped_column(String(64), nullable=False, default="")  # "3,7"

    relationship_code: Mapped[str] = mapped_column("relationship", String(32), nullable=False)
    perpetrator_sex: Mapped[str] = mapped_column(String(8), nullable=False, default="unknown")
    perpetrator_age_band: Mapped[str] = mapped_column(String(8), nullable=False, default="unknown")
    # The four forms of the acts, kept in clear for filters and statistics (the acts are in case_act).
    form_physical: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    form_mental: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    form_sexual: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    form_economic: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    first_aid_given: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    risk_threat_to_kill: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    risk_weapon: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    risk_escalation: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    risk_children_at_risk: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    risk_perpetrator_nearby: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    risk_judged_high: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    risk_level: Mapped[str] = mapped_column(String(8), nullable=False, default="low")
    risk_assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    # Law 13/2022 Art. 36: a trusted address must notify the commune People's Committee of each intake.
    commune_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    # Sort key of every list: open before closed, then high risk first (see ``priority_of``).
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    closure_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    closure_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closure_requested_by_id: Mapped[str | None] = mapped_column(String(22), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_by_id: Mapped[str | None] = mapped_column(String(22), nullable=True)
    created_by_id: Mapped[str | None] = mapped_column(String(22), nullable=True)

    # Optimistic concurrency: every UPDATE of the row checks and bumps it (a stale writer gets 409).
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    injuries = Protected(max_length=2000)
    first_aid = Protected(max_length=2000)
    safety_plan = Protected(max_length=4000)
    narrative = Protected(max_length=8000)

    address: Mapped[Address] = relationship(lazy="joined", innerjoin=True)
    person: Mapped[Person] = relationship(lazy="joined", innerjoin=True)
    acts: Mapped[list[CaseAct]] = relationship(back_populates="case", cascade="all, delete-orphan",
                                               lazy="selectin", order_by="CaseAct.position")
    consents: Mapped[list[Consent]] = relationship(back_populates="case", cascade="all, delete-orphan",
                                                   order_by="Consent.given_at")
    shelter_stays: Mapped[list[ShelterStay]] = relationship(back_populates="case", cascade="all, delete-orphan",
                                                            order_by="ShelterStay.start_on")
    contact_bans: Mapped[list[ContactBan]] = relationship(back_populates="case", cascade="all, delete-orphan",
                                                          order_by="ContactBan.requested_at")
    follow_ups: Mapped[list[FollowUp]] = relationship(back_populates="case", cascade="all, delete-orphan",
                                                      order_by="FollowUp.on")
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", cascade="all, delete-orphan",
                                                   order_by="CaseEvent.at")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # Keyset pagination of each list walks one of these backwards (priority, intake_at, id all DESC).
        Index("ix_case_address_order", "address_id", "priority", "intake_at", "id"),
        Index("ix_case_commune_order", "commune_code", "priority", "intake_at", "id"),
        Index("ix_case_province_order", "province_code", "priority", "intake_at", "id"),
    )

    @property
    def act_codes(self) -> list[str]:
        return [a.code for a in self.acts]

    @property
    def forms(self) -> list[str]:
        return [f for f in codes.FORMS if getattr(self, f"form_{f}")]

    @property
    def risk_factors(self) -> set[str]:
        return {f for f in codes.RISK_FACTORS if getattr(self, f"risk_{f}")}

    @property
    def is_open(self) -> bool:
        return self.status in codes.OPEN_STATUSES

    def __repr__(self) -> str:
        return f"<Case {self.id}>"


def priority_of(status: str, risk: str) -> int:
    """Open cases first, by risk (high, medium, low); closed cases last whatever their risk."""
    if status in codes.OPEN_STATUSES:
        return 10 + codes.RISK_RANK.get(risk, 0)
    return 0


class CaseAct(db.Model):
    """One act (a–q of Law 13/2022 Art. 3(1)) recorded for a case."""

    __tablename__ = "case_act"

    case_id: Mapped[str] = mapped_column(String(22), ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    case: Mapped[Case] = relationship(back_populates="acts")


class Consent(IdMixin, db.Model):
    """Her consent to one purpose (keep the record, statistics, share with one kind of service).

    A withdrawal is stamped on the row; giving again adds a row, so the history stays. A consent whose
    ``basis`` is ``life_threat`` is an override recorded by a permitted user with a reason (DESIGN §2).
    """

    __tablename__ = "case_consent"

    case_id: Mapped[str] = mapped_column(String(22), ForeignKey("case.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    service: Mapped[str | None] = mapped_column(String(32), nullable=True)
    fields: Mapped[str] = mapped_column(String(400), nullable=False, default="")  # comma list, "share" only
    basis: Mapped[str] = mapped_column(String(16), nullable=False, default="consent")
    given_by: Mapped[str] = mapped_column(String(16), nullable=False, default="self")
    given_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    recorded_by_id: Mapped[str | None] = mapped_column(String(22), nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    withdrawn_by_id: Mapped[str | None] = mapped_column(String(22), nullable=True)

    case: Mapped[Case] = relationship(back_populates="consents")

    @property
    def field_list(self) -> list[str]:
        return [f for f in self.fields.split(",") if f]

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class ShelterStay(IdMixin, TimestampMixin, db.Model):
    """Nights at the trusted address and the essentials given (Law 13/2022 Art. 22: shelter and needs)."""

    __tablename__ = "shelter_stay"

    case_id: Mapped[str] = mapped_column(String(22), ForeignKey("case.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    start_on: Mapped[date] = mapped_column(Date, nullable=False)
    end_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    food: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    water: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    clothes: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    personal_items: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    first_aid: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    money: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    money_vnd: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recorded_by_id: Mapped[str | None] = mapped_column(String(22), nullable=True)

    case: Mapped[Case] = relationship(back_populates="shelter_stays")

    @property
    def essentials(self) -> list[str]:
        return [e for e in codes.ESSENTIALS if getattr(self, e)]

    def nights(self, today: date) -> int:
        return max(((self.end_on or today) - self.start_on).days, 0)


class ContactBan(IdMixin, TimestampMixin, db.Model):
    """A request to the commune chair to prohibit contact (Law 13/2022 Art. 25), and its decision."""

    __tablename__ = "contact_ban"

    case_id: Mapped[str] = mapped_column(String(22), ForeignKey("case.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    requester: Mapped[str] = mapped_column(String(16), nullable=False)
    victim_consented: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    recorded_by_id: Mapped[str | None] = mapped_column(String(22), nullable=True)
    decision_due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decision_ref: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    case: Mapped[Case] = relationship(back_populates="contact_bans")


class FollowUp(ProtectedMixin, IdMixin, TimestampMixin, db.Model):
    """A visit or call after the intake."""

    __tablename__ = "follow_up"

    case_id: Mapped[str] = mapped_column(String(22), ForeignKey("case.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    on: Mapped[date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    situation: Mapped[str] = mapped_column(String(16), nullable=False)
    violence_recurred: Mapped[bool] = mapped_column(Boolean, nullable=False)
    by_id: Mapped[str | None] = mapped_column(String(22), nullable=True)

    note = Protected(max_length=4000)

    case: Mapped[Case] = relationship(back_populates="follow_ups")

    def __repr__(self) -> str:
        return f"<FollowUp {self.id}>"


class CaseEvent(ProtectedMixin, IdMixin, db.Model):
    """One entry of a case's timeline. Other domains add entries through ``services.add_timeline_entry``.

    ``kind`` is a code (labels in ``services.TIMELINE_KINDS``); ``object_type``/``object_id`` point at
    the row the entry is about; ``note`` is free text and therefore encrypted.
    """

    __tablename__ = "case_event"

    case_id: Mapped[str] = mapped_column(String(22), ForeignKey("case.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(String(22), nullable=True)
    actor_role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    kind: Mapped[str] = mapped_column(String(48), nullable=False)
    object_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    object_id: Mapped[str | None] = mapped_column(String(22), nullable=True)

    note = Protected(max_length=4000)

    case: Mapped[Case] = relationship(back_populates="events")

    def __repr__(self) -> str:
        return f"<CaseEvent {self.id} {self.kind}>"


# --- keep this package's protected records alive until their transaction ends ----------------------------
#
# ``casework.protect.fields`` clears decrypted values in an "expire" listener that assumes the object is
# still alive. SQLAlchemy expires every state of the identity map at commit and rollback, and a record that
# the cyclic garbage collector frees during that loop reaches the listener as ``None`` (an AttributeError
# and a failed commit). Until the listener accepts ``None`` (reported to the owner of casework.protect),
# the session keeps a strong reference to each of our protected records until the transaction has ended.

_OWN_PROTECTED = (Person, Case, FollowUp, CaseEvent)


def _hold(session: Session, obj: object) -> None:
    if isinstance(obj, _OWN_PROTECTED):
        session.info.setdefault("cases_keep_alive", []).append(obj)


@event.listens_for(Session, "after_attach")
def _hold_attached(session: Session, obj: object) -> None:
    _hold(session, obj)


@event.listens_for(Session, "loaded_as_persistent")
def _hold_loaded(session: Session, obj: object) -> None:
    _hold(session, obj)


@event.listens_for(Session, "after_transaction_end")
def _release(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop("cases_keep_alive", None)
