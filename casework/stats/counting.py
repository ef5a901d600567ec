"""Counting the cells of a release from statistical records (disclosure-control §2.2).

Pure: the caller (the release service) turns rows of the database into :class:`Record` values; this
module never touches a database.

- **Persons, not cases.** A person-count cell holds distinct persons. Each person is counted once a
  year, in the quarter, province and commune of her first consenting intake of that year, so that
  year = Σ quarters and national = Σ provinces hold exactly (the additive relations of §2.5) and a
  published quarter never needs revising (§2.2 Period assignment). Her single-valued attributes are
  those of that intake; a multi-valued attribute (forms of violence) is the union over her intakes of
  that quarter.
- **Events and money** are counted where each record falls; the distinct persons behind a cell feed
  rule P2, and the amounts by recipient the p% rule P3 (§2.4).
- **Consent gate and deduplication.** Records without consent to reporting, and records of persons
  already reported by another organisation (Primero's ``gbv_reported_elsewhere``), are left out; the
  number of persons left out for lack of consent is counted for an ``excluded`` table (§2.2, T17).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from casework.stats.catalogue import COMPLEMENT, TOTAL, CategoryList, TableDef
from casework.stats.cells import (
    NATIONAL_CODE,
    CellKey,
    CountedCell,
    Geography,
    quarter_of,
    year_of,
)
from casework.stats.period import Period

GroupKey = tuple[str, str, str, str]  # (measure, geo level, geo code, period)
Dims = tuple[tuple[str, str], ...]
CellTuple = tuple[str, str, str, Dims]  # (geo level, geo code, period, dims) of one measure
Attributes = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, eq=False, slots=True)
class Record:
    """One countable fact: an intake (persons), a night or a referral (events), a disbursement (money).

    ``on`` is the intake or registration date, never the incident date (§2.2: late registrations fall
    into the quarter in which they are registered). ``attributes`` maps a variable to its category code,
    or to a frozenset of codes for a multi-valued variable.
    """

    measure: str
    person_id: str
    on: date
    province_code: str
    commune_code: str
    attributes: Mapping[str, str | frozenset[str]] = field(default_factory=dict)
    consent: bool = True
    reported_elsewhere: bool = False
    events: int = 1
    amount: int = 0
    # The commune in the units before 1 July 2025 (casework.geo.legacy), when the record carries one: a
    # release of a year before 2025 is counted there (casework.stats.service.in_units_of).
    legacy_commune_code: str = ""


@dataclass(frozen=True, eq=False)
class Counted:
    """The counted cells of a release.

    ``cells``: the release's own periods (its quarter, and the year at year-end), with the hidden
    complement cells of events tables (never published). ``context``: the
    earlier quarters of the same year counted now, so that the audit sees year = Σ quarters and any
    correction made since a quarter was released (§2.5, §2.7). ``microcubes``: for each population
    (measure, national or province, period), how many persons share each combination of attributes,
    for the reconstruction check (T15); they never leave the engine.
    """

    period: str
    cells: Mapping[CellKey, CountedCell]
    context: Mapping[CellKey, CountedCell]
    microcubes: Mapping[GroupKey, Mapping[frozenset[str], int]]


def grid(table: TableDef, periods: Iterable[str], geography: Geography) -> list[CellKey]:
    """Every cell of a table for the given periods: all geographies, categories and totals (§2.5 needs
    the complete grid: a missing child would make "province = Σ communes" false)."""
    options = [[TOTAL, *d.codes()] for d in table.dimensions]
    combos = [tuple((d.variable, c) for d, c in zip(table.dimensions, combo, strict=True) if c != TOTAL)
              for combo in itertools.product(*options)]
    keys: list[CellKey] = []
    for period in periods:
        for level in table.geo_levels:
            for code in geography.codes(level):
                keys.extend(CellKey(table.measure, level, code, period, dims) for dims in combos)
    return keys


def table_periods(table: TableDef, period: str) -> list[str]:
    """The periods of a table counted for a release: its quarters of the year so far, and the year."""
    quarter = Period.parse_quarter(period)
    out = [p for p in quarter.quarters if p <= quarter] if "quarter" in table.periods else []
    if "year" in table.periods and quarter.quarter == 4:
        out.append(quarter.whole_year)
    return [str(p) for p in out]


def count_cells(tables: Iterable[TableDef], records: Iterable[Record], period: str,
                geography: Geography) -> Counted:
    """Count every cell of ``tables`` for the release of ``period`` from ``records``.

    Records outside the year, or after the end of the release's quarter, are ignored: a release never
    counts the future, and the year restarts the count of persons.
    """
    tables = list(tables)
    quarter = Period.parse_quarter(period)
    own = {str(p) for p in quarter.published_with()}
    first, last = quarter.whole_year.start, quarter.end
    by_measure: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if first <= r.on <= last:
            _check_geography(r, geography)
            by_measure[r.measure].append(r)

    cells: dict[CellKey, CountedCell] = {}
    microcubes: dict[GroupKey, dict[frozenset[str], int]] = {}
    for table in tables:
        for key in grid(table, table_periods(table, period), geography):
            cells.setdefault(key, CountedCell(key, 0, 0))
    measures: dict[str, list[TableDef]] = defaultdict(list)
    for table in tables:
        measures[table.measure].append(table)
    for measure, group in sorted(measures.items()):
        kind = group[0].kind
        if kind == "persons":
            _count_persons(group, by_measure.get(measure, []), period, cells, microcubes)
        elif kind == "excluded":
            _count_excluded(group, by_measure.get(group[0].source or "", []), period, cells)
        else:
            _count_amounts(group, by_measure.get(measure, []), period, cells)
    return Counted(
        period=period,
        cells={k: v for k, v in cells.items() if k.period in own},
        context={k: v for k, v in cells.items() if k.period not in own},
        microcubes=microcubes,
    )


def _check_geography(r: Record, geography: Geography) -> None:
    if geography.province_of.get(r.commune_code) != r.province_code:
        raise ValueError(f"record of {r.measure}: commune {r.commune_code} is not in province {r.province_code}")


def _first_intakes(records: list[Record]) -> tuple[dict[str, list[Record]], dict[str, Record]]:
    """Counted records by person (consenting, not reported elsewhere) and the persons left out."""
    counted: dict[str, list[Record]] = defaultdict(list)
    refused: dict[str, Record] = {}
    order = sorted(range(len(records)), key=lambda i: (records[i].on, records[i].person_id, i))
    for i in order:
        r = records[i]
        if r.reported_elsewhere:
            continue  # §2.2 Deduplication: another organisation reports her
        if r.consent:
            counted[r.person_id].append(r)
        else:
            refused.setdefault(r.person_id, r)
    left_out = {p: r for p, r in refused.items() if p not in counted}
    return counted, left_out


def _attributes(records: list[Record], dims: dict[str, CategoryList]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A person's categories for each variable: single-valued from her first intake, multi-valued as the
    union over her intakes of the quarter (§2.2)."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for var, cl in sorted(dims.items()):
        if cl.multi_valued:
            codes: set[str] = set()
            for r in records:
                value = r.attributes.get(var, frozenset())
                codes |= {value} if isinstance(value, str) else set(value)
        else:
            first = records[0].attributes.get(var)
            if isinstance(first, frozenset) and len(first) == 1:
                first = next(iter(first))  # one service per referral: a set of one code is that code
            if first is None or first == "":
                first = "UNK"
            if not isinstance(first, str):
                raise ValueError(f"{var} is single-valued; got several codes")
            codes = {first}
        unknown = codes - _valid_codes(cl)
        if unknown:
            raise ValueError(f"{var}: codes {sorted(unknown)} are not in the category list {cl.id}")
        out.append((var, tuple(sorted(codes))))
    return tuple(out)


@cache
def _valid_codes(cl: CategoryList) -> frozenset[str]:
    return frozenset(cl.codes())


def _dims_of(tables: list[TableDef]) -> dict[str, CategoryList]:
    """The category lists of one measure's tables, as that measure sees them: a list that is multi-valued
    for persons is single-valued for an events table that declares it so (one service per referral)."""
    out: dict[str, CategoryList] = {}
    for t in tables:
        for d in t.dimensions:
            out[d.variable] = d if t.multi_valued(d.variable) == d.multi_valued else \
                dataclasses.replace(d, multi_valued=False)
    return out


def _geo_codes(level: str, province: str, commune: str) -> str:
    return {"national": NATIONAL_CODE, "province": province, "commune": commune}[level]


def _combos(table: TableDef, attrs: dict[str, tuple[str, ...]]) -> list[tuple[tuple[str, str], ...]]:
    """The categories (and totals) of one table a person or record falls in, sorted as in a CellKey."""
    options = [[None, *attrs.get(d.variable, ())] for d in table.dimensions]
    return [tuple(sorted((d.variable, c) for d, c in zip(table.dimensions, combo, strict=True) if c is not None))
            for combo in itertools.product(*options)]


def _cell_tuples(tables: list[TableDef], periods_of: dict[str, list[str]], quarter: str, year: str,
                 province: str, commune: str, attrs: dict[str, tuple[str, ...]]) -> set[CellTuple]:
    """Every cell, as a plain (level, geo, period, dims) tuple, that one person or record counts in."""
    out: set[CellTuple] = set()
    for table in tables:
        periods = [p for p in periods_of[table.id] if p == quarter or p == year]
        if not periods:
            continue
        combos = _combos(table, attrs)
        for level in table.geo_levels:
            geo = _geo_codes(level, province, commune)
            for p in periods:
                out.update((level, geo, p, combo) for combo in combos)
    return out


def _count_persons(tables: list[TableDef], records: list[Record], period: str,
                   cells: dict[CellKey, CountedCell],
                   microcubes: dict[GroupKey, dict[frozenset[str], int]]) -> None:
    dims = _dims_of(tables)
    counted, _ = _first_intakes(records)
    year = year_of(period)
    periods_of = {t.id: table_periods(t, period) for t in tables}
    # A signature is everything that decides where a person is counted; persons sharing one are
    # expanded once.
    signatures: Counter[tuple[str, str, str, Attributes]] = Counter()
    for person_records in counted.values():
        first = person_records[0]
        quarter = quarter_of(first.on)
        same_quarter = [r for r in person_records if quarter_of(r.on) == quarter]
        signatures[(quarter, first.province_code, first.commune_code, _attributes(same_quarter, dims))] += 1

    totals: Counter[CellTuple] = Counter()
    cubes: dict[GroupKey, Counter[frozenset[str]]] = defaultdict(Counter)
    measure = tables[0].measure
    for (quarter, province, commune, attr_items), n in signatures.items():
        attrs = dict(attr_items)
        keys = _cell_tuples(tables, periods_of, quarter, year, province, commune, attrs)
        for key in keys:
            totals[key] += n
        tokens = _tokens(attrs, dims)
        for level, geo, p, combo in keys:
            if combo or level == "commune":
                continue
            extra = frozenset({f"@{quarter}", f"#{commune}"}) if p == year else frozenset()
            cubes[(measure, level, geo, p)][tokens | extra] += n
    for (level, geo, p, combo), n in totals.items():
        cell_key = CellKey(measure, level, geo, p, combo)
        cells[cell_key] = CountedCell(cell_key, n, n)
    microcubes.update({g: dict(c) for g, c in cubes.items()})


def _tokens(attrs: dict[str, tuple[str, ...]], dims: dict[str, CategoryList]) -> frozenset[str]:
    """A person's attributes as tokens: ``var=code`` (single-valued), ``var+code`` (has category)."""
    out: set[str] = set()
    for var, codes in attrs.items():
        sep = "+" if dims[var].multi_valued else "="
        out.update(f"{var}{sep}{c}" for c in codes)
    return frozenset(out)


