"""The trusted-address work of the queue (issue 13): what a host and a commune officer must do next.

Each provider is one indexed query over the user's cases (``case_scope``) that finds the cases whose work
is open; the deadline comes from the law (Law 13/2022 Art. 25 and 36) or a province setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework.auth.models import User
from casework.auth.roles import Role
from casework.cases import codes
from casework.cases.models import OPEN_PRIORITY, Case, CaseTransfer, ContactBan, ShelterStay
from casework.cases.policy import case_scope, place_scope
from casework.extensions import db
from casework.models import utcnow
from casework.work import Provider, Row, add_provider, day_start, keyset, keyset_days

WORKERS = frozenset({Role.HOST.value, Role.COMMUNE_OFFICER.value})
OFFICERS = frozenset({Role.COMMUNE_OFFICER.value})
# Project rule, not a law: the commune officer answers a closure request within three days.
CLOSURE_DECISION_DAYS = 3
# A ban "ends soon" from this long before its last day: a new request is needed to keep her protected.
BAN_ENDING_NOTICE = timedelta(hours=24)
# A follow-up date is met by 23:59 that day (Vietnam's time); the item is late from the next day.
FOLLOW_UP_DUE_IN_DAY = timedelta(hours=23, minutes=59)


def _open(user: User) -> Any:
    # The open cases of her scope as one range of a list index (scope, priority…), read without the table:
    # ``priority >= OPEN_PRIORITY`` is "status is open" (``priority_of``). The work rows are then probed per
    # case in small partial indexes (pending bans, running stays), so the cost is that of the open cases'
    # index entries, not of every case and its table row.
    return case_scope(user), Case.priority >= OPEN_PRIORITY


def _here(user: User, model: type[ShelterStay] | type[ContactBan]) -> Any:
    # The same scope as ``case_scope`` on the work row's own copy of the case's place, so the query starts
    # from the scope's few open items in a partial index; ``case_scope`` is applied again on the case.
    return place_scope(user, model.address_id, model.commune_code)


def _notice_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool, limit: int) -> Sequence[Row]:
    # Read through the partial index of the cases without the notice (few), in intake order.
    q = (select(Case.intake_at, Case.id, Case.reference)
         .where(case_scope(user), Case.commune_notified_at.is_(None), Case.status.in_(codes.OPEN_STATUSES),
                keyset(Case.intake_at, Case.id, after, inclusive))
         .order_by(Case.intake_at, Case.id).limit(limit))
    return [Row(at, case_id, ref, (("case_id", case_id),)) for at, case_id, ref in db.session.execute(q)]


def _ban_decision_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool,
                       limit: int) -> Sequence[Row]:
    q = (select(ContactBan.decision_due_at, ContactBan.id, Case.id, Case.reference)
         .join(Case, Case.id == ContactBan.case_id)
         .where(_here(user, ContactBan), *_open(user), ContactBan.decision.is_(None),
                keyset(ContactBan.decision_due_at, ContactBan.id, after, inclusive))
         .order_by(ContactBan.decision_due_at, ContactBan.id).limit(limit))
    return [Row(due, ban_id, ref, (("case_id", case_id), ("ban_id", ban_id)))
            for due, ban_id, case_id, ref in db.session.execute(q)]


def _ban_ending_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool,
                     limit: int) -> Sequence[Row]:
    now = utcnow()
    q = (select(ContactBan.valid_until, ContactBan.id, Case.id, Case.reference)
         .join(Case, Case.id == ContactBan.case_id)
         .where(_here(user, ContactBan), *_open(user), ContactBan.decision == "granted",
                ContactBan.revoked_on.is_(None),
                ContactBan.valid_until > now,
                ContactBan.valid_until <= now + BAN_ENDING_NOTICE,
                keyset(ContactBan.valid_until, ContactBan.id, after, inclusive))
         .order_by(ContactBan.valid_until, ContactBan.id).limit(limit))
    # The queries exclude NULL dates; the conditions below tell the type checker so.
    return [Row(until, ban_id, ref, (("case_id", case_id),)) for until, ban_id, case_id, ref in db.session.execute(q)
            if until is not None]


def _shelter_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool, limit: int) -> Sequence[Row]:
    q = (select(ShelterStay.start_on, ShelterStay.id, Case.id, Case.reference)
         .join(Case, Case.id == ShelterStay.case_id)
         .where(_here(user, ShelterStay), *_open(user), ShelterStay.end_on.is_(None),
                keyset_days(ShelterStay.start_on, ShelterStay.id, after, inclusive))
         .order_by(ShelterStay.start_on, ShelterStay.id).limit(limit))
    return [Row(day_start(start), stay_id, ref, (("case_id", case_id), ("stay_id", stay_id)))
            for start, stay_id, case_id, ref in db.session.execute(q)]


def _shelter_delay(user: User) -> timedelta:
    from casework.cases.services import max_shelter_days

    province = getattr(user, "province_code", None)
    days = max_shelter_days(province) if province else codes.DEFAULT_MAX_SHELTER_DAYS
    return timedelta(days=days + 1)  # past the maximum: the first day beyond the last allowed night


def _follow_up_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool,
                    limit: int) -> Sequence[Row]:
    """Open cases whose next follow-up is due within ``codes.FOLLOW_UP_NOTICE_DAYS`` days or late.

    ``Case.follow_up_due_on`` is the newest follow-up's next date (or the intake's default), so the item goes
    away as soon as a newer follow-up is recorded; the indexes ``ix_case_address_follow_up`` and
    ``ix_case_commune_follow_up`` answer it in the order of the queue."""
    from casework.cases.services import local_today

    horizon = local_today() + timedelta(days=codes.FOLLOW_UP_NOTICE_DAYS)
    q = (select(Case.follow_up_due_on, Case.id, Case.reference)
         .where(*_open(user), Case.follow_up_due_on.is_not(None), Case.follow_up_due_on <= horizon,
                keyset_days(Case.follow_up_due_on, Case.id, after, inclusive))
         .order_by(Case.follow_up_due_on, Case.id).limit(limit))
    return [Row(day_start(day), case_id, ref, (("case_id", case_id),)) for day, case_id, ref in db.session.execute(q)
            if day is not None]


def _notice_delay(user: User) -> timedelta:
    """The province's hours for the commune notice (a project rule, default 24; Law 13/2022 Art. 36 sets none)."""
    from casework.cases.services import notice_hours

    province = getattr(user, "province_code", None)
    return timedelta(hours=notice_hours(province) if province else codes.NOTICE_HOURS)


