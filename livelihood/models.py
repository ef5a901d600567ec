"""Tables of the livelihood domain: survivors, proposals, budgets, disbursements and monitoring.

Money is whole VND in ``BigInteger`` columns (VND has no minor unit; a province's budget passes
2^31). The budget row carries ``committed_vnd`` and ``disbursed_vnd`` so that an approval can be
checked and counted in one conditional UPDATE; the CHECK constraints are the database's own backstop
against a committed total above the allocation (DESIGN §2).

Identity and narrative fields are ``Protected`` (encrypted per record, DESIGN §3.3); the categorical
fields that statistics need (commune, status, sex, ethnicity, age band, dates, amounts) stay clear.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.extensions import Model, db
from casework.models import IdMixin, TimestampMixin, parent_id, ref_id, utc_datetime, utcnow
from casework.protect.fields import Protected, ProtectedMixin

# Law 53/2024/QH15: a person "being identified" as a victim (đang xác minh), an "identified" victim, or a person
# the competent body found not to be a victim (``not_victim``, with the deciding body and the date).
SURVIVOR_STATUSES = ("being_identified", "identified", "not_victim")
# Law 53/2024 Art. 37(2): a child under 18 who comes with her is entitled to items a–h.
CHILD_ENTITLEMENTS = ("a", "b", "c", "d", "đ", "e", "g", "h")
SEXES = ("female", "male")
CONSENT_GIVERS = ("self", "guardian")
# Law 53/2024 Art. 37(1) a–k (the legal list skips f and j; "đ" follows "d").
ENTITLEMENTS = ("a", "b", "c", "d", "đ", "e", "g", "h", "i", "k")
PROPOSAL_KINDS = ("livestock", "crops", "handicraft", "small_trade", "vocational_training", "job_placement",
                  "other")
# DESIGN §2: draft → submitted → under appraisal → returned | approved | rejected → disbursing →
# completed | closed.
PROPOSAL_STATES = ("draft", "submitted", "under_appraisal", "returned", "approved", "rejected", "disbursing",
                   "completed", "closed")
DISBURSEMENT_FORMS = ("cash", "in_kind")
VISIT_PROGRESS = ("on_track", "delayed", "at_risk", "stopped")
EVENT_KINDS = ("vocational_training", "job_counselling", "market_linkage")
OUTCOMES = ("self_reliant", "improving", "not_achieved")
AGE_BANDS = ("under_18", "18_24", "25_34", "35_44", "45_59", "60_plus")


def _user_fk(nullable: bool = False) -> Mapped[str]:
    return ref_id("user", nullable=nullable, index=True)


class Survivor(ProtectedMixin, IdMixin, TimestampMixin, Model):
    """A woman who survived trafficking, listed by her commune's Women's Union officer."""

    __tablename__ = "survivor"

    # A random reference shown instead of her name to those who need not know it (province staff).
    code: Mapped[str] = mapped_column(String(12), nullable=False, unique=True)
    province_code: Mapped[str] = mapped_column(String(2), nullable=False, index=True)
    commune_code: Mapped[str] = mapped_column(String(5), nullable=False, index=True)
    geo_scheme: Mapped[str] = mapped_column(String(8), nullable=False, default="2025")

    full_name = Protected(index="name", max_length=200)
    phone = Protected(index="phone", max_length=40)
    birth_year = Protected(max_length=4)
    age_band: Mapped[str | None] = mapped_column(String(8), nullable=True)  # at registration, for statistics
    sex: Mapped[str] = mapped_column(String(8), nullable=False)
    ethnicity_code: Mapped[str | None] = mapped_column(String(2), nullable=True)

    status: Mapped[str] = mapped_column(String(20), nullable=False)
    status_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    status_authority = Protected(max_length=200)

    consent_record: Mapped[bool] = mapped_column(Boolean, nullable=False)
    consent_statistics: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    consent_given_by: Mapped[str] = mapped_column(String(16), nullable=False, default="self")
    consent_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)

    # Needs survey (vietnam-domain §2.5: khảo sát): numbers clear, words encrypted.
    household_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    monthly_income_vnd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    skills = Protected(max_length=2000)
    assets = Protected(max_length=2000)
    health = Protected(max_length=2000)
    wishes = Protected(max_length=2000)

    registered_on: Mapped[date] = mapped_column(Date, nullable=False)
    registered_by_id: Mapped[str] = _user_fk()

    supports = relationship("SurvivorSupport", cascade="all, delete-orphan",
                            lazy="selectin", order_by="SurvivorSupport.item")
    children = relationship("AccompanyingChild", cascade="all, delete-orphan", order_by="AccompanyingChild.created_at")

    __table_args__ = (
        CheckConstraint("household_size IS NULL OR household_size > 0", name="household_size_positive"),
        CheckConstraint("monthly_income_vnd IS NULL OR monthly_income_vnd >= 0", name="income_not_negative"),
    )

    def __repr__(self) -> str:
        return f"<Survivor {self.id}>"


class SurvivorSupport(IdMixin, Model):
    """One Art. 37 support item she has received."""

    __tablename__ = "survivor_support"

    survivor_id: Mapped[str] = parent_id("survivor")
    item: Mapped[str] = mapped_column(String(2), nullable=False)
    recorded_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    recorded_by_id: Mapped[str] = _user_fk()


    __table_args__ = (UniqueConstraint("survivor_id", "item", name="uq_survivor_support_survivor_id"),)


class AccompanyingChild(ProtectedMixin, IdMixin, TimestampMixin, Model):
    """A child under 18 who came with her (Law 53/2024 Art. 37(2)), with the a–h support items received.
    The child's name and year of birth are encrypted like hers."""

    __tablename__ = "survivor_child"

    survivor_id: Mapped[str] = parent_id("survivor")
    sex: Mapped[str] = mapped_column(String(8), nullable=False)
    supports: Mapped[str] = mapped_column(String(40), nullable=False, default="")  # comma list of a–h
    recorded_on: Mapped[date] = mapped_column(Date, nullable=False)
    recorded_by_id: Mapped[str] = _user_fk()

    name = Protected(max_length=200)
    birth_year = Protected(max_length=4)

    @property
    def support_list(self) -> list[str]:
        return [s for s in self.supports.split(",") if s]

    def __repr__(self) -> str:
        return f"<AccompanyingChild {self.id}>"


