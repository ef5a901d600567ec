"""Lists of referrals, those past their acknowledgement deadline first, with the audit of what was read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, not_, tuple_

from casework import paging
from casework.auth.models import User
from casework.extensions import db
from casework.models import utcnow
from casework.protect import audit
from referral.models import Referral
from referral.policy import referrals_visible_to

PAGE_SIZE = 50


@dataclass
class ReferralPage:
    items: list[Referral]
    next_cursor: str | None
    overdue: list[Referral] = field(default_factory=list)


def encode_cursor(referral: Referral) -> str:
    return paging.encode_cursor(referral.open_rank, referral.sent_at, referral.id)


def _overdue_condition(now: datetime):
    return and_(Referral.state == "sent", Referral.ack_due_at < now)


def list_referrals(user: User, *, state: str | None = None, case: Any = None, after: str | None = None,
                   limit: int = PAGE_SIZE, now: datetime | None = None, overdue_first: bool = True,
                   only_overdue: bool = False) -> ReferralPage:
    """One page of the user's referrals: waiting for an answer first, then accepted, then finished, newest first.

    With ``overdue_first`` the first page also lists, apart and before everything else, the referrals
    past their acknowledgement deadline (issue 5), earliest deadline first; the main list leaves them out.
    """
    now = now or utcnow()
    q = referrals_visible_to(user)
    if case is not None:
        q = q.where(Referral.case_id == case.id)
    if state:
        q = q.where(Referral.state == state)
    if only_overdue:
        q, overdue_first = q.where(_overdue_condition(now)), False
    overdue: list[Referral] = []
    if overdue_first:
        if after is None and state in (None, "sent"):
            overdue = list(db.session.scalars(q.where(_overdue_condition(now))
                                              .order_by(Referral.ack_due_at, Referral.id).limit(200)))
        q = q.where(not_(_overdue_condition(now)))
    if after:
        rank, when, referral_id = paging.decode_cursor(after, int, datetime, str)
        q = q.where(tuple_(Referral.open_rank, Referral.sent_at, Referral.id) < tuple_(rank, when, referral_id))
    rows = list(db.session.scalars(q.order_by(Referral.open_rank.desc(), Referral.sent_at.desc(), Referral.id.desc())
                                   .limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return ReferralPage(rows[:limit], next_cursor, overdue)


def record_list(user: User, shown: int) -> None:
    audit.record("referral_list", object_type="referral", actor=user, detail=f"rows:{shown}")


def record_view(user: User, referral: Referral, fields: Iterable[str]) -> None:
    """Every view of a referral is an event with the names of the fields shown, never their values."""
    audit.record("referral_view", object_type="referral", object_id=referral.id, actor=user, fields=list(fields))


def case_referrals(user: User, case: Any) -> list[Referral]:
    """Every referral of a case the user may see, newest first (for the case page)."""
    q = referrals_visible_to(user).where(Referral.case_id == case.id)
    return list(db.session.scalars(q.order_by(Referral.sent_at.desc(), Referral.id.desc()).limit(200)))
