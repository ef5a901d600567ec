"""Lists and search of cases, each user's scope (``cases_visible_to``), with the audit of what was read."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import DateTime, Integer, String, bindparam, select, tuple_
from sqlalchemy.orm import lazyload, raiseload

from casework import paging
from casework.auth.models import User
from casework.cases import codes
from casework.cases.models import Address, Case, Person
from casework.cases.policy import can_see_identity, cases_visible_to, scoped_statement
from casework.cases.schemas import CaseFiltersIn, CaseScreenFilters
from casework.cases.services.flags import has_bans, has_open_stay
from casework.cases.services.province_settings import SETTING_COLUMNS, keep_setting, with_setting
from casework.errors import NotFound, ValidationError
from casework.extensions import db, read_columns
from casework.protect import audit
from casework.protect.fields import ProtectedMixin, blind_lookup, search_with
from casework.text import VN_TZ, nfc

PAGE_SIZE = 50


NO_FILTERS = CaseFiltersIn.model_validate({})


@dataclass
class Page:
    items: list[Case]
    next_cursor: str | None


def encode_cursor(case: Case) -> str:
    return paging.encode_cursor(case.priority, case.intake_at, case.id)


def _filtered(user: User, filters: CaseFiltersIn):
    q = cases_visible_to(user)
    if filters.status in codes.STATUSES:
        q = q.where(Case.status == filters.status)
    if filters.risk in codes.RISK_LEVELS:
        q = q.where(Case.risk_level == filters.risk)
    if filters.form in codes.FORMS:
        q = q.where(getattr(Case, f"form_{filters.form}").is_(True))
    if filters.period_from:
        q = q.where(Case.intake_at >= datetime.combine(filters.period_from, datetime.min.time(), tzinfo=VN_TZ))
    if filters.period_to:
        end = datetime.combine(filters.period_to + timedelta(days=1), datetime.min.time(), tzinfo=VN_TZ)
        q = q.where(Case.intake_at < end)
    if isinstance(filters, CaseScreenFilters) and filters.address_id:
        q = q.where(Case.address_id == filters.address_id)
    return q


@dataclass(slots=True)
class CaseRow:
    """One row of a screen's case list, read column by column (issue 18: no ORM object per case, nothing
    the row does not show): what the row, its reminders (``flags_for``) and the next page's cursor use."""

    id: str
    reference: str
    address_id: str
    province_code: str
    intake_at: datetime
    status: str
    risk_level: str
    priority: int
    commune_notified_at: datetime | None
    address_name: str
    full_name: str | None
    # Whether it has a contact ban, a shelter stay still running: ``flags_for`` reads those of these rows only.
    has_bans: bool = True
    has_open_stay: bool = True

    @property
    def is_open(self) -> bool:
        return self.status in codes.OPEN_STATUSES


class _SealedName:
    """Just enough of a ``Person`` to decrypt her name with the model's own code (same data key, same
    associated data), from columns read without the ORM."""

    __tablename__ = Person.__tablename__
    _where = ProtectedMixin._where
    _data_key = ProtectedMixin._data_key
    _aad = ProtectedMixin._aad
    _decrypt = ProtectedMixin._decrypt

    def __init__(self, person_id: str, dek_wrapped: bytes | None, kek_version: int | None, dek_version: int) -> None:
        self.id, self.dek_wrapped, self.kek_version, self.dek_version = person_id, dek_wrapped, kek_version, dek_version


_ROW_COLUMNS = (Case.id, Case.reference, Case.address_id, Case.province_code, Case.intake_at, Case.status,
                Case.risk_level, Case.priority, Case.commune_notified_at, Address.name)
# What the rows' reminders need, read by the rows' own query (issue 18: no statement of their own when a case
# has no ban nor running stay, and none for the province's settings).
_FLAG_COLUMNS = (has_bans(Case.id).label("has_bans"), has_open_stay(Case.id).label("has_open_stay"), *SETTING_COLUMNS)
_NAME_COLUMNS = (Person.id, Person.full_name_ct, Person.dek_wrapped, Person.kek_version, Person.dek_version)


def _rows_query(user: User, filters: CaseFiltersIn, *more: Any) -> Any:
    """The user's cases (``filters`` applied) as the columns of a ``CaseRow`` and its reminders, then ``more``."""
    q = _filtered(user, filters).with_only_columns(*_ROW_COLUMNS, *_FLAG_COLUMNS, *more) \
        .join(Address, Address.id == Case.address_id)
    return with_setting(q, Case.province_code)