class Budget(IdMixin, TimestampMixin, Model):
    """A province's money for livelihood support in one year."""

    __tablename__ = "budget"

    province_code: Mapped[str] = mapped_column(String(2), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    amount_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False)
    committed_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    disbursed_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # Plan 96 §III: where the money comes from: "central" (central budget), "local" (local budget) or
    # "donor" (donors and other lawful sources); the statistics tabulate money by it.
    funding_source: Mapped[str] = mapped_column(String(16), nullable=False, default="central",
                                                server_default="central")
    # Four-eyes: an approval above this amount needs a second province officer (None: never).
    second_approval_above_vnd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_by_id: Mapped[str | None] = _user_fk(nullable=True)

    __table_args__ = (
        UniqueConstraint("province_code", "year", name="uq_budget_province_code"),
        CheckConstraint("amount_vnd >= 0", name="amount_not_negative"),
        CheckConstraint("committed_vnd >= 0 AND committed_vnd <= amount_vnd", name="committed_within_amount"),
        CheckConstraint("disbursed_vnd >= 0 AND disbursed_vnd <= committed_vnd", name="disbursed_within_committed"),
    )

    @property
    def available_vnd(self) -> int:
        return self.amount_vnd - self.committed_vnd

    def __repr__(self) -> str:
        return f"<Budget {self.province_code} {self.year}>"


BUDGET_CHANGE_STATES = ("pending", "applied", "expired")


class BudgetChange(IdMixin, Model):
    """A proposed change of a budget's allocation or second-approval threshold (four-eyes).

    One province officer proposes, another province officer of the same province or a coordinator
    confirms; nothing changes before that. ``pending_key`` holds the budget id while the change is
    pending and NULL afterwards: its unique constraint allows one pending change per budget (NULLs
    are distinct on SQLite and PostgreSQL), so two officers proposing at once cannot both succeed.
    """

    __tablename__ = "budget_change"

    budget_id: Mapped[str] = ref_id("budget", nullable=False, index=True)
    amount_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False)
    second_approval_above_vnd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    pending_key: Mapped[str | None] = ref_id(nullable=True)
    proposed_by_id: Mapped[str] = _user_fk()
    proposed_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = utc_datetime(nullable=False)
    decided_by_id: Mapped[str | None] = _user_fk(nullable=True)
    decided_at: Mapped[datetime | None] = utc_datetime(nullable=True)

    budget = relationship("Budget")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id], lazy="joined")

    __table_args__ = (
        UniqueConstraint("pending_key", name="uq_budget_change_pending_key"),
        CheckConstraint("amount_vnd >= 0", name="amount_not_negative"),
        CheckConstraint("(state = 'pending') = (pending_key IS NOT NULL)", name="pending_key_while_pending"),
    )

    def __repr__(self) -> str:
        return f"<BudgetChange {self.id} {self.state}>"