def _count_excluded(tables: list[TableDef], records: list[Record], period: str,
                    cells: dict[CellKey, CountedCell]) -> None:
    # §2.2 Consent gate: the number left out is published nationally only, and only if it is ≥ k
    # (the primary rule P1 sees to the second part).
    _, left_out = _first_intakes(records)
    year = year_of(period)
    per_quarter = Counter(quarter_of(r.on) for r in left_out.values())
    for table in tables:
        for p in table_periods(table, period):
            n = sum(per_quarter.values()) if p == year else per_quarter.get(p, 0)
            key = CellKey(table.measure, "national", NATIONAL_CODE, p)
            cells[key] = CountedCell(key, n, n)


def _count_amounts(tables: list[TableDef], records: list[Record], period: str,
                   cells: dict[CellKey, CountedCell]) -> None:
    """Events (nights, referrals) and money: summed where each record falls, with the persons behind."""
    dims = _dims_of(tables)
    money = tables[0].kind == "money"
    year = year_of(period)
    measure = tables[0].measure
    periods_of = {t.id: table_periods(t, period) for t in tables}
    by_key: dict[CellTuple, Counter[str]] = defaultdict(Counter)
    for r in records:
        if not r.consent or r.reported_elsewhere:
            continue
        attrs = dict(_attributes([r], dims))
        # The hidden "not c" cells of a multi-valued breakdown are counted too: the persons behind
        # them decide whether the complement is primary (P2 for events, T6).
        for var, cl in dims.items():
            if cl.multi_valued:
                attrs[var] = attrs[var] + tuple(COMPLEMENT + c for c in cl.codes() if c not in attrs[var])
        amount = r.amount if money else r.events
        for key in _cell_tuples(tables, periods_of, quarter_of(r.on), year, r.province_code, r.commune_code, attrs):
            by_key[key][r.person_id] += amount
    for (level, geo, p, combo), per_person in by_key.items():
        cell_key = CellKey(measure, level, geo, p, combo)
        top = heapq.nlargest(2, per_person.values()) + [0, 0]
        cells[cell_key] = CountedCell(cell_key, sum(per_person.values()), len(per_person), (top[0], top[1]))
