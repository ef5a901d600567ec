"""What the statistics screens show: a release's tables as grids and its series as bar charts.

Built from published cells only; a withheld cell is shown as ``x`` and drawn as a marked outline, never
as zero. Labels come from the catalogue's data in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _

from casework.stats.catalogue import CategoryList, TableDef
from casework.stats.cells import NATIONAL_CODE, CellKey, Geography, period_type
from casework.stats.formats import zero_total
from casework.stats.period import Period
from casework.stats.release import PUBLISHED, ReleaseCell
from casework.text import format_number

MARK = "x"


def is_vietnamese() -> bool:
    return str(get_locale() or "vi").startswith("vi")


def title(table: TableDef) -> str:
    return table.title_vi if is_vietnamese() else table.title_en


def label(cl: CategoryList, code: str) -> str:
    c = cl.category(code)
    return c.label_vi if is_vietnamese() else c.label_en


def period_label(period: str) -> str:
    """The period in running text in the reader's language: "quý III/2026", "Q3 2026" (``Period``)."""
    return Period.parse(period).in_sentence("vi" if is_vietnamese() else "en")


@dataclass(frozen=True)
class Shown:
    text: str
    withheld: bool


def shown(cell: ReleaseCell | None, zero: bool = False) -> Shown:
    """``zero``: a published total this cell is part of is 0, so the cell is 0 too (issue 16: a row whose
    total is 0 shows 0, not x)."""
    if cell is None:
        return Shown("–", False)
    if zero:
        return Shown(format_number(0), False)
    if cell.status != PUBLISHED or cell.value is None:
        return Shown(MARK, True)
    return Shown(format_number(cell.value), False)


@dataclass(frozen=True)
class Grid:
    table: TableDef
    title: str
    period: str
    corner: str
    columns: list[str]
    rows: list[tuple[str, list[Shown]]]


def own_period(table: TableDef, period: str) -> str | None:
    """The period of ``table`` that the release of ``period`` publishes: its quarter, or the year at Q4."""
    if "quarter" in table.periods:
        return period
    quarter = Period.parse(period)
    if "year" in table.periods and quarter.quarter == 4:
        return str(quarter.whole_year)
    return None


def grids(tables: Sequence[TableDef], cells: Mapping[CellKey, ReleaseCell], period: str, geography: Geography,
          province: str | None = None) -> list[Grid]:
    """Every table of the release that has a figure for ``province`` (or the country and its provinces)."""
    out = []
    for table in tables:
        own = own_period(table, period)
        if own is None or period_type(own) not in table.periods:
            continue
        grid = _grid(table, cells, own, geography, province)
        if grid is not None and grid.rows:
            out.append(grid)
    return out


def _places(table: TableDef, geography: Geography, province: str | None) -> list[tuple[str, str]]:
    places: list[tuple[str, str]] = []
    if province is None:
        if "national" in table.geo_levels:
            places.append(("national", NATIONAL_CODE))
        if "province" in table.geo_levels:
            places += [("province", c) for c in geography.codes("province")]
    else:
        if "province" in table.geo_levels:
            places.append(("province", province))
        if "commune" in table.geo_levels:
            places += [("commune", c) for c in geography.communes_by_province.get(province, ())]
    return places


def _grid(table: TableDef, cells: Mapping[CellKey, ReleaseCell], own: str, geography: Geography,
          province: str | None) -> Grid | None:
    if len(table.dimensions) == 2:
        if province is not None:
            return None
        first, second = table.dimensions
        columns = [label(second, c) for c in second.codes()] + [_("Total")]
        rows = []
        for code in (*first.codes(), None):
            values = []
            for code2 in (*second.codes(), None):
                dims = tuple((var, c) for var, c in ((first.variable, code), (second.variable, code2)) if c is not None)
                key = CellKey(table.measure, "national", NATIONAL_CODE, own, dims)
                values.append(shown(cells.get(key), zero_total(cells, key)))
            rows.append((label(first, code) if code else _("Total"), values))
        names = [(d.label_vi if is_vietnamese() else d.label_en) for d in (first, second)]
        corner = " \\ ".join(names)
        return Grid(table, title(table), own, corner, columns, rows)
    dim = table.dimensions[0] if table.dimensions else None
    codes: list[str | None] = [*(dim.codes() if dim else ()), None]
    columns = [label(dim, c) if dim and c else _("Total") for c in codes]
    rows = []
    for level, code in _places(table, geography, province):
        keys = [CellKey(table.measure, level, code, own, ((dim.variable, c),) if dim and c else ()) for c in codes]
        values = [shown(cells.get(k), zero_total(cells, k)) for k in keys]
        rows.append((geography.name(level, code), values))
    return Grid(table, title(table), own, _("Place"), columns, rows)


# --- charts ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    withheld: bool
    released: bool


@dataclass(frozen=True)
class Chart:
    name: str
    width: int
    height: int
    bars: list[Bar]
    baseline: float
    summary: str


def chart(name: str, points: Mapping[str, ReleaseCell], periods: Sequence[str], width: int = 220,
          height: int = 110) -> Chart:
    """Bars for ``periods``; a withheld period is a dashed outline marked ``x``, an unreleased one is empty."""
    top = max((c.value or 0 for c in points.values() if c.status == PUBLISHED), default=0) or 1
    baseline = height - 18
    plot = baseline - 16
    slot = width / max(len(periods), 1)
    bars: list[Bar] = []
    for i, period in enumerate(periods):
        cell = points.get(period)
        x, w = i * slot + slot * 0.2, slot * 0.6
        short = Period.parse(period).short
        if cell is None:
            bars.append(Bar(x, baseline, w, 0, short, "", False, False))
        elif cell.status != PUBLISHED or cell.value is None:
            h = plot * 0.3
            bars.append(Bar(x, baseline - h, w, h, short, MARK, True, True))
        else:
            h = plot * cell.value / top
            bars.append(Bar(x, baseline - h, w, h, short, format_number(cell.value), False, True))
    summary = "; ".join(f"{period_label(p)}: {b.value or _('not released')}" for p, b in zip(periods, bars,
                                                                                              strict=True))
    return Chart(name, width, height, bars, baseline, summary)


def withheld_reason(table: TableDef, withheld: int) -> str:
    """Why figures of a table will be withheld, in plain words; never which of them are small."""
    if not withheld:
        return str(_("Every figure of this table will be published."))
    if table.kind == "money":
        return str(_("%(n)s amounts will be shown as x: amounts received by fewer than 10 women, or mostly by "
                     "one woman, and the amounts from which they could be worked out.", n=withheld))
    return str(_("%(n)s figures will be shown as x: figures under 10 and the figures from which a small figure "
                 "could be worked out (by subtracting from a total, or from another table or quarter).", n=withheld))
