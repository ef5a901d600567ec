"""Cells, periods and the geography they are counted over (disclosure-control §2.2, §2.7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

from casework.stats.catalogue import COMPLEMENT, TOTAL
from casework.stats.period import Period, PeriodKind

LEVEL_ORDER = {"national": 0, "province": 1, "commune": 2}
# How cells sort: measure, level, place, period, categories.
SortKey = tuple[str, int, str, tuple[int, int], tuple[tuple[str, str], ...]]
NATIONAL_CODE = "VN"

@dataclass(frozen=True)
class CellKey:
    """One statistic: a measure, for one geography and one period, with zero or more categories.

    Totals are the absence of a dimension (``dims=()``), so the total of every breakdown of a measure
    is the same key as its G1 cell: one variable in the audit, one status everywhere (§2.5, T5).
    """

    measure: str
    geo_level: str
    geo_code: str
    period: str
    dims: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if tuple(sorted(self.dims)) != self.dims:
            object.__setattr__(self, "dims", tuple(sorted(self.dims)))

    def sort_key(self) -> SortKey:
        cached: SortKey | None = self.__dict__.get("_sort_key")
        if cached is None:  # sorted many times during a release: computed once per key
            cached = (self.measure, LEVEL_ORDER[self.geo_level], self.geo_code, period_sort_key(self.period), self.dims)
            object.__setattr__(self, "_sort_key", cached)
        return cached

    def dim(self, variable: str) -> str:
        for var, code in self.dims:
            if var == variable:
                return code
        return TOTAL

    def without(self, variable: str) -> CellKey:
        return CellKey(self.measure, self.geo_level, self.geo_code, self.period,
                       tuple(d for d in self.dims if d[0] != variable))

    def with_dim(self, variable: str, code: str) -> CellKey:
        return CellKey(self.measure, self.geo_level, self.geo_code, self.period,
                       tuple(d for d in self.dims if d[0] != variable) + ((variable, code),))

    def at(self, geo_level: str, geo_code: str) -> CellKey:
        return CellKey(self.measure, geo_level, geo_code, self.period, self.dims)

    def in_period(self, period: str) -> CellKey:
        return CellKey(self.measure, self.geo_level, self.geo_code, period, self.dims)

    def of_measure(self, measure: str, extra: tuple[tuple[str, str], ...] = ()) -> CellKey:
        return CellKey(measure, self.geo_level, self.geo_code, self.period, self.dims + tuple(extra))

    @property
    def hidden(self) -> bool:
        """A complement cell ("does not have c"): part of the audit, never published (§2.2)."""
        return any(code.startswith(COMPLEMENT) for _, code in self.dims)

    def label(self) -> str:
        dims = ",".join(f"{v}={c}" for v, c in self.dims)
        return f"{self.measure}|{self.geo_level}:{self.geo_code}|{self.period}|{dims}"


@dataclass(frozen=True)
class CountedCell:
    """A counted cell: its value and what the primary rules need to judge it (§2.4).

    ``value`` is persons, events or VND; ``persons`` the distinct persons (recipients for money) behind
    it; ``top`` the two largest amounts by recipient, for the p% rule.
    """

    key: CellKey
    value: int
    persons: int
    top: tuple[int, int] = (0, 0)


# Periods: a fixed calendar quarter ``2026Q3`` or year ``2026`` (§2.3: no free date ranges). A cell holds
# its period as text; these read and write it through ``Period`` (``casework.stats.period``).

def parse_period(period: str) -> tuple[int, int | None]:
    p = Period.parse(period)
    return p.year, p.quarter


def period_type(period: str) -> PeriodKind:
    return Period.parse(period).kind


def period_sort_key(period: str) -> tuple[int, int]:
    return Period.parse(period).sort_key  # a year sorts after its quarters


def year_of(period: str) -> str:
    return str(Period.parse(period).whole_year)


def quarters_of(year: str | int) -> tuple[str, ...]:
    return tuple(str(q) for q in Period.quarters_of(year))


def quarter_of(day: date) -> str:
    return str(Period.containing(day))


def period_start(period: str) -> date:
    return Period.parse(period).start


def release_periods(period: str) -> dict[str, str]:
    """The periods a release publishes, by period type.

    A quarterly release publishes its quarter; the fourth quarter's release is also the annual release
    (year-end, fixture j), in which corrections to earlier quarters first appear (§2.7 Revisions).
    """
    return {p.kind: str(p) for p in Period.parse_quarter(period).published_with()}


@dataclass(frozen=True)
class Geography:
    """Provinces and communes with their names: the hierarchy behind national = Σ provinces = Σ communes."""

    provinces: tuple[tuple[str, str], ...]
    communes: tuple[tuple[str, str, str], ...]  # (code, name, province code)
    national_name: str = "Toàn quốc"
    scheme: str = "2025"

    @classmethod
    def from_geo_data(cls) -> Geography:
        """The administrative units in force since 1 July 2025 (34 provinces, 3,321 communes)."""
        from casework.geo import data

        return cls(
            provinces=tuple((p.code, p.name) for p in data.provinces()),
            communes=tuple((c.code, c.name, c.province_code) for c in data.all_communes()),
            scheme=data.SCHEME,
        )

    @classmethod
    def from_legacy_data(cls) -> Geography:
        """The units before 1 July 2025 (63 provinces and their communes; districts are not a level of the
        tables): what a release of a year before 2025 counts over (issue 15)."""
        from casework.geo import legacy

        return cls(
            provinces=tuple((p.code, p.name) for p in legacy.provinces()),
            communes=tuple((c.code, c.name, c.province_code) for c in legacy.all_communes()),
            scheme=legacy.SCHEME,
        )

    @cached_property
    def province_codes(self) -> tuple[str, ...]:
        return tuple(sorted(code for code, _ in self.provinces))

    @cached_property
    def communes_by_province(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for code, _, province in self.communes:
            out.setdefault(province, []).append(code)
        return {p: tuple(sorted(cs)) for p, cs in out.items()}

    @cached_property
    def province_of(self) -> dict[str, str]:
        return {code: province for code, _, province in self.communes}

    @cached_property
    def names(self) -> dict[tuple[str, str], str]:
        out = {("national", NATIONAL_CODE): self.national_name}
        out.update({("province", code): name for code, name in self.provinces})
        out.update({("commune", code): name for code, name, _ in self.communes})
        return out

    def codes(self, level: str) -> tuple[str, ...]:
        if level == "national":
            return (NATIONAL_CODE,)
        if level == "province":
            return self.province_codes
        return tuple(sorted(self.province_of))

    def name(self, level: str, code: str) -> str:
        return self.names.get((level, code), code)
