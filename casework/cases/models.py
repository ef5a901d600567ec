"""Trusted addresses and their cases (DESIGN §2).

Personal data sits in protected fields (``casework.protect.fields``): the person's identity on
``Person``, free text on the case, its follow-ups and its timeline. Categorical fields needed for
scoping, lists and statistics stay in clear columns; exact birth dates never do.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, Index, Integer, String, event, false, text, true
from sqlalchemy.orm import Mapped, Session, SessionTransaction, declared_attr, mapped_column, relationship

from casework.auth.models import address_host
from casework.cases import codes
from casework.extensions import Model
from casework.models import IdMixin, TimestampMixin, code_list, parent_id, ref_id, utc_datetime, utcnow
from casework.protect.fields import Protected, ProtectedMixin

ADDRESS_KINDS = tuple(codes.ADDRESS_KINDS)
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: read aloud over a phone


def new_reference() -> str:
    """A short random case reference (e.g. ``VV-7KQ2M9XA``): says nothing about order or count."""
    return "VV-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


class Address(IdMixin, TimestampMixin, Model):
    """A community trusted address (ĐCTC): a household or organisation that receives victims."""

    __tablename__ = "address"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    province_code: Mapped[str] = mapped_column(String(2), nullable=False, index=True)
    commune_code: Mapped[str] = mapped_column(String(5), nullable=False, index=True)
    geo_scheme: Mapped[str] = mapped_column(String(8), nullable=False, default="2025")
    # The pre-2025 commune (scheme "pre2025", casework.geo.legacy) the address was in, for the pilot years.
    legacy_commune_code: Mapped[str | None] = mapped_column(String(5), nullable=True)
    # Law 13/2022 Art. 36(2): declared to the commune People's Committee, which lists and publishes it.
    declared_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    published_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    # Loaded only where shown (the address page and the address API, which ask for it): every case loads
    # its address, and the hosts' full user rows on every list were a quarter of a page's time (issue 18).
    hosts = relationship("User", secondary=address_host, back_populates="addresses", lazy="select")
    trainings: Mapped[list[AddressTraining]] = relationship(
        back_populates="address", order_by="AddressTraining.held_on.desc()", cascade="all, delete-orphan")
    support_packages: Mapped[list[AddressSupport]] = relationship(
        back_populates="address", order_by="AddressSupport.received_on.desc()", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Address {self.id}>"


class AddressEntry(IdMixin, TimestampMixin):
    """What the commune keeps beside a trusted address: its trainings and its support packages."""

    @declared_attr
    def address_id(cls) -> Mapped[str]:
        return parent_id("address")


class AddressTraining(AddressEntry, Model):
    """A training the commune gave the address's hosts (Art. 36(2): the commune trains trusted addresses)."""

    __tablename__ = "address_training"

    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    topic: Mapped[str] = mapped_column(String(200), nullable=False)
    organiser: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    address: Mapped[Address] = relationship(back_populates="trainings")


class AddressSupport(AddressEntry, Model):
    """A support package the address received (money, equipment, supplies)."""

    __tablename__ = "address_support"

    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    # Whole đồng, as every amount of money (livelihood): up to the 10 billion the service accepts.
    amount_vnd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    address: Mapped[Address] = relationship(back_populates="support_packages")

    __table_args__ = (CheckConstraint("amount_vnd IS NULL OR amount_vnd >= 0", name="amount_not_negative"),)


class ProvinceSetting(TimestampMixin, Model):
    """Casework settings a province chooses for itself."""

    __tablename__ = "case_province_setting"

    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    # Shelter beyond this many nights is flagged, never refused (DESIGN §2; the legal limit is unknown).
    max_shelter_days: Mapped[int] = mapped_column(Integer, nullable=False, default=codes.DEFAULT_MAX_SHELTER_DAYS)
    # The project's rule for the commune notice (Law 13/2022 Art. 36 sets no hours): flagged after this many.
    notice_hours: Mapped[int] = mapped_column(Integer, nullable=False, default=codes.NOTICE_HOURS,
                                              server_default=str(codes.NOTICE_HOURS))