def _keep_settings(rows: Sequence[Any]) -> None:
    """The settings of the provinces of rows of ``_rows_query``, kept for the request's reminders."""
    for r in {r.province_code: r for r in rows}.values():
        keep_setting(r.province_code, r.max_shelter_days, r.notice_hours)


def _case_row(r: Any, full_name: str | None) -> CaseRow:
    """The ``CaseRow`` of a row of ``_rows_query``."""
    return CaseRow(r.id, r.reference, r.address_id, r.province_code, r.intake_at, r.status, r.risk_level, r.priority,
                   r.commune_notified_at, r.name, full_name, bool(r.has_bans), bool(r.has_open_stay))


# The next page's cursor, as parameters (of the types SQLAlchemy gives the values themselves).
_AFTER = tuple_(bindparam("after_priority", type_=Integer()),
                bindparam("after_intake_at", type_=DateTime(timezone=True)), bindparam("after_id", type_=String()))


# The people a search found, as one parameter (a statement built once takes any number of them).
_PERSON_IDS: Any = bindparam("person_ids", expanding=True)

# Every filter a list may carry (the screen's are the API's and her address): read from the schema, so that a
# filter added there can never be left out of a statement kept for the unfiltered list.
_FILTER_FIELDS = tuple(CaseScreenFilters.model_fields)


def _no_filter(filters: CaseFiltersIn) -> bool:
    return not any(getattr(filters, name, None) for name in _FILTER_FIELDS)


def _rows_page_query(user: User, filters: CaseFiltersIn, paged: bool, limit: int) -> Any:
    """A page of ``list_case_rows``; after the cursor in ``_AFTER``'s parameters when ``paged``."""
    q = _rows_query(user, filters, *_NAME_COLUMNS).join(Person, Person.id == Case.person_id)
    if paged:
        q = q.where(tuple_(Case.priority, Case.intake_at, Case.id) < _AFTER)
    return q.order_by(Case.priority.desc(), Case.intake_at.desc(), Case.id.desc()).limit(limit + 1)


def list_case_rows(user: User, filters: CaseFiltersIn = NO_FILTERS, after: str | None = None,
                   limit: int = PAGE_SIZE) -> Page:
    """``list_cases`` for the screen of a user who sees identity: the same scope, order and cursor, one
    query of the columns shown, and each name decrypted once."""
    if not can_see_identity(user):
        raise NotFound(_("Not found."))
    params: dict[str, Any] = {}
    if after:
        priority, when, case_id = paging.decode_cursor(after, int, datetime, str)
        params = {"after_priority": priority, "after_intake_at": when, "after_id": case_id}

    def build() -> Any:
        return _rows_page_query(user, filters, bool(after), limit)

    # The list as it opens (no filter) is built once per scope; a filtered one for each request, as before.
    q = scoped_statement(user, "case_rows", build, bool(after), limit) if _no_filter(filters) else build()
    rows = []
    found = read_columns(q, params, built_once=_no_filter(filters)).all()
    _keep_settings(found)
    for r in found:
        person_id, name_ct, *key = r[-len(_NAME_COLUMNS):]
        sealed = _SealedName(person_id, *key)
        # _SealedName stands in for a Person (see above).
        name = None if name_ct is None else sealed._decrypt("full_name_ct", name_ct)  # type: ignore[misc]
        rows.append(_case_row(r, name))
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None  # type: ignore[arg-type]
    return Page(rows[:limit], next_cursor)  # type: ignore[arg-type]


def list_cases(user: User, filters: CaseFiltersIn = NO_FILTERS, after: str | None = None,
               limit: int = PAGE_SIZE) -> Page:
    """One page of the user's cases, most urgent first: open before closed, high risk first, newest first.

    Keyset pagination on (priority, intake_at, id), all descending, so a page costs the same at any depth.
    For a user who may not see identity the person is not even loaded: touching it raises.
    """
    q = _filtered(user, filters).options(lazyload(Case.acts))
    if not can_see_identity(user):
        q = q.options(raiseload(Case.person))
    if after:
        priority, when, case_id = paging.decode_cursor(after, int, datetime, str)
        q = q.where(tuple_(Case.priority, Case.intake_at, Case.id) < tuple_(priority, when, case_id))
    q = q.order_by(Case.priority.desc(), Case.intake_at.desc(), Case.id.desc()).limit(limit + 1)
    rows = list(db.session.scalars(q))
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return Page(rows[:limit], next_cursor)