class Proposal(ProtectedMixin, IdMixin, TimestampMixin, Model):
    """Her livelihood plan with a budget (phương án sinh kế)."""

    __tablename__ = "proposal"

    survivor_id: Mapped[str] = ref_id("survivor", nullable=False, index=True)
    province_code: Mapped[str] = mapped_column(String(2), nullable=False, index=True)
    commune_code: Mapped[str] = mapped_column(String(5), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="draft", index=True)
    state_changed_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)

    title = Protected(max_length=200)
    description = Protected(max_length=4000)
    expected_results = Protected(max_length=2000)

    total_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    co_contribution_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    requested_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    approved_amount_vnd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    committed_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    disbursed_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    budget_id: Mapped[str | None] = ref_id("budget", nullable=True, index=True)
    # Tranches recorded but not yet confirmed by a second officer (four-eyes): reserved, not paid.
    pending_disbursement_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0,
                                                          server_default="0")
    # Issue 13: the day the next monitoring visit is due (approval or the newest visit plus
    # livelihood.work.MONITORING_DAYS); None before approval and once the proposal is completed or closed.
    monitoring_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The province's second-approval threshold in force when the proposal was (last) submitted.
    second_approval_above_vnd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    drafted_by_id: Mapped[str] = _user_fk()
    last_edited_by_id: Mapped[str] = _user_fk()
    submitted_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    decided_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    decided_by_id: Mapped[str | None] = _user_fk(nullable=True)
    first_approved_by_id: Mapped[str | None] = _user_fk(nullable=True)
    first_approved_amount_vnd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    outcome_note = Protected(max_length=2000)

    # No relationship points to a protected record (survivor, proposal): one reachable only through
    # another object (or a reference cycle) can be collected in the middle of a commit's expire loop,
    # which casework.protect.fields' expire hook does not survive (it gets None).
    budget = relationship("Budget")
    lines = relationship("ProposalLine", cascade="all, delete-orphan", order_by="ProposalLine.position",
                         lazy="selectin")

    __table_args__ = (
        CheckConstraint("requested_vnd = total_vnd - co_contribution_vnd", name="requested_is_total_less_own"),
        CheckConstraint("approved_amount_vnd IS NULL OR (approved_amount_vnd > 0 AND "
                        "approved_amount_vnd <= requested_vnd)", name="approved_within_request"),
        CheckConstraint("disbursed_vnd >= 0 AND disbursed_vnd <= committed_vnd", name="disbursed_within_committed"),
        CheckConstraint("committed_vnd >= 0 AND committed_vnd <= COALESCE(approved_amount_vnd, 0)",
                        name="committed_within_approved"),
        CheckConstraint("pending_disbursement_vnd >= 0 AND "
                        "disbursed_vnd + pending_disbursement_vnd <= committed_vnd",
                        name="pending_within_committed"),
        # The work queue (issue 13): proposals waiting in a state, oldest first, per province and commune.
        Index("ix_proposal_province_state", "province_code", "state", "state_changed_at", "id"),
        Index("ix_proposal_commune_state", "commune_code", "state", "state_changed_at", "id"),
        # The "monitoring visit due" items of the commune officer's queue (livelihood.work).
        Index("ix_proposal_commune_monitoring", "commune_code", "monitoring_due_on", "id"),
    )

    @property
    def survivor(self) -> Survivor:
        survivor = db.session.get(Survivor, self.survivor_id)
        if survivor is None:  # pragma: no cover - a foreign key guarantees it
            raise LookupError(f"proposal {self.id} has no survivor")
        return survivor

    @property
    def remaining_vnd(self) -> int:
        """What may still be disbursed."""
        return max((self.approved_amount_vnd or 0) - self.disbursed_vnd - (self.pending_disbursement_vnd or 0),
                   0) if self.state in (
            "approved", "disbursing") else 0

    @property
    def awaiting_second_approval(self) -> bool:
        return self.state == "under_appraisal" and self.first_approved_by_id is not None

    def __repr__(self) -> str:
        return f"<Proposal {self.id} {self.state}>"


class ProposalLine(IdMixin, Model):
    """One budget line: item, quantity, unit, unit cost and her own contribution, whole VND."""

    __tablename__ = "proposal_line"

    proposal_id: Mapped[str] = parent_id("proposal")
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    item: Mapped[str] = mapped_column(String(200), nullable=False)
    unit: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_cost_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False)
    co_contribution_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_cost_vnd > 0", name="unit_cost_positive"),
        CheckConstraint("co_contribution_vnd >= 0", name="co_contribution_not_negative"),
    )

    @property
    def total_vnd(self) -> int:
        return self.quantity * self.unit_cost_vnd