class Person(ProtectedMixin, IdMixin, TimestampMixin, Model):
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
    # Her home commune in the pre-2025 units (casework.geo.legacy), when she came before 1 July 2025.
    legacy_commune_code: Mapped[str | None] = mapped_column(String(5), nullable=True)

    full_name = Protected(index="name", max_length=200)
    if TYPE_CHECKING:  # the ciphertext column ProtectedMixin adds for ``full_name``
        full_name_ct: Mapped[bytes | None]
    other_names = Protected(max_length=200)
    birth_year = Protected(max_length=4)
    birth_date = Protected(max_length=10)  # ISO yyyy-mm-dd
    phone = Protected(index="phone", max_length=32)
    id_number = Protected(max_length=32)
    home_address = Protected(max_length=300)

    def __repr__(self) -> str:  # no personal data in reprs, logs or tracebacks
        return f"<Person {self.id}>"


class Case(ProtectedMixin, IdMixin, TimestampMixin, Model):
    """One reception of a person at a trusted address, and everything done for her after."""

    __tablename__ = "case"

    reference: Mapped[str] = mapped_column(String(16), nullable=False, unique=True, default=new_reference)
    address_id: Mapped[str] = ref_id("address", nullable=False)
    person_id: Mapped[str] = ref_id("case_person", nullable=False, index=True)
    # Copied from the address at intake, so every scoped list is one indexed range.
    province_code: Mapped[str] = mapped_column(String(2), nullable=False)
    commune_code: Mapped[str] = mapped_column(String(5), nullable=False)
    geo_scheme: Mapped[str] = mapped_column(String(8), nullable=False, default="2025")
    # Where it happened in the units of its time (scheme "pre2025", casework.geo.legacy), for a case before
    # 1 July 2025: statistics of the pilot years count it there. The 2025 columns above keep the scope.
    legacy_commune_code: Mapped[str | None] = mapped_column(String(5), nullable=True)

    intake_at: Mapped[datetime] = utc_datetime(nullable=False)
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

    # Decree 76/2023: an act that does not count as domestic violence for the relationship is recorded
    # (``CaseAct.counted`` false) and left out of the statistics; the host confirms the warning with one
    # tick. ``dv_counted`` is false when no act of the case counts: the case is then in no DV table.
    dv_counted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    not_counted_confirmed_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    not_counted_confirmed_by_id: Mapped[str | None] = ref_id(nullable=True)

    first_aid_given: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    risk_threat_to_kill: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    risk_weapon: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    risk_escalation: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    risk_children_at_risk: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    risk_perpetrator_nearby: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    risk_judged_high: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    risk_level: Mapped[str] = mapped_column(String(8), nullable=False, default="low")
    risk_assessed_at: Mapped[datetime | None] = utc_datetime(nullable=True)

    # Law 13/2022 Art. 36: a trusted address must notify the commune People's Committee of each intake.
    commune_notified_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    # The day the next follow-up is due (issue 13): the newest follow-up's next date, or the intake day plus
    # the risk level's interval (codes.FOLLOW_UP_DAYS) before any follow-up; None while the case is closed.
    follow_up_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)

    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    # Sort key of every list: open before closed, then high risk first (see ``priority_of``).
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    closure_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    closure_requested_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    closure_requested_by_id: Mapped[str | None] = ref_id(nullable=True)
    closed_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    closed_by_id: Mapped[str | None] = ref_id(nullable=True)
    created_by_id: Mapped[str | None] = ref_id(nullable=True)

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
        # The work queue (issue 13): cases without the commune notice are few, so these partial indexes
        # stay small and a page of that work reads only them; closure requests are found by status.
        Index("ix_case_unnotified_address", "address_id", "intake_at", "id",
              sqlite_where=text("commune_notified_at IS NULL"), postgresql_where=text("commune_notified_at IS NULL")),
        Index("ix_case_unnotified_commune", "commune_code", "intake_at", "id",
              sqlite_where=text("commune_notified_at IS NULL"), postgresql_where=text("commune_notified_at IS NULL")),
        Index("ix_case_commune_status", "commune_code", "status", "closure_requested_at", "id"),
        # The "follow-up due" items of the work queue (casework.cases.work), per address and per commune.
        Index("ix_case_address_follow_up", "address_id", "follow_up_due_on", "id"),
        Index("ix_case_commune_follow_up", "commune_code", "follow_up_due_on", "id"),
        # The people of a host's or a commune officer's scope (those who search names; a province officer never
        # sees one) as one range of an index: a name search intersects them with the name's blind-index buckets
        # without reading a case row (casework.protect.fields, BlindLookup.candidates).
        Index("ix_case_address_person", "address_id", "person_id"),
        Index("ix_case_commune_person", "commune_code", "person_id"),
    )

    @property
    def act_codes(self) -> list[str]:
        return [a.code for a in self.acts]

    @property
    def acts_not_counted(self) -> list[str]:
        return [a.code for a in self.acts if not a.counted]

    def act_parts_of(self, code: str) -> list[str]:
        return next((a.parts for a in self.acts if a.code == code), [])

    @property
    def forms(self) -> list[str]:
        return [f for f in codes.FORMS if getattr(self, f"form_{f}")]

    @property
    def risk_factors(self) -> set[str]:
        return {f for f in codes.RISK_FACTORS if getattr(self, f"risk_{f}")}

    @property
    def is_open(self) -> bool:
        return self.status in codes.OPEN_STATUSES

    @property
    def follow_up_late(self) -> bool:
        """The next follow-up's day has passed (Vietnam's calendar) and the case is open."""
        from casework.text import VN_TZ

        return (self.is_open and self.follow_up_due_on is not None
                and self.follow_up_due_on < utcnow().astimezone(VN_TZ).date())

    def __repr__(self) -> str:
        return f"<Case {self.id}>"