def search_cases(user: User, query: str, filters: CaseFiltersIn = NO_FILTERS, limit: int = PAGE_SIZE) -> list[Case]:
    """Cases whose person's name or phone matches, through the blind index; only for users who see identity.

    The search is audited with the number of results, never the term (DESIGN §3.3–3.4).
    """
    field_, people = _matching_people(user, query, filters, limit, "cases")
    found: list[Case] = []
    if people:

        def build() -> Any:
            return _filtered(user, filters).where(Case.person_id.in_(_PERSON_IDS)) \
                .order_by(Case.priority.desc(), Case.intake_at.desc(), Case.id.desc())

        q = scoped_statement(user, "case_search", build) if _no_filter(filters) else build()
        found = list(db.session.scalars(q, {"person_ids": [p.id for p in people]}))
    return _searched(user, field_, found, limit)


def search_case_rows(user: User, query: str, filters: CaseFiltersIn = NO_FILTERS,
                     limit: int = PAGE_SIZE) -> list[CaseRow]:
    """``search_cases`` for the screen: the same matches, order and audit event, the people read with only the
    columns that decrypt their name and the searched field, the cases as rows of the columns shown (issue 18)."""
    field_, people = _matching_people(user, query, filters, limit, "rows")
    found: list[CaseRow] = []
    if people:
        by_id = {p.id: p for p in people}

        def build() -> Any:
            return _rows_query(user, filters, Case.person_id).where(Case.person_id.in_(_PERSON_IDS)) \
                .order_by(Case.priority.desc(), Case.intake_at.desc(), Case.id.desc())

        q = scoped_statement(user, "case_search_rows", build) if _no_filter(filters) else build()
        read = read_columns(q, {"person_ids": list(by_id)}, built_once=_no_filter(filters)).all()
        _keep_settings(read)
        found = [_case_row(r, by_id[r.person_id].full_name) for r in read]
    return _searched(user, field_, found, limit)


def _searched[T: (Case, CaseRow)](user: User, field_: str, found: list[T], limit: int) -> list[T]:
    """A search's answer: its event (the field searched and the number of results, never the term) and the
    first ``limit`` cases."""
    audit.record("case_search", object_type="case", actor=user, detail=f"results:{len(found)}", fields=[field_])
    return found[:limit]


def field_of(query: str) -> str:
    """The protected field a search term is looked up in: a phone number, or else a name."""
    query = nfc(query or "")[:100]
    digits = re.sub(r"\D", "", query)
    return "phone" if digits and len(digits) >= 6 and not re.search(r"[^\d\s+().-]", query) else "full_name"


def _person_columns(field_: str) -> tuple[Any, ...]:
    """What a row of the search's screen reads of a person: her name, the searched field, her data key."""
    return (Person.id, Person.full_name_ct, getattr(Person, f"{field_}_ct"), Person.dek_wrapped, Person.kek_version,
            Person.dek_version)


def _matching_people(user: User, query: str, filters: CaseFiltersIn, limit: int,
                     read: str) -> tuple[str, list[Person]]:
    """The searched field and the people in the user's scope whose value of it matches ``query``; ``read``:
    ``"rows"`` loads only ``_person_columns``, ``"cases"`` the whole person."""
    if not can_see_identity(user):
        raise NotFound(_("Not found."))
    query = nfc(query or "")[:100]
    if not query:
        raise ValidationError(_("Please correct the marked fields."), {"q": [_("Enter a name or a phone number.")]})
    field_ = field_of(query)
    lookup = blind_lookup(Person, field_, query, _user_provinces(user))

    def build() -> Any:
        scoped_ids = _filtered(user, filters).with_only_columns(Case.person_id)
        q = select(*_person_columns(field_)) if read == "rows" else select(Person)
        return q.where(Person.id.in_(lookup.candidates(within=scoped_ids)))

    # Without a filter, built once per scope and look-up shape (the provinces searched, how many words, the index
    # versions): the term reaches the statement only as its words' index values, bound at execution.
    if _no_filter(filters):
        statement = scoped_statement(user, "search_people", build, read, field_, lookup.shape)
    else:
        statement = build()
    return field_, search_with(lookup, query, statement, limit=limit, columns=read == "rows")


def _user_provinces(user: User) -> list[str]:
    if user.role == "host":
        return sorted({a.province_code for a in user.addresses})
    return [user.province_code] if user.province_code else []


def record_view(user: User, case: Case, fields: Iterable[str], action: str = "case_view") -> None:
    """Every view of a person's record is an event with the names of the fields shown, never their values."""
    audit.record(action, object_type="case", object_id=case.id, actor=user, fields=list(fields))


def record_list(user: User, shown: list[Case], fields: Iterable[str]) -> None:
    audit.record("case_list", object_type="case", actor=user, detail=f"rows:{len(shown)}", fields=list(fields))
