"""Pickers by name for the admin's account form (issue 13): provinces, communes, organisations, addresses.

The admin never types a five-digit commune code or a 22-character organisation id. One search box finds
places by name without accents ("thanh hoa" finds Thanh Hóa, "dong" finds Đồng Nai); the answer is a plain
select, grouped by province, so the picker works without JavaScript. Organisations belong to the referral
domain: it registers a source in ``app.extensions["tincay.organisations"]`` (a callable returning
``(id, name, province_code)`` triples); the core never imports it. Sorting follows geo's own order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import current_app
from flask_babel import gettext as _

from casework.auth.models import User
from casework.geo import data as geo
from casework.text import fold

MAX_COMMUNES = 200  # one answer of the commune search: enough to scroll on a phone, never all 3,321
ORGANISATIONS_KEY = "tincay.organisations"


def _matches(query: str, *names: str) -> bool:
    return any(query in fold(n) for n in names)


def provinces(query: str = "", keep: str | None = None) -> list[geo.Province]:
    """Provinces whose name matches the query (all of them without a query), and the one already chosen."""
    q = fold(query or "")
    found = [p for p in geo.provinces() if not q or _matches(q, p.name) or p.code == keep]
    return found if any(p.code != keep for p in found) or not q else geo.provinces()


def communes(query: str = "", province_code: str | None = None, keep: str | None = None
             ) -> dict[str, list[geo.Commune]]:
    """Communes grouped by province name. With a query, those whose name or province's name matches it;
    without one, the communes of the chosen province. The chosen commune is always among them."""
    q = fold(query or "")
    out: dict[str, list[geo.Commune]] = {}
    count = 0
    for p in geo.provinces():
        if q:
            in_province = _matches(q, p.name)
            items = [c for c in geo.communes(p.code) if in_province or _matches(q, c.name) or c.code == keep]
        elif province_code:
            items = geo.communes(p.code) if p.code == province_code else []
        else:
            items = []
        chosen = geo.commune(keep)
        if chosen is not None and chosen.province_code == p.code and chosen not in items:
            items = [chosen, *items]
        shown = items[:max(MAX_COMMUNES - count, 0)]
        if chosen is not None and chosen in items and chosen not in shown:
            shown.append(chosen)
        if shown:
            out[p.name] = shown
            count += len(shown)
    return out


def commune_label(code: str | None) -> str:
    c = geo.commune(code)
    if c is None:
        return code or ""
    p = geo.province(c.province_code)
    return f"{c.name}, {p.name}" if p else c.name


def province_label(code: str | None) -> str:
    p = geo.province(code)
    return p.name if p else (code or "")


def _source(key: str) -> Callable[[], Iterable[tuple[str, str, str]]] | None:
    return current_app.extensions.get(key)


def organisations() -> list[tuple[str, str, str]]:
    """(id, name, province code) of every organisation a domain registered; none without the domain."""
    source = _source(ORGANISATIONS_KEY)
    return list(source()) if source else []


def organisation_names(ids: Iterable[str | None]) -> dict[str, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {oid: name for oid, name, _p in organisations() if oid in wanted}


def organisation_choices(query: str = "", keep: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """Organisations grouped by province name; with a query, those whose name or province matches it."""
    q = fold(query or "")
    rows = organisations()
    if q:
        found = [r for r in rows if _matches(q, r[1], province_label(r[2])) or r[0] == keep]
        rows = found if any(r[0] != keep for r in found) else rows
    out: dict[str, list[tuple[str, str]]] = {}
    for p in geo.provinces():
        items = [(oid, name) for oid, name, pc in rows if pc == p.code]
        if items:
            out[p.name] = items
    others = [(oid, name) for oid, name, pc in rows if geo.province(pc) is None]
    if others:
        out[_("Other")] = others
    return out


def scope_label(user: User, address_names: dict[str, str] | None = None,
                organisation_names_: dict[str, str] | None = None) -> str:
    """A user's scope in words for the account list: commune and province, province, addresses or
    organisation by name; never a code or an id."""
    from casework.auth.roles import SCOPE_OF_ROLE, Role

    try:
        kind = SCOPE_OF_ROLE.get(Role(user.role))
    except ValueError:
        kind = None
    if kind == "commune":
        return commune_label(user.commune_code)
    if kind == "province":
        return province_label(user.province_code)
    if kind == "address":
        names = [(address_names or {}).get(a, "") for a in (user.address_ids or [])]
        names = [n for n in names if n]
        where = commune_label(user.commune_code) if user.commune_code else ""
        return "; ".join(names) + (f" ({where})" if names and where else where if not names else "")
    if kind == "organisation":
        return (organisation_names_ or {}).get(user.organisation_id or "", "") or _("Organisation not found")
    return str(_("National"))
