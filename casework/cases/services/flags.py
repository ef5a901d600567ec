"""The reminders shown beside a case (commune notice, contact-ban decisions, shelter over the limit) and what
the screens suggest next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy import inspect as sa_inspect

from casework.cases import codes
from casework.cases.models import Case, ContactBan, ShelterStay
from casework.cases.services.common import local_today
from casework.cases.services.province_settings import max_shelter_days, notice_hours, notice_hours_by_province
from casework.extensions import read_columns
from casework.models import one_of, utcnow


def notice_overdue(case: Case, now: datetime | None = None, hours: int | None = None) -> bool:
    """No commune notice (Law 13/2022 Art. 36) within the province's hours after the intake (open cases only).
    The hours are the project's rule, a province setting (default 24): the law sets none."""
    now = now or utcnow()
    hours = hours if hours is not None else notice_hours(case.province_code)
    return (case.commune_notified_at is None and case.is_open
            and case.intake_at + timedelta(hours=hours) < now)


@dataclass
class CaseFlags:
    notice_overdue: bool = False
    notice_hours: int = codes.NOTICE_HOURS
    ban_decision_due: bool = False
    ban_decision_overdue: bool = False
    ban_expiring: bool = False
    shelter_over_limit: bool = False

    @property
    def any(self) -> bool:
        return self.notice_overdue or self.ban_decision_due or self.ban_expiring or self.shelter_over_limit


_BAN, _STAY = ContactBan.__table__.c, ShelterStay.__table__.c


def has_bans(case_id: Any) -> Any:
    """Whether the case in the column ``case_id`` has a contact ban: a column a list's own query reads (issue 18),
    so that ``flags_for`` reads the bans of only the rows that have some (``CaseRow.has_bans``)."""
    return exists().where(_BAN.case_id == case_id)


def has_open_stay(case_id: Any) -> Any:
    """Whether the case in the column ``case_id`` has a shelter stay still running (``CaseRow.has_open_stay``)."""
    return exists().where(_STAY.case_id == case_id, _STAY.end_on.is_(None))


def _may_have(case: Any, what: str) -> bool:
    """False when the case's row says it has none of ``what`` (a ``CaseRow``); a case object may have some."""
    return bool(getattr(case, what, True))


def flags_for(cases: list[Case], now: datetime | None = None) -> dict[str, CaseFlags]:
    """Reminders for a page of cases, in three queries whatever the page size (none for bans and stays when
    the one case given has them loaded already, as the case page has, nor for rows that say they have none)."""
    now = now or utcnow()
    hours = notice_hours_by_province({c.province_code for c in cases})
    out = {c.id: CaseFlags(notice_overdue=notice_overdue(c, now, hours[c.province_code]),
                           notice_hours=hours[c.province_code]) for c in cases}
    open_cases = [c for c in cases if c.is_open]
    if not open_cases:
        return out
    loaded = _loaded_bans_and_stays(cases)
    bans: list[ContactBan] | list[_BanRow] = []
    open_stays: list[tuple[str, date]] = []
    if loaded is not None:
        bans, open_stays = loaded
    else:  # columns only: no ORM object per ban
        ids = [c.id for c in open_cases if _may_have(c, "has_bans")]
        if ids:
            bans = [_BanRow(*r) for r in read_columns(
                select(_BAN.case_id, _BAN.decision, _BAN.decision_due_at, _BAN.valid_until, _BAN.revoked_on)
                .where(one_of(_BAN.case_id, ids)))]
        ids = [c.id for c in open_cases if _may_have(c, "has_open_stay")]
        if ids:
            open_stays = [(case_id, start) for case_id, start in read_columns(
                select(_STAY.case_id, _STAY.start_on).where(one_of(_STAY.case_id, ids), _STAY.end_on.is_(None)))]
    for b in bans:
        f = out[b.case_id]
        until = b.in_force_until
        if b.decision is None:
            f.ban_decision_due = True
            f.ban_decision_overdue = f.ban_decision_overdue or b.decision_due_at < now
        elif b.decision == "granted" and until and now <= until < now + timedelta(hours=24):
            f.ban_expiring = True  # a new request is needed for protection beyond the 3 days
    if open_stays:
        province_of = {c.id: c.province_code for c in cases}
        limits: dict[str, int] = {}
        today = local_today()
        for case_id, start in open_stays:
            province = province_of[case_id]
            limit = limits.setdefault(province, max_shelter_days(province))
            if (today - start).days > limit:
                out[case_id].shelter_over_limit = True
    return out


@dataclass(slots=True)
class _BanRow:
    """The columns of a contact ban that the reminders read; ``in_force_until`` is the model's own rule."""

    case_id: str
    decision: str | None
    decision_due_at: datetime
    valid_until: datetime | None
    revoked_on: date | None

    in_force_until = vars(ContactBan)["in_force_until"]  # the same property, read on these columns


def _loaded_bans_and_stays(cases: list[Case]) -> tuple[list[ContactBan], list[tuple[str, date]]] | None:
    """The bans and open stays of one case object that has both relations loaded, as ``flags_for``'s
    queries would return them; None otherwise (rows of a list, or relations not loaded)."""
    if len(cases) != 1 or not isinstance(cases[0], Case):
        return None
    case = cases[0]
    if {"contact_bans", "shelter_stays"} & sa_inspect(case).unloaded:
        return None
    return list(case.contact_bans), [(s.case_id, s.start_on) for s in case.shelter_stays if s.end_on is None]


def suggestions(case: Case) -> list[str]:
    """What the screens suggest next: urgent referral and a contact ban when the risk is high."""
    out: list[str] = []
    if case.is_open and case.risk_level == "high":
        out.append("urgent_referral")
        if not any(b.decision is None or (b.in_force_until and b.in_force_until > utcnow()) for b in case.contact_bans):
            out.append("contact_ban")
    return out
