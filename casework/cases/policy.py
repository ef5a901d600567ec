"""Who sees which trusted address and which case (DESIGN §1, STYLE rule 4).

Every list of cases goes through ``cases_visible_to(user)`` and every single case through
``get_case_or_404(user, case_id)``; the same holds for addresses. A record outside the user's scope
answers 404 exactly like a missing one, and the refusal is kept in the audit trail.

| role             | cases                                 | identity | may work the case                 |
|------------------|---------------------------------------|----------|-----------------------------------|
| host             | cases of her addresses                | yes      | yes                               |
| commune_officer  | cases of the addresses of her commune | yes      | yes, and decides closures         |
| province_officer | cases of her province                 | **no**   | no (codes, dates, status, forms)  |
| everyone else    | none                                  | –        | –                                 |
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from flask import current_app
from sqlalchemy import Row, Select, false, select

from casework.auth.models import User
from casework.auth.policy import deny
from casework.auth.roles import Role
from casework.cases.models import Address, Case
from casework.extensions import db, read_columns
from casework.models import ID_LENGTH

_OPAQUE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CASE_ROLES = (Role.HOST, Role.COMMUNE_OFFICER, Role.PROVINCE_OFFICER)
WORKER_ROLES = (Role.HOST, Role.COMMUNE_OFFICER)
ADDRESS_READERS = (Role.HOST, Role.COMMUNE_OFFICER, Role.PROVINCE_OFFICER, Role.ADMIN)
ADDRESS_MANAGERS = (Role.COMMUNE_OFFICER, Role.ADMIN)


def _role(user: User) -> str:
    return str(getattr(user, "role", ""))


def place_scope(user: User, address_id: Any, commune_code: Any, province_code: Any = None) -> Any:
    """The user's scope over any table that carries a case's place (``province_code`` None: no province
    officer reads it); ``case_scope`` is this over ``Case``."""
    role = _role(user)
    if role == Role.HOST:
        ids = list(user.address_ids)
        return address_id.in_(ids) if ids else false()
    if role == Role.COMMUNE_OFFICER and user.commune_code:
        return commune_code == user.commune_code
    if role == Role.PROVINCE_OFFICER and user.province_code and province_code is not None:
        return province_code == user.province_code
    return false()


def scope_key(user: User) -> tuple[str, tuple[str, ...], str | None, str | None]:
    """Everything of the user that ``place_scope`` reads: two users with the same key get the same condition,
    so a statement built for one may be reused for the other (the case page's, issue 18). A new input of
    ``place_scope`` must be added here."""
    return _role(user), tuple(user.address_ids), user.commune_code, user.province_code


# Statements built once per scope and shape, then reused with their parameters (issue 18: built for each
# request, their construction and SQLAlchemy's cache key of them cost a few tenths of a millisecond per page).
# Kept by the app (a statement may hold columns the app's domains registered, such as the case page's probes).
# Emptied when full: a national deployment has a few thousand scopes, each statement a few kilobytes.
_MAX_SCOPED_STATEMENTS = 4096


def scoped_statement[S](user: User, name: str, build: Callable[[], S], *shape: object) -> S:
    """The statement ``build()`` makes for this user, built once per ``scope_key`` (and ``shape``: whatever else
    decides how it is built). ``build`` may depend on nothing of the user but what ``scope_key`` covers."""
    key = (name, scope_key(user), *shape)
    built: dict[tuple[object, ...], Any] = current_app.extensions.setdefault("scoped_statements", {})
    statement: S | None = built.get(key)
    if statement is None:
        statement = build()
        if len(built) >= _MAX_SCOPED_STATEMENTS:
            built.clear()
        built[key] = statement
    return statement


def case_scope(user: User) -> Any:
    """The SQL condition that limits ``Case`` rows to the user's scope (false for roles without cases)."""
    return place_scope(user, Case.address_id, Case.commune_code, Case.province_code)


def cases_visible_to(user: User) -> Select[Case]:
    """A select of the cases the user may see; add filters and order to it, never remove the scope."""
    return select(Case).where(case_scope(user))


def deny_not_found(object_type: str, object_id: str | None) -> NoReturn:
    # Only an id of the expected shape enters the audit trail: whatever else was typed may be anything.
    deny(object_type, object_id if object_id and _OPAQUE.match(object_id) else None)
    raise AssertionError("deny() always aborts")  # pragma: no cover


def _may_exist(object_id: str) -> bool:
    return bool(object_id and _OPAQUE.match(object_id) and len(object_id) <= ID_LENGTH)


def _visible_or_404(visible: Any, model: Any, object_type: str, object_id: str) -> Any:
    """The row of ``visible`` with this id; otherwise 404 and an ``access_denied`` audit event."""
    found = db.session.scalar(visible.where(model.id == object_id)) if _may_exist(object_id) else None
    if found is None:
        deny_not_found(object_type, object_id)
    return found


def visible_rows_or_404(visible: Select[Any], object_type: str, object_id: str, parameter: str) -> Sequence[Row[Any]]:
    """The rows of ``visible``, a select of plain columns (``read_columns``) that finds one object of the user's
    scope by its id through the bound parameter ``parameter`` (a statement built once, reused): one row, or one per
    row of a collection joined to it. None: 404 and an ``access_denied`` audit event, as ``_visible_or_404``."""
    rows = read_columns(visible, {parameter: object_id}, built_once=True).all() if _may_exist(object_id) else []
    if not rows:
        deny_not_found(object_type, object_id)
    return rows


def get_case_or_404(user: User, case_id: str) -> Case:
    """The case if the user may see it; otherwise 404 and an ``access_denied`` audit event."""
    return _visible_or_404(cases_visible_to(user), Case, "case", case_id)


def can_see_identity(user: User, case: Case | None = None) -> bool:
    """Hosts and commune officers see who she is; a province officer never does (DESIGN §1)."""
    return _role(user) in (Role.HOST, Role.COMMUNE_OFFICER)


def can_work_case(user: User, case: Case) -> bool:
    return _role(user) in WORKER_ROLES


def can_decide_closure(user: User, case: Case) -> bool:
    return _role(user) == Role.COMMUNE_OFFICER and user.commune_code == case.commune_code


def address_scope(user: User) -> Any:
    role = _role(user)
    if role == Role.ADMIN:
        return Address.id.is_not(None)
    if role == Role.HOST:
        ids = list(user.address_ids)
        return Address.id.in_(ids) if ids else false()
    if role == Role.COMMUNE_OFFICER and user.commune_code:
        return Address.commune_code == user.commune_code
    if role == Role.PROVINCE_OFFICER and user.province_code:
        return Address.province_code == user.province_code
    return false()


def addresses_visible_to(user: User) -> Select[Address]:
    return select(Address).where(address_scope(user))


def get_address_or_404(user: User, address_id: str) -> Address:
    return _visible_or_404(addresses_visible_to(user), Address, "address", address_id)


def can_manage_address(user: User, address: Address | None = None, commune_code: str | None = None) -> bool:
    """Admins manage every address; a commune officer those of her commune."""
    role = _role(user)
    if role == Role.ADMIN:
        return True
    code = address.commune_code if address is not None else commune_code
    return role == Role.COMMUNE_OFFICER and bool(user.commune_code) and user.commune_code == code


def intake_addresses(user: User) -> list[Address]:
    """Active addresses where the user may record an intake."""
    role = _role(user)
    if role not in (Role.HOST, Role.COMMUNE_OFFICER):
        return []
    from casework.text import vi_sort_key

    if role == Role.HOST:  # her addresses came with her session (one query, issue 18): no second read
        rows: Any = [a for a in user.addresses if a.active]
    else:
        rows = db.session.scalars(addresses_visible_to(user).where(Address.active.is_(True)).order_by(Address.id))
    # Vietnamese collation, not the database's (which puts "Đ…" after "Z").
    return sorted(rows, key=lambda a: (vi_sort_key(a.name), a.id))
