"""Administrative units before 1 July 2025 (63 provinces, their districts and communes) and their 2025 units.

The pilots of 2022 – mid-2025 (Bình Phước, now in Đồng Nai; Thanh Hóa) were recorded in the three-tier
scheme of their time: province, district, commune. A case, an address or a woman's home commune may carry
such a unit (scheme ``"pre2025"``); statistics of a year before 2025 are counted in these units and may be
shown mapped to the 2025 provinces.

Data: ``vietnam_provinces.legacy`` (the last pre-2025 list) and the package's conversion table
(``BangChuyendoiĐVHCmoi_cu_khong_merge.csv``), with its known quirks corrected here and tested
(tests/test_geography_legacy.py):

- **The conversion table's province of a commune is sometimes wrong.** Phường 4 (27691) of Thành phố Tân An
  is in Long An (80), but the table files it under Tiền Giang (82), so the package's province table sends
  Tiền Giang to both Tây Ninh and Đồng Tháp; Xã Tiên Hải (30781) of Hà Tiên is in Kiên Giang (91), filed
  under An Giang (89). We take a commune's province from the legacy data (commune → district → province)
  and build the province map from that: every pre-2025 province goes to exactly one 2025 province.
- **A commune split between several 2025 communes** (``is_partly_merged``, 441 of them) has no single 2025
  commune: it is mapped to its 2025 province only (``to_2025_commune`` answers ``None``).
- **Communes missing from the table** (28 legacy communes, e.g. Xã Mỹ Hưng of Cao Bằng) and table codes
  that are not in the legacy list (10, e.g. 3980 in Mộc Châu): the commune is mapped to its province only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import cache

from casework.geo.data import Unit, by_code_in_name_order, clean_name, grouped_in_name_order

SCHEME = "pre2025"
# The 2025 units (Resolution 202/2025/QH15 and the commune resolutions) are in force from this day: a
# case that happened before it may carry the unit of its time.
CHANGEOVER = date(2025, 7, 1)


class Province(Unit):  # a Unit, frozen dataclass and all: no field of its own
    pass


@dataclass(frozen=True)
class District(Unit):
    """A district: the tier between province and commune, abolished on 1 July 2025."""

    province_code: str


@dataclass(frozen=True)
class Commune(Unit):
    """A commune before 2025, in its district and province."""

    district_code: str
    province_code: str


@cache
def _provinces() -> dict[str, Province]:
    from vietnam_provinces.legacy import Province as _P

    return by_code_in_name_order(Province(f"{p.code.value:02d}", clean_name(p.name)) for p in _P.iter_all())


@cache
def _districts() -> dict[str, District]:
    from vietnam_provinces.legacy import District as _D

    return {f"{d.code.value:03d}": District(f"{d.code.value:03d}", clean_name(d.name), f"{d.province_code.value:02d}")
            for d in _D.iter_all()}


@cache
def _communes() -> dict[str, Commune]:
    from vietnam_provinces.legacy import Ward as _W

    districts = _districts()
    out: dict[str, Commune] = {}
    for w in _W.iter_all():
        district = f"{w.district_code.value:03d}"
        # The province through the district: the one place the legacy data states it.
        out[f"{w.code.value:05d}"] = Commune(f"{w.code.value:05d}", clean_name(w.name), district,
                                             districts[district].province_code)
    return out


@cache
def _communes_by_district() -> dict[str, list[Commune]]:
    return grouped_in_name_order(_communes().values(), lambda c: c.district_code)


def load() -> None:
    """Read and sort the pre-2025 units and the conversion tables now, not on first use (``casework.warm``):
    the first intake form of a process listed its province's old communes after reading and sorting all
    of them, 0.7 s."""
    _provinces(), _communes_by_district(), province_map(), _reverse_table()


def provinces() -> list[Province]:
    return list(_provinces().values())


def province(code: str | None) -> Province | None:
    return _provinces().get(code or "")


def districts(province_code: str) -> list[District]:
    return list(_districts_by_province().get(province_code, ()))


@cache
def _districts_by_province() -> dict[str, tuple[District, ...]]:
    # Sorted once per process (issue 18: every intake form sorted the old districts of its province again).
    return {code: tuple(group) for code, group in
            grouped_in_name_order(_districts().values(), lambda d: d.province_code).items()}


def district(code: str | None) -> District | None:
    return _districts().get(code or "")


def communes(district_code: str) -> list[Commune]:
    return list(_communes_by_district().get(district_code, []))


def communes_of_province(province_code: str) -> list[Commune]:
    """Every commune of a pre-2025 province, by district then name (the order of the intake list)."""
    return [c for d in districts(province_code) for c in communes(d.code)]


def commune(code: str | None) -> Commune | None:
    return _communes().get(code or "")


def all_communes() -> list[Commune]:
    return list(_communes().values())


def label(code: str | None) -> str:
    """"Xã Đồng Tâm, Huyện Đồng Phú, Tỉnh Bình Phước": the three tiers, as the unit was written then."""
    c = commune(code)
    if c is None:
        return code or ""
    return f"{c.name}, {district(c.district_code).name}, {province(c.province_code).name}"  # type: ignore[union-attr]


# --- To the 2025 units ----------------------------------------------------------------------------------


@cache
def _ward_table() -> dict[str, tuple[str, ...]]:
    """The package's table: pre-2025 commune code → its 2025 commune codes (one, or several if split)."""
    from vietnam_provinces._ward_conversion_2025 import OLD_TO_NEW

    return {f"{old:05d}": tuple(f"{n.code:05d}" for n in entry.new_wards) for old, entry in OLD_TO_NEW.items()}


