"""The livelihood work of the queue (issue 13): proposals the province must appraise or decide, first
approvals waiting for a second officer, and proposals returned to the commune for revision."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework.auth.models import User
from casework.auth.roles import Role
from casework.extensions import db
from casework.models import utcnow
from casework.work import Provider, Row, add_provider, day_start, keyset, keyset_days
from livelihood.models import Budget, BudgetChange, Disbursement, Proposal, Survivor

# Project rules, not the law's: the province answers a submitted proposal within 15 days, a second officer
# confirms a first approval within 3 days, the commune revises a returned proposal within 15 days.
DECIDE_DAYS = 15
SECOND_APPROVAL_DAYS = 3
REVISE_DAYS = 15
PROVINCE = frozenset({Role.PROVINCE_OFFICER.value})
COMMUNE = frozenset({Role.COMMUNE_OFFICER.value})


def _rows(user: User, after: tuple[datetime, str] | None, inclusive: bool, limit: int, *conditions: Any,
          scope: Any) -> Sequence[Row]:
    q = (select(Proposal.state_changed_at, Proposal.id, Survivor.code)
         .join(Survivor, Survivor.id == Proposal.survivor_id)
         .where(scope, *conditions, keyset(Proposal.state_changed_at, Proposal.id, after, inclusive))
         .order_by(Proposal.state_changed_at, Proposal.id).limit(limit))
    return [Row(at, pid, code, (("proposal_id", pid),)) for at, pid, code in db.session.execute(q)]


def _province(user: User) -> Any:
    return Proposal.province_code == (getattr(user, "province_code", None) or "")


def _decide_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool, limit: int) -> Sequence[Row]:
    return _rows(user, after, inclusive, limit, Proposal.state.in_(("submitted", "under_appraisal")),
                 Proposal.first_approved_by_id.is_(None), scope=_province(user))


def _second_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool, limit: int) -> Sequence[Row]:
    # The officer who gave the first approval cannot give the second: it is not her work.
    return _rows(user, after, inclusive, limit, Proposal.state == "under_appraisal",
                 Proposal.first_approved_by_id.is_not(None), Proposal.first_approved_by_id != user.id,
                 scope=_province(user))


def _revise_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool, limit: int) -> Sequence[Row]:
    scope = Proposal.commune_code == (getattr(user, "commune_code", None) or "")
    return _rows(user, after, inclusive, limit, Proposal.state == "returned", scope=scope)


def _budget_change_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool,
                        limit: int) -> Sequence[Row]:
    from casework.models import utcnow

    q = (select(BudgetChange.proposed_at, BudgetChange.id, Budget.year)
         .join(Budget, Budget.id == BudgetChange.budget_id)
         .where(Budget.province_code == (getattr(user, "province_code", None) or ""),
                BudgetChange.state == "pending", BudgetChange.expires_at > utcnow(),
                BudgetChange.proposed_by_id != user.id,
                keyset(BudgetChange.proposed_at, BudgetChange.id, after, inclusive))
         .order_by(BudgetChange.proposed_at, BudgetChange.id).limit(limit))
    return [Row(at, cid, str(year), (("_anchor", cid),)) for at, cid, year in db.session.execute(q)]


def _tranche_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool, limit: int) -> Sequence[Row]:
    q = (select(Disbursement.recorded_at, Disbursement.id, Proposal.id, Survivor.code)
         .join(Proposal, Proposal.id == Disbursement.proposal_id)
         .join(Survivor, Survivor.id == Proposal.survivor_id)
         .where(_province(user), Disbursement.state == "pending", Disbursement.recorded_by_id != user.id,
                keyset(Disbursement.recorded_at, Disbursement.id, after, inclusive))
         .order_by(Disbursement.recorded_at, Disbursement.id).limit(limit))
    return [Row(at, tid, code, (("proposal_id", pid),)) for at, tid, pid, code in db.session.execute(q)]


# Project rules (issue 13), not the law's: the commune officer visits a proposal being carried out at least
# once a quarter, and her livelihood support runs for a year from the approval.
MONITORING_DAYS = 90
SUPPORT_DAYS = 365
# A monitoring visit shows from a week before it is due; a support period from a month before it ends.
MONITORING_NOTICE_DAYS = 7
SUPPORT_ENDING_NOTICE = timedelta(days=30)
DUE_IN_DAY = timedelta(hours=23, minutes=59)  # a day's deadline is 23:59 of that day (Vietnam's time)
ACTIVE = ("approved", "disbursing")


def _monitoring_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool,
                     limit: int) -> Sequence[Row]:
    from casework.text import VN_TZ

    horizon = utcnow().astimezone(VN_TZ).date() + timedelta(days=MONITORING_NOTICE_DAYS)
    q = (select(Proposal.monitoring_due_on, Proposal.id, Survivor.code)
         .join(Survivor, Survivor.id == Proposal.survivor_id)
         .where(Proposal.commune_code == (getattr(user, "commune_code", None) or ""),
                Proposal.state.in_(ACTIVE), Proposal.monitoring_due_on.is_not(None),
                Proposal.monitoring_due_on <= horizon,
                keyset_days(Proposal.monitoring_due_on, Proposal.id, after, inclusive))
         .order_by(Proposal.monitoring_due_on, Proposal.id).limit(limit))
    # The query excludes NULL dates; the condition tells the type checker so.
    return [Row(day_start(day), pid, code, (("proposal_id", pid),)) for day, pid, code in db.session.execute(q)
            if day is not None]


def _support_ending_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool,
                         limit: int) -> Sequence[Row]:
    starts_before = utcnow() - timedelta(days=SUPPORT_DAYS) + SUPPORT_ENDING_NOTICE
    q = (select(Proposal.decided_at, Proposal.id, Survivor.code)
         .join(Survivor, Survivor.id == Proposal.survivor_id)
         .where(Proposal.commune_code == (getattr(user, "commune_code", None) or ""),
                Proposal.state.in_(ACTIVE), Proposal.decided_at.is_not(None), Proposal.decided_at <= starts_before,
                keyset(Proposal.decided_at, Proposal.id, after, inclusive))
         .order_by(Proposal.decided_at, Proposal.id).limit(limit))
    return [Row(at, pid, code, (("proposal_id", pid),)) for at, pid, code in db.session.execute(q)
            if at is not None]


def _support_days(user: User) -> timedelta:
    return timedelta(days=SUPPORT_DAYS)


def register(app: Flask) -> None:
    for provider in (
        Provider("proposal_decision", "proposal", PROVINCE, _l("Appraise and decide the proposal"),
                 "livelihood.proposal", _decide_rows, lambda user: timedelta(days=DECIDE_DAYS)),
        Provider("proposal_second_approval", "proposal", PROVINCE, _l("Give the second approval"),
                 "livelihood.proposal", _second_rows, lambda user: timedelta(days=SECOND_APPROVAL_DAYS)),
        Provider("proposal_revision", "proposal", COMMUNE, _l("Revise the returned proposal"),
                 "livelihood.proposal", _revise_rows, lambda user: timedelta(days=REVISE_DAYS)),
        # A budget change lapses after 24 hours (livelihood.services.BUDGET_CHANGE_TTL).
        Provider("budget_change_confirm", "budget_change", PROVINCE, _l("Confirm or let lapse a budget change"),
                 "livelihood.budgets", _budget_change_rows, lambda user: timedelta(hours=24)),
        Provider("tranche_confirm", "disbursement", PROVINCE, _l("Confirm a tranche another officer recorded"),
                 "livelihood.proposal", _tranche_rows, lambda user: timedelta(days=SECOND_APPROVAL_DAYS)),
        # Project rules (MONITORING_DAYS, SUPPORT_DAYS above): a visit each quarter, a year of support.
        Provider("monitoring_visit_due", "proposal", COMMUNE, _l("Visit her and record the monitoring visit"),
                 "livelihood.proposal", _monitoring_rows, lambda user: DUE_IN_DAY),
        Provider("support_period_ending", "proposal", COMMUNE,
                 _l("Her livelihood support period ends: record the outcome"), "livelihood.proposal",
                 _support_ending_rows, _support_days),
    ):
        add_provider(app, provider)