class ProposalTransition(ProtectedMixin, IdMixin, Model):
    """Who moved a proposal from one state to another, when, and why (DESIGN §2)."""

    __tablename__ = "proposal_transition"
    if TYPE_CHECKING:  # not a column: what ``services._move`` lists for the audit event of this move
        audit_fields: list[str]

    proposal_id: Mapped[str] = parent_id("proposal")
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    from_state: Mapped[str] = mapped_column(String(20), nullable=False)
    to_state: Mapped[str] = mapped_column(String(20), nullable=False)
    actor_id: Mapped[str] = _user_fk()
    at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    amount_vnd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    note = Protected(max_length=2000)

    actor = relationship("User", lazy="joined")

    def __repr__(self) -> str:
        return f"<ProposalTransition {self.proposal_id} {self.from_state}->{self.to_state}>"


class Appraisal(ProtectedMixin, IdMixin, Model):
    """A province officer's scoring sheet: five criteria scored 1–5, with a total."""

    __tablename__ = "proposal_appraisal"

    proposal_id: Mapped[str] = parent_id("proposal")
    appraiser_id: Mapped[str] = _user_fk()
    at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    feasibility: Mapped[int] = mapped_column(Integer, nullable=False)
    market: Mapped[int] = mapped_column(Integer, nullable=False)
    skills: Mapped[int] = mapped_column(Integer, nullable=False)
    risks: Mapped[int] = mapped_column(Integer, nullable=False)
    cost: Mapped[int] = mapped_column(Integer, nullable=False)
    total: Mapped[int] = mapped_column(Integer, nullable=False)
    comment = Protected(max_length=2000)

    appraiser = relationship("User", lazy="joined")

    __table_args__ = (CheckConstraint("total = feasibility + market + skills + risks + cost",
                                      name="total_is_sum"),)


class Disbursement(ProtectedMixin, IdMixin, Model):
    """One tranche of money or goods handed to her."""

    __tablename__ = "disbursement"

    proposal_id: Mapped[str] = ref_id("proposal", nullable=False, index=True)
    amount_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False)
    paid_on: Mapped[date] = mapped_column(Date, nullable=False)
    form: Mapped[str] = mapped_column(String(16), nullable=False)
    handed_over_by = Protected(max_length=200)
    items = Protected(max_length=2000)
    recorded_by_id: Mapped[str] = _user_fk()
    recorded_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    # "pending" until a second officer confirms it (recorded by an approver, or above the threshold);
    # only "confirmed" tranches count as money paid. "cancelled": the proposal ended before that.
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="confirmed",
                                       server_default="confirmed")
    confirmed_by_id: Mapped[str | None] = _user_fk(nullable=True)
    confirmed_at: Mapped[datetime | None] = utc_datetime(nullable=True)

    __table_args__ = (CheckConstraint("amount_vnd > 0", name="amount_positive"),
                      CheckConstraint("state IN ('pending', 'confirmed', 'cancelled')", name="state_known"),
                      # The work queue (issue 13): tranches waiting for confirmation, oldest first.
                      Index("ix_disbursement_state_order", "state", "recorded_at", "id"))

    @property
    def pending(self) -> bool:
        return self.state == "pending"


class MonitoringVisit(ProtectedMixin, IdMixin, Model):
    """A visit to check her progress and the use of the money."""

    __tablename__ = "monitoring_visit"

    proposal_id: Mapped[str] = ref_id("proposal", nullable=False, index=True)
    visited_on: Mapped[date] = mapped_column(Date, nullable=False)
    progress: Mapped[str] = mapped_column(String(16), nullable=False)
    income_before_vnd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    income_after_vnd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    funds_used_as_planned: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    problems = Protected(max_length=2000)
    notes = Protected(max_length=2000)
    recorded_by_id: Mapped[str] = _user_fk()
    recorded_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)

    __table_args__ = (
        CheckConstraint("income_before_vnd IS NULL OR income_before_vnd >= 0", name="income_before_not_negative"),
        CheckConstraint("income_after_vnd IS NULL OR income_after_vnd >= 0", name="income_after_not_negative"),
    )


class SupportEvent(ProtectedMixin, IdMixin, Model):
    """Vocational training, job counselling or a market-linkage event she took part in."""

    __tablename__ = "support_event"

    survivor_id: Mapped[str] = ref_id("survivor", nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    completed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    description = Protected(max_length=2000)
    recorded_by_id: Mapped[str] = _user_fk()
    recorded_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