@cache
def _ward_provinces() -> dict[str, tuple[int, ...]]:
    from vietnam_provinces._ward_conversion_2025 import OLD_TO_NEW

    return {f"{old:05d}": tuple(n.province_code for n in entry.new_wards) for old, entry in OLD_TO_NEW.items()}


@cache
def province_map() -> dict[str, str]:
    """Every pre-2025 province → its one 2025 province: where most of its communes went, the commune's
    province read from the legacy data (not from the conversion table, see the module's docstring)."""
    votes: dict[str, Counter[str]] = {}
    table = _ward_provinces()
    for c in _communes().values():
        for new in table.get(c.code, ()):
            votes.setdefault(c.province_code, Counter())[f"{new:02d}"] += 1
    out = {old: counter.most_common(1)[0][0] for old, counter in votes.items()}
    missing = set(_provinces()) - set(out)
    if missing:  # never with 2026.9.0; the test pins it
        raise RuntimeError(f"pre-2025 provinces without a 2025 province: {sorted(missing)}")
    return out


def to_2025_province(old_province_code: str) -> str | None:
    return province_map().get(old_province_code)


def to_2025_commune(old_commune_code: str) -> str | None:
    """The one 2025 commune a pre-2025 commune became, or ``None`` when it was split between several or the
    conversion table does not know it (it is then mapped to its province only)."""
    c = commune(old_commune_code)
    news = _ward_table().get(old_commune_code, ())
    if c is None or len(news) != 1:
        return None
    return news[0]


def sources_of_2025_province(code: str) -> list[str]:
    """The pre-2025 provinces merged into a 2025 province (Đồng Nai: Bình Phước and Đồng Nai)."""
    return sorted(old for old, new in province_map().items() if new == code)


def applies(on: date | None) -> bool:
    """Whether something that happened ``on`` (a Vietnam date) may carry a pre-2025 unit."""
    return on is not None and on < CHANGEOVER


@cache
def _reverse_table() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for old, news in _ward_table().items():
        for new in news:
            out.setdefault(new, []).append(old)
    return {new: tuple(olds) for new, olds in out.items()}


def from_2025_commune(new_commune_code: str) -> str | None:
    """The one pre-2025 commune a 2025 commune is exactly (it came from that commune alone, wholly), or
    ``None``: a record with only a 2025 commune is placed in the pre-2025 units only when this is certain."""
    olds = _reverse_table().get(new_commune_code, ())
    if len(olds) != 1 or to_2025_commune(olds[0]) != new_commune_code:
        return None
    return olds[0]