# Every open case has a priority of at least this, every closed case less: "priority >= OPEN_PRIORITY" finds
# the open cases within the list indexes without reading the table (the work queue relies on it).
OPEN_PRIORITY = 10


def priority_of(status: str, risk: str) -> int:
    """Open cases first, by risk (high, medium, low); closed cases last whatever their risk."""
    if status in codes.OPEN_STATUSES:
        return OPEN_PRIORITY + codes.RISK_RANK.get(risk, 0)
    return 0


class CaseAct(Model):
    """One act (a–q of Law 13/2022 Art. 3(1)) recorded for a case."""

    __tablename__ = "case_act"

    case_id: Mapped[str] = ref_id("case", ondelete="CASCADE", nullable=False, primary_key=True)
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # The parts of the letter ticked (``codes.ACT_PARTS`` codes), and whether the act counts
    # as domestic violence for the case's relationship (Decree 76/2023 Arts. 2–5).
    parts: Mapped[list[str]] = code_list(120, server_default="")
    counted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())

    case: Mapped[Case] = relationship(back_populates="acts")


class Consent(IdMixin, Model):
    """Her consent to one purpose (keep the record, statistics, share with one kind of service).

    A withdrawal is stamped on the row; giving again adds a row, so the history stays. A consent whose
    ``basis`` is ``life_threat`` is an override recorded by a permitted user with a reason (DESIGN §2).
    """

    __tablename__ = "case_consent"

    case_id: Mapped[str] = parent_id("case")
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    service: Mapped[str | None] = mapped_column(String(32), nullable=True)
    fields: Mapped[list[str]] = code_list(400)  # "share" only
    basis: Mapped[str] = mapped_column(String(16), nullable=False, default="consent")
    given_by: Mapped[str] = mapped_column(String(16), nullable=False, default="self")
    given_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    recorded_by_id: Mapped[str | None] = ref_id(nullable=True)
    withdrawn_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    withdrawn_by_id: Mapped[str | None] = ref_id(nullable=True)

    case: Mapped[Case] = relationship(back_populates="consents")

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


# A granted ban not revoked: the bans whose end the work queue announces.
GRANTED = "decision = 'granted' AND revoked_on IS NULL"