def _closure_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool, limit: int) -> Sequence[Row]:
    q = (select(Case.closure_requested_at, Case.id, Case.reference)
         .where(case_scope(user), Case.status == "closure_requested", Case.closure_requested_at.is_not(None),
                keyset(Case.closure_requested_at, Case.id, after, inclusive))
         .order_by(Case.closure_requested_at, Case.id).limit(limit))
    return [Row(at, case_id, ref, (("case_id", case_id),)) for at, case_id, ref in db.session.execute(q)
            if at is not None]


def _transfer_rows(user: User, after: tuple[datetime, str] | None, inclusive: bool, limit: int) -> Sequence[Row]:
    commune = getattr(user, "commune_code", None) or ""
    q = (select(CaseTransfer.requested_at, CaseTransfer.id, Case.reference)
         .join(Case, Case.id == CaseTransfer.case_id)
         .where(CaseTransfer.to_commune_code == commune, CaseTransfer.state == "pending",
                keyset(CaseTransfer.requested_at, CaseTransfer.id, after, inclusive))
         .order_by(CaseTransfer.requested_at, CaseTransfer.id).limit(limit))
    return [Row(at, tid, ref, (("transfer_id", tid),)) for at, tid, ref in db.session.execute(q)]


def register(app: Flask) -> None:
    for provider in (
        # Law 13/2022 Art. 36: a trusted address notifies the commune People's Committee of each intake; the
        # number of hours is the project's rule, a province setting (default codes.NOTICE_HOURS), not the law's.
        Provider("commune_notice", "case", WORKERS, _l("Notify the commune People's Committee"), "cases.view",
                 _notice_rows, _notice_delay),
        # Art. 25: the commune chair decides a contact-ban request within 12 hours.
        Provider("contact_ban_decision", "contact_ban", WORKERS, _l("Record the contact-ban decision"),
                 "cases.contact_ban_decision", _ban_decision_rows, lambda user: timedelta(0)),
        Provider("contact_ban_ending", "contact_ban", WORKERS, _l("A contact ban ends: ask for a new one if needed"),
                 "cases.view", _ban_ending_rows, lambda user: timedelta(0)),
        Provider("shelter_over_limit", "shelter_stay", WORKERS,
                 _l("Shelter stay reaches the province's maximum nights"), "cases.shelter", _shelter_rows,
                 _shelter_delay),
        # Project rule (codes.FOLLOW_UP_DAYS): the next follow-up is due by the end of its day.
        Provider("follow_up_due", "case", WORKERS, _l("Follow up with her: a visit or a call"),
                 "cases.follow_up_new", _follow_up_rows, lambda user: FOLLOW_UP_DUE_IN_DAY),
        # Project rule: the receiving commune answers a move within two days.
        Provider("transfer_decision", "case_transfer", OFFICERS, _l("Accept or decline a case moved to your commune"),
                 "transfers.view", _transfer_rows, lambda user: timedelta(days=2)),
        Provider("closure_decision", "case", OFFICERS, _l("Decide the closure request"), "cases.closure_decision",
                 _closure_rows, lambda user: timedelta(days=CLOSURE_DECISION_DAYS)),
    ):
        add_provider(app, provider)
