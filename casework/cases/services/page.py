"""What the case page reads of a case (issue 18): the case, her record and its acts, the province's settings and
which of the case's other records exist, in one statement; then only the records that exist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, bindparam, exists
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from casework.auth.models import User
from casework.cases.extensions import case_page
from casework.cases.models import Case, CaseEvent, CaseTransfer, Consent, ContactBan, FollowUp, ShelterStay
from casework.cases.policy import cases_visible_to, scoped_statement, visible_row_or_404
from casework.cases.services.province_settings import SETTING_COLUMNS, keep_setting, with_setting


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


def _page_statement(user: User, probes: Mapping[str, Any]) -> Select[Any]:
    """The page's statement for the user's scope, with the other domains' probes, the case id a parameter (built
    once per scope and app: the probes are the app's)."""
    return scoped_statement(user, "case_page", lambda: with_setting(
        cases_visible_to(user).options(joinedload(Case.acts)).add_columns(*_PROBES, *probes.values(), *SETTING_COLUMNS),
        Case.province_code).where(Case.id == bindparam("case_id")))


def get_case_page_or_404(user: User, case_id: str) -> tuple[Case, CaseHas]:
    """The case (404 out of her scope, as ``get_case_or_404``) with its acts, and which of its records exist;
    the province's settings are kept for the request, and the collections found empty are set empty."""
    probes = case_page().probes
    row = visible_row_or_404(_page_statement(user, probes), Case, "case", case_id, by_parameter="case_id")
    case: Case = row[0]
    unloaded = sa_inspect(case).unloaded
    for name in _COLLECTIONS:
        if name in unloaded and not row._mapping[f"has_{name}"]:
            set_committed_value(case, name, [])
    keep_setting(case.province_code, row.max_shelter_days, row.notice_hours)
    return case, CaseHas(consents=bool(row.has_consents), events=bool(row.has_events),
                         pending_move=bool(row.has_pending_move),
                         probes={name: bool(row._mapping[f"probe_{name}"]) for name in probes})