class ShelterStay(IdMixin, TimestampMixin, Model):
    """Nights at the trusted address and the essentials given (Law 13/2022 Art. 22: shelter and needs)."""

    __tablename__ = "shelter_stay"

    case_id: Mapped[str] = parent_id("case")
    start_on: Mapped[date] = mapped_column(Date, nullable=False)
    end_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The ``codes.ESSENTIALS`` given, in that order.
    essentials: Mapped[list[str]] = code_list(80, server_default="")
    money_vnd: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recorded_by_id: Mapped[str | None] = ref_id(nullable=True)
    # The case's place, copied (``_copy_the_case_place``, and on a move) so that the work queue reads the
    # running stays of one address or commune in one index range instead of probing every open case.
    address_id: Mapped[str | None] = ref_id(nullable=True)
    commune_code: Mapped[str | None] = mapped_column(String(5), nullable=True)

    case: Mapped[Case] = relationship(back_populates="shelter_stays")

    __table_args__ = (
        # The work queue (issue 13): the stays still running, a small index probed once per open case.
        Index("ix_shelter_stay_running", "case_id", "start_on",
              sqlite_where=text("end_on IS NULL"), postgresql_where=text("end_on IS NULL")),
        Index("ix_shelter_stay_running_address", "address_id", "start_on", "id",
              sqlite_where=text("end_on IS NULL"), postgresql_where=text("end_on IS NULL")),
        Index("ix_shelter_stay_running_commune", "commune_code", "start_on", "id",
              sqlite_where=text("end_on IS NULL"), postgresql_where=text("end_on IS NULL")),
    )

    def nights(self, today: date) -> int:
        return max(((self.end_on or today) - self.start_on).days, 0)


class ContactBan(ProtectedMixin, IdMixin, TimestampMixin, Model):
    """A contact ban (Law 13/2022 Arts. 25–26): a request to the commune chair and its decision, the
    chair's own decision when her life is threatened (Art. 25(1)(b)), or a court's decision (Art. 26);
    and its revocation before the end (Art. 25(4)). The reason for a revocation is free text: encrypted."""

    __tablename__ = "contact_ban"

    case_id: Mapped[str] = parent_id("case")
    kind: Mapped[str] = mapped_column(String(8), nullable=False, default="commune", server_default="commune")
    origin: Mapped[str] = mapped_column(String(16), nullable=False, default="request", server_default="request")
    requested_at: Mapped[datetime] = utc_datetime(nullable=False)
    requester: Mapped[str] = mapped_column(String(24), nullable=False)  # "" on the chair's own initiative
    victim_consented: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    life_threatened: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    court_name: Mapped[str] = mapped_column(String(200), nullable=False, default="", server_default="")
    recorded_by_id: Mapped[str | None] = ref_id(nullable=True)
    decision_due_at: Mapped[datetime] = utc_datetime(nullable=False)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    decided_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    decision_ref: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    valid_from: Mapped[datetime | None] = utc_datetime(nullable=True)
    valid_until: Mapped[datetime | None] = utc_datetime(nullable=True)
    revoked_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    revoked_by_id: Mapped[str | None] = ref_id(nullable=True)
    # The case's place, copied like ShelterStay's: the queue's pending decisions and bans ending per scope.
    address_id: Mapped[str | None] = ref_id(nullable=True)
    commune_code: Mapped[str | None] = mapped_column(String(5), nullable=True)

    revoke_reason = Protected(max_length=1000)

    case: Mapped[Case] = relationship(back_populates="contact_bans")

    __table_args__ = (
        # The work queue (issue 13): per open case, the requests waiting for a decision (decision IS NULL)
        # and the granted bans ending soon, found in the index without reading the other bans' rows.
        Index("ix_contact_ban_work", "case_id", "decision", "valid_until"),
        Index("ix_contact_ban_pending_address", "address_id", "decision_due_at", "id",
              sqlite_where=text("decision IS NULL"), postgresql_where=text("decision IS NULL")),
        Index("ix_contact_ban_pending_commune", "commune_code", "decision_due_at", "id",
              sqlite_where=text("decision IS NULL"), postgresql_where=text("decision IS NULL")),
        Index("ix_contact_ban_granted_address", "address_id", "valid_until", "id",
              sqlite_where=text(GRANTED), postgresql_where=text(GRANTED)),
        Index("ix_contact_ban_granted_commune", "commune_code", "valid_until", "id",
              sqlite_where=text(GRANTED), postgresql_where=text(GRANTED)),
    )

    @property
    def in_force_until(self) -> datetime | None:
        """The end of a granted ban: its last moment, or the start of the day it was revoked."""
        if self.decision != "granted" or self.valid_until is None:
            return None
        if self.revoked_on is not None:
            from casework.text import VN_TZ

            revoked = datetime.combine(self.revoked_on, datetime.min.time(), tzinfo=VN_TZ)
            return min(self.valid_until, revoked)
        return self.valid_until

    def __repr__(self) -> str:
        return f"<ContactBan {self.id}>"


