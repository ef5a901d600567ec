"""Administrative units in force since 1 July 2025 (34 provinces, 3,321 communes) and the 54 ethnic groups.

Codes are zero-padded strings, as the API exchanges them: provinces ``"19"``, communes ``"01840"``,
ethnic groups ``"01"``–``"54"``. Every stored code is paired with its scheme (``SCHEME``), because the
pre-2025 codes collide with the new ones (old 15 was Yên Bái, new 15 is Lào Cai).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from vietnam_provinces import Province as _Province
from vietnam_provinces import ProvinceCode as _ProvinceCode
from vietnam_provinces import Ward as _Ward

from casework.text import vi_sort_key

SCHEME = "2025"
SCHEMES = ("2025", "pre2025")
DATA_PACKAGE = "vietnam-provinces"  # pinned exactly in setup.cfg: names change between versions
# Kind prefixes left out when sorting by name ("Thành phố Huế" sorts under H, beside "Tỉnh Hưng Yên").
_PREFIXES = ("Thành phố ", "Tỉnh ", "Đặc khu ", "Phường ", "Xã ", "Thị trấn ")


def data_version() -> dict[str, str]:
    """The administrative-unit data the names come from: the package, its version and the date of its data
    (the National Statistics Office's list), stored with every statistics release."""
    import vietnam_provinces

    return {"package": DATA_PACKAGE, "version": str(vietnam_provinces.__version__),
            "as_of": str(getattr(vietnam_provinces, "__data_version__", ""))}


def name_sort_key(name: str) -> tuple[bytes, bytes]:
    """Vietnamese collation of the name without its kind prefix, then of the full name."""
    bare = next((name[len(p):] for p in _PREFIXES if name.startswith(p)), name)
    return vi_sort_key(bare), vi_sort_key(name)


@dataclass(frozen=True)
class Unit:
    """An administrative unit: its code (2 digits for a province, 3 for a district, 5 for a commune) and name."""

    code: str
    name: str


class Province(Unit):  # a Unit, frozen dataclass and all: no field of its own
    pass


@dataclass(frozen=True)
class Commune(Unit):
    province_code: str


class EthnicGroup(Unit):
    """One of the 54 groups of casework/data/ethnic-groups.csv (01 Kinh)."""


def clean_name(name: str) -> str:
    """A name of the package with its runs of white space folded to one space."""
    return " ".join(name.split())


def by_code_in_name_order[U: Unit](units: Iterable[U]) -> dict[str, U]:
    """Units by code, in the Vietnamese order of their names (this and the pre-2025 scheme)."""
    return {u.code: u for u in sorted(units, key=lambda u: name_sort_key(u.name))}


def grouped_in_name_order[U: Unit](units: Iterable[U], parent: Callable[[U], str]) -> dict[str, list[U]]:
    """Units by the code of the unit they belong to (``parent``), each list in the Vietnamese order of names."""
    out: dict[str, list[U]] = {}
    for u in units:
        out.setdefault(parent(u), []).append(u)
    for items in out.values():
        items.sort(key=lambda u: name_sort_key(u.name))
    return out


@cache
def _provinces() -> dict[str, Province]:
    return by_code_in_name_order(Province(f"{p.code.value:02d}", clean_name(p.name)) for p in _Province.iter_all())


@cache
def _communes() -> dict[str, Commune]:
    items = [
        Commune(f"{w.code.value:05d}", clean_name(w.name), f"{w.province_code.value:02d}") for w in _Ward.iter_all()
    ]
    return {c.code: c for c in items}


@cache
def _communes_by_province() -> dict[str, list[Commune]]:
    return grouped_in_name_order(_communes().values(), lambda c: c.province_code)


@cache
def _ethnic_groups() -> dict[str, EthnicGroup]:
    text = resources.files("casework").joinpath("data/ethnic-groups.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return {r["code"]: EthnicGroup(r["code"], r["name_vi"]) for r in rows}


def load() -> None:
    """Read and sort every table now, not on first use (``casework.warm``: a production web process)."""
    _provinces(), _communes_by_province(), _ethnic_groups()


def provinces() -> list[Province]:
    return list(_provinces().values())


def province(code: str | None) -> Province | None:
    return _provinces().get(code or "")


def communes(province_code: str) -> list[Commune]:
    return list(_communes_by_province().get(province_code, []))


def commune(code: str | None) -> Commune | None:
    return _communes().get(code or "")


def all_communes() -> list[Commune]:
    return list(_communes().values())


def ethnic_groups() -> list[EthnicGroup]:
    return list(_ethnic_groups().values())


def ethnic_group(code: str | None) -> EthnicGroup | None:
    return _ethnic_groups().get(code or "")


def commune_name(code: str | None) -> str:
    """The commune's name for a page; its code when the data does not know it."""
    found = commune(code)
    return found.name if found else (code or "")


def ethnic_name(code: str | None) -> str:
    """The ethnic group's name for a page; empty when the data does not know the code."""
    group = ethnic_group(code)
    return group.name if group else ""


def legacy_province_sources(code: str) -> list[str]:
    """Pre-2025 province codes merged into a 2025 province (for reports on the old pilot areas)."""
    p = _Province.from_code(_ProvinceCode(int(code)))
    return sorted(f"{s.code.value:02d}" for s in p.get_legacy_sources())
