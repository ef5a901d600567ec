"""The referral work of the queue (issue 13): answers a receiving organisation owes, and late answers the
sender side must chase. Deadlines are the service types' acknowledgement deadlines (``ack_due_at``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework.auth.models import User
from casework.auth.roles import Role
from casework.cases.models import Case
from casework.cases.policy import case_scope
from casework.extensions import db
from casework.models import utcnow
from casework.work import Provider, Row, add_provider, keyset
from referral.models import Referral


def _answer_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool, limit: int) -> Sequence[Row]:
    organisation = getattr(user, "organisation_id", None)
    if not organisation:
        return []
    q = (select(Referral.ack_due_at, Referral.id, Referral.reference)
         .where(Referral.organisation_id == organisation, Referral.state == "sent",
                keyset(Referral.ack_due_at, Referral.id, after, inclusive))
         .order_by(Referral.ack_due_at, Referral.id).limit(limit))
    return [Row(due, rid, ref, (("referral_id", rid),)) for due, rid, ref in db.session.execute(q)]


def _late_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool, limit: int) -> Sequence[Row]:
    # The sender side reads the case's code, never the referral's (the receiver's reference).
    q = (select(Referral.ack_due_at, Referral.id, Case.reference)
         .join(Case, Case.id == Referral.case_id)
         .where(case_scope(user), Referral.state == "sent", Referral.ack_due_at < utcnow(),
                keyset(Referral.ack_due_at, Referral.id, after, inclusive))
         .order_by(Referral.ack_due_at, Referral.id).limit(limit))
    return [Row(due, rid, ref, (("referral_id", rid),)) for due, rid, ref in db.session.execute(q)]


def register(app: Flask) -> None:
    add_provider(app, Provider("referral_answer", "referral", frozenset({Role.SERVICE_PROVIDER.value}),
                               _l("Accept or decline the referral"), "referral.view", _answer_rows,
                               lambda user: timedelta(0)))
    add_provider(app, Provider("referral_unanswered", "referral",
                               frozenset({Role.HOST.value, Role.COMMUNE_OFFICER.value}),
                               _l("The referral was not answered in time: call the organisation"), "referral.view",
                               _late_rows, lambda user: timedelta(0)))


def open_referrals(case: Case) -> list[Any]:
    """The case's referrals still open (sent or accepted), for the closure check (issue 13)."""
    from casework.cases.closure import OpenItem

    rows = db.session.scalars(select(Referral.id).where(Referral.case_id == case.id,
                                                        Referral.state.in_(("sent", "accepted"))))
    return [OpenItem("referral_open", "referral", rid, _l("A referral is still open (not completed or declined)."))
            for rid in rows]


def register_closure_check(app: Flask) -> None:
    from casework.cases.closure import add_open_items_hook

    add_open_items_hook(app, open_referrals)