class FollowUp(ProtectedMixin, IdMixin, TimestampMixin, Model):
    """A visit or call after the intake."""

    __tablename__ = "follow_up"

    case_id: Mapped[str] = parent_id("case")
    on: Mapped[date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    situation: Mapped[str] = mapped_column(String(16), nullable=False)
    violence_recurred: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # The next follow-up date chosen with this one (None for follow-ups recorded before issue 13).
    next_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    by_id: Mapped[str | None] = ref_id(nullable=True)

    note = Protected(max_length=4000)

    case: Mapped[Case] = relationship(back_populates="follow_ups")

    def __repr__(self) -> str:
        return f"<FollowUp {self.id}>"


class CaseEvent(ProtectedMixin, IdMixin, Model):
    """One entry of a case's timeline. Other domains add entries through ``services.add_timeline_entry``.

    ``kind`` is a code (labels in ``casework.cases.extensions``); ``object_type``/``object_id`` point at
    the row the entry is about; ``note`` is free text and therefore encrypted.
    """

    __tablename__ = "case_event"

    case_id: Mapped[str] = parent_id("case")
    at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    actor_id: Mapped[str | None] = ref_id(nullable=True)
    actor_role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    kind: Mapped[str] = mapped_column(String(48), nullable=False)
    object_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    object_id: Mapped[str | None] = ref_id(nullable=True)

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

_OWN_PROTECTED = (Person, Case, FollowUp, CaseEvent, ContactBan)


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


class CaseTransfer(ProtectedMixin, IdMixin, TimestampMixin, Model):
    """A case moved to another trusted address (issue 13): asked by the commune officer of the case's commune,
    accepted or declined by a commune officer of the receiving address's commune. The case keeps its history;
    on acceptance it belongs to the new address, and the old host and commune no longer see it."""

    __tablename__ = "case_transfer"

    case_id: Mapped[str] = parent_id("case")
    from_address_id: Mapped[str] = ref_id("address", nullable=False)
    to_address_id: Mapped[str] = ref_id("address", nullable=False)
    from_commune_code: Mapped[str] = mapped_column(String(5), nullable=False, index=True)
    to_commune_code: Mapped[str] = mapped_column(String(5), nullable=False, index=True)
    province_code: Mapped[str] = mapped_column(String(2), nullable=False)  # the receiving province (blind keys)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    requested_by_id: Mapped[str] = ref_id(nullable=False)
    requested_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    decided_by_id: Mapped[str | None] = ref_id(nullable=True)
    decided_at: Mapped[datetime | None] = utc_datetime(nullable=True)

    reason = Protected(max_length=2000)
    decline_reason = Protected(max_length=2000)

    def __repr__(self) -> str:
        return f"<CaseTransfer {self.id} {self.state}>"


@event.listens_for(ShelterStay, "before_insert")
@event.listens_for(ContactBan, "before_insert")
def _copy_the_case_place(_mapper: Any, _connection: Any, target: ShelterStay | ContactBan) -> None:
    """A new stay or ban takes its case's address and commune (a move updates both, ``accept_transfer``)."""
    case = target.case
    if case is not None:
        target.address_id, target.commune_code = case.address_id, case.commune_code
