"""What the case page reads of a case (issue 18): the case, her address, her record and its acts, the province's
settings and which of the case's other records exist, in one statement; then only the records that exist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, bindparam, exists
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm.attributes import set_committed_value

from casework.auth.models import User
from casework.cases.extensions import case_page
from casework.cases.models import (
    Address,
    Case,
    CaseAct,
    CaseEvent,
    CaseTransfer,
    Consent,
    ContactBan,
    FollowUp,
    Person,
    ShelterStay,
)
from casework.cases.policy import cases_visible_to, scoped_statement, visible_rows_or_404
from casework.cases.services.province_settings import SETTING_COLUMNS, keep_setting, with_setting
from casework.extensions import db
from casework.loading import from_row, is_loaded, load_if_unloaded, loaded_columns


@dataclass(frozen=True, slots=True)
class CaseHas:
    """Which of the case's records the page reads by their own query exist (read with the case)."""

    consents: bool = True
    events: bool = True
    pending_move: bool = True
    probes: Mapping[str, bool] = field(default_factory=dict)  # the other domains' probes (register_case_probe)


# The case's collections the page reads through its relationships: one that is empty is set so, not read.
_COLLECTIONS = {"shelter_stays": ShelterStay.case_id, "contact_bans": ContactBan.case_id,
                "follow_ups": FollowUp.case_id}
_PROBES = (
    *(exists().where(case_id == Case.id).label(f"has_{name}") for name, case_id in _COLLECTIONS.items()),
    exists().where(Consent.case_id == Case.id).label("has_consents"),
    exists().where(CaseEvent.case_id == Case.id).label("has_events"),
    exists().where(CaseTransfer.case_id == Case.id, CaseTransfer.state == "pending").label("has_pending_move"),
)


# The page's statement: the case, her address, her record, one of her acts (a row per act, the acts in their order;
# a case without acts has one row, its act's columns NULL), the probes and the province's settings. It is Core
# (plain columns) and its rows become the session's objects (casework.loading): through the ORM, with the acts a
# joined eager load, the ORM's work on its 97 columns cost as much again as the statement (issue 18).
_ENTITIES = (Case, Address, Person, CaseAct)


@dataclass(frozen=True)
class _PageLookup:
    statement: Select[Any]
    parts: tuple[tuple[tuple[str, ...], slice], ...]  # per entity of _ENTITIES: its attribute keys, its columns


def _page_lookup(user: User, probes: Mapping[str, Any]) -> _PageLookup:
    """The page's statement for the user's scope, with the other domains' probes, the case id a parameter (built
    once per scope and app: the probes are the app's)."""
    return scoped_statement(user, "case_page", lambda: _build_page_lookup(user, probes))


def _build_page_lookup(user: User, probes: Mapping[str, Any]) -> _PageLookup:
    groups = [loaded_columns(sa_inspect(model)) for model in _ENTITIES]
    parts, start = [], 0
    for group in groups:
        parts.append((tuple(key for key, _column in group), slice(start, start + len(group))))
        start += len(group)
    columns = [column for group in groups for _key, column in group]
    statement = with_setting(
        cases_visible_to(user).with_only_columns(*columns, *_PROBES, *probes.values(), *SETTING_COLUMNS)
        .select_from(Case).join(Case.address).join(Case.person).outerjoin(Case.acts),
        Case.province_code).where(Case.id == bindparam("case_id")).order_by(CaseAct.position)
    return _PageLookup(statement, tuple(parts))


def get_case_page_or_404(user: User, case_id: str) -> tuple[Case, CaseHas]:
    """The case (404 out of her scope, as ``get_case_or_404``) with her address, her record and its acts, and which
    of its records exist; the province's settings are kept for the request, and the collections found empty are
    set empty."""
    probes = case_page().probes
    lookup = _page_lookup(user, probes)
    rows = visible_rows_or_404(lookup.statement, "case", case_id, "case_id")
    row = rows[0]
    (case_keys, case_at), (address_keys, address_at), (person_keys, person_at), (act_keys, act_at) = lookup.parts
    case = from_row(Case, case_keys, row[case_at])
    load_if_unloaded(case, "address", from_row(Address, address_keys, row[address_at]))
    load_if_unloaded(case, "person", from_row(Person, person_keys, row[person_at]))
    acts = [from_row(CaseAct, act_keys, r[act_at]) for r in rows if r[act_at.start] is not None]
    load_if_unloaded(case, "acts", acts)
    db.session.add(case)  # and, by cascade, her address, record and acts: persistent, nothing to write
    for name in _COLLECTIONS:
        if not is_loaded(case, name) and not row._mapping[f"has_{name}"]:
            set_committed_value(case, name, [])
    keep_setting(case.province_code, row.max_shelter_days, row.notice_hours)
    return case, CaseHas(consents=bool(row.has_consents), events=bool(row.has_events),
                         pending_move=bool(row.has_pending_move),
                         probes={name: bool(row._mapping[f"probe_{name}"]) for name in probes})
