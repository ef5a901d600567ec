"""The fixed catalogue of statistical tables and the rules every table must obey (disclosure-control §2.3).

Each domain declares its tables in its own ``tables.py`` and calls :func:`register_table`; the core never
imports the domains. The rules are enforced at registration, so a table that could reveal one woman
cannot enter the catalogue at all (test T20):

- geography is national, province or commune; nothing below the commune, never a trusted address;
- a commune table carries the total only (G4) and no sex, ethnicity or age; commune by quarter only in
  the restricted internal tier;
- one breakdown at a time; a two-way table only at national level by year (G3);
- sex and ethnicity (Kinh / ethnic minority) only by year (G5);
- category lists are fixed and versioned, and a variable has one grouping only: "<20" next to "<25"
  would let a reader subtract one band from the other (sub-population differencing, §1.4).

Text a person reads (titles, category labels) is carried in Vietnamese and English as plain data: this
engine is pure and does not translate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

GEO_LEVELS = ("national", "province", "commune")
PERIOD_TYPES = ("quarter", "year")
# "activity" (issue 16): counts of addresses, hosts, packages, never of persons; published as counted,
# outside the engine (``casework.stats.activity``).
KINDS = ("persons", "events", "money", "excluded", "activity")
TIERS = ("public", "internal", "restricted")

TOTAL = "_T"  # disclosure-control §2.7: `_T` marks the total over a dimension
COMPLEMENT = "!"  # prefix of the hidden "does not have category c" cell (§2.2); never published

# Variables a table may be broken down by. An allowlist, not a denylist: a new variable is a decision
# about disclosure and goes through the core (§2.3 "the export may produce only these tables").
VARIABLES = frozenset({
    "act_form", "age_group", "sex", "ethnicity", "referral_service", "referral_outcome",
    "case_outcome", "closure_reason", "proposal_stage", "survivor_status",
    "scope",  # activity tables only: every commune, or the pilot communes (issue 16)
    "notice", "repeat",  # issue 16: commune notified within the deadline; violence again after a closed case
})
# Never a dimension (§2.3 "Never export"): named so that the error says why, not only "unknown".
FORBIDDEN_VARIABLES = frozenset({
    "address", "trusted_address", "address_id", "host", "staff", "user", "organisation", "organization",
    "village", "hamlet", "district", "day", "week", "month", "date", "person", "name", "phone",
})
# Near-unique attributes: never at commune level (§2.3 G4/G5; A1 knows them about his neighbour).
DEMOGRAPHIC_VARIABLES = frozenset({"sex", "ethnicity", "age_group"})
YEAR_ONLY_VARIABLES = frozenset({"sex", "ethnicity"})  # G5

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_]*$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MEASURE = re.compile(r"^[a-z][a-z0-9_]*$")


class CatalogueError(ValueError):
    """A table or category list breaks a rule of the catalogue (disclosure-control §2.3)."""


@dataclass(frozen=True)
class Category:
    code: str
    label_vi: str
    label_en: str


@dataclass(frozen=True)
class CategoryList:
    """A fixed, versioned grouping of one variable.

    ``multi_valued``: a person may have several categories (forms of violence, referral services); each
    category is then a binary indicator and the categories do not add up to the total (§2.2).
    ``sensitive``: the group-disclosure rule P4 applies (§2.4: type, referral, outcome, ethnicity).
    """

    variable: str
    version: str
    label_vi: str
    label_en: str
    categories: tuple[Category, ...]
    multi_valued: bool = False
    sensitive: bool = False

    @property
    def id(self) -> str:
        return f"{self.variable}@{self.version}"

    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.categories)

    def category(self, code: str) -> Category:
        for c in self.categories:
            if c.code == code:
                return c
        raise KeyError(code)


@dataclass(frozen=True)
class TableDef:
    """One table of the catalogue.

    ``measure`` names the statistic; tables with the same measure share their cells (the total of a
    breakdown is the G1 total, one variable in the audit, one status everywhere: §2.5, T5).
    ``pattern_of``/``pattern_dims``: events and money cells take the suppression pattern of a person
    count (§2.2, §2.3 L2 "same suppression pattern as L1 funded"); the twin of a cell is the cell of
    ``pattern_of`` with the same geography, period and categories plus ``pattern_dims``.
    ``source``: for an ``excluded`` table, the person measure whose non-consenting persons it counts.

    Structural facts a reader of ``docs/statistics.md`` knows, declared here so that the audit derives
    its relations from the declaration and never from a hand-kept list (issue 16):

    ``single_valued``: dimensions whose list is multi-valued for persons but in which each event (or
    amount) of this table has exactly one category: one service per referral. The categories of such a
    breakdown then add up to the total (event additivity), as a single-valued breakdown does.
    ``events_of``: for an events table, the person measure whose persons these events belong to: every
    person counted in a cell of that measure has at least one event in the same cell of this table
    (same geography, period and categories), so persons ≤ events cell by cell.
    """

    id: str
    domain: str
    title_vi: str
    title_en: str
    measure: str
    geo_levels: tuple[str, ...]
    periods: tuple[str, ...]
    dimensions: tuple[CategoryList, ...] = ()
    kind: str = "persons"
    unit: str = "persons"
    pattern_of: str | None = None
    pattern_dims: tuple[tuple[str, str], ...] = ()
    tier: str = "internal"
    rounding_base: int = 1
    source: str | None = None
    single_valued: tuple[str, ...] = ()
    events_of: str | None = None

    @property
    def dimension_ids(self) -> tuple[str, ...]:
        return tuple(d.variable for d in self.dimensions)

    def multi_valued(self, variable: str) -> bool:
        """Whether one unit counted by this table (a person, an event) may have several categories."""
        return any(d.variable == variable and d.multi_valued for d in self.dimensions) and \
            variable not in self.single_valued


def check_table(table: TableDef) -> list[str]:
    """Every rule of §2.3 this table breaks, in words; empty when the table may enter the catalogue."""
    problems: list[str] = []
    if not _ID.match(table.id):
        problems.append(f"table id {table.id!r} is not a plain identifier")
    if not _MEASURE.match(table.measure):
        problems.append(f"measure {table.measure!r} must be lower_snake_case")
    if table.kind not in KINDS:
        problems.append(f"kind {table.kind!r} is not one of {KINDS}")
    if table.tier not in TIERS:
        problems.append(f"tier {table.tier!r} is not one of {TIERS}")
    if not table.geo_levels or any(g not in GEO_LEVELS for g in table.geo_levels):
        problems.append(f"geography {table.geo_levels!r}: only national, province and commune (§2.3)")
    if len(set(table.geo_levels)) != len(table.geo_levels):
        problems.append("a geographic level is listed twice")
    if not table.periods or any(p not in PERIOD_TYPES for p in table.periods):
        problems.append(f"periods {table.periods!r}: fixed quarters and years only, no free ranges (§2.3)")
    problems += _check_dimensions(table)
    problems += _check_commune(table)
    problems += _check_kind(table)
    return problems


def _check_dimensions(table: TableDef) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for dim in table.dimensions:
        problems += check_category_list(dim)
        if dim.variable in seen:
            problems.append(f"dimension {dim.variable} appears twice")
        seen.add(dim.variable)
        if dim.variable in YEAR_ONLY_VARIABLES and tuple(table.periods) != ("year",):
            problems.append(f"{dim.variable} is published by year only (§2.3 G5)")
    if len(table.dimensions) > 2:
        problems.append("one breakdown at a time: at most a two-way table (§2.3)")
    if len(table.dimensions) == 2 and (tuple(table.geo_levels) != ("national",) or tuple(table.periods) != ("year",)):
        problems.append("a two-way table is allowed only at national level by year (§2.3 G3)")
    return problems


def _check_commune(table: TableDef) -> list[str]:
    if "commune" not in table.geo_levels:
        return []
    problems: list[str] = []
    demographic = [d.variable for d in table.dimensions if d.variable in DEMOGRAPHIC_VARIABLES]
    if demographic:
        problems.append(f"no commune-level {', '.join(demographic)}: near-unique in a commune (§2.3 G4, G5)")
    if table.dimensions:
        problems.append("a commune table carries the total only (§2.3 G4)")
    if table.tier == "public":
        problems.append("the public tier has province and national levels only (§2.7)")
    if "quarter" in table.periods and table.tier != "restricted":
        problems.append("commune by quarter only in the restricted internal tier (§2.3 G4)")
    if table.kind == "money":
        problems.append("money is published at province and national level only (§2.3 L2)")
    return problems


def _check_kind(table: TableDef) -> list[str]:
    problems: list[str] = []
    if table.kind in ("persons", "excluded") and table.unit != "persons":
        problems.append(f"a {table.kind} table counts persons (unit 'persons')")
    if table.kind == "money":
        if table.unit != "vnd":
            problems.append("a money table is in VND (unit 'vnd')")
        if not table.pattern_of:
            problems.append("a money table shares the pattern of a person count: set pattern_of (§2.3 L2)")
    if table.kind == "persons" and table.pattern_of:
        problems.append("a person count sets the pattern, it does not follow one")
    if table.kind == "excluded":
        if tuple(table.geo_levels) != ("national",) or table.dimensions:
            problems.append("persons left out for lack of consent are published nationally only (§2.2)")
        if not table.source:
            problems.append("an excluded table names the person measure it counts: set source")
    if table.kind == "activity" and table.unit == "persons":
        problems.append("an activity table counts addresses, packages or trainings, never persons")
    if table.kind != "activity" and "scope" in table.dimension_ids:
        problems.append("the pilot-commune scope is for activity tables only")
    for variable in table.single_valued:
        if variable not in table.dimension_ids:
            problems.append(f"single_valued names {variable}, which is not a dimension of the table")
    if table.single_valued and table.kind not in ("events", "money"):
        problems.append("only events and money are single-valued where persons are not: a person may "
                        "have several categories")
    if table.events_of and table.kind != "events":
        problems.append("events_of links an events table to the persons it counts")
    if table.rounding_base < 1:
        problems.append("rounding base must be a positive integer")
    if table.kind != "money" and table.rounding_base != 1:
        problems.append("counts are not rounded (§2.6)")
    return problems


def check_category_list(cl: CategoryList) -> list[str]:
    problems: list[str] = []
    if cl.variable in FORBIDDEN_VARIABLES:
        problems.append(f"{cl.variable} is never a dimension: no trusted-address, staff or sub-commune "
                        "detail, no days or weeks (§2.3)")
    elif cl.variable not in VARIABLES:
        problems.append(f"{cl.variable} is not a variable of the catalogue (§2.3)")
    if not cl.version.strip():
        problems.append(f"category list {cl.variable} has no version (§2.3: lists are fixed and versioned)")
    codes = cl.codes()
    if not codes:
        problems.append(f"category list {cl.id} is empty")
    if len(set(codes)) != len(codes):
        problems.append(f"category list {cl.id} repeats a code")
    for code in codes:
        if not _CODE.match(code):
            problems.append(f"category code {code!r} in {cl.id}: upper-case letters, digits and _ only")
    if cl.variable == "ethnicity" and set(codes) - {"KINH", "MINORITY", "UNK"}:
        problems.append("ethnicity is grouped as Kinh / ethnic minority only (§2.3 G5)")
    return problems


class Registry:
    """The catalogue of one application: tables by id, one grouping per variable."""

    def __init__(self) -> None:
        self._tables: dict[str, TableDef] = {}
        self._lists: dict[str, CategoryList] = {}

    def register(self, table: TableDef) -> TableDef:
        problems = check_table(table)
        for dim in table.dimensions:
            known = self._lists.get(dim.variable)
            if known is not None and known != dim:
                problems.append(f"{dim.variable} already has the grouping {known.id}; a second grouping "
                                "would allow sub-population differencing (§2.3)")
        for other in self._tables.values():
            if other.measure == table.measure and other.id != table.id and \
                    (other.kind, other.unit) != (table.kind, table.unit):
                problems.append(f"measure {table.measure} is already a {other.kind} in {other.unit}")
            if other.measure == table.measure and other.id != table.id:
                # One measure, one set of structural facts: the audit reads them per measure.
                if other.events_of != table.events_of:
                    problems.append(f"measure {table.measure} counts the events of {other.events_of} in "
                                    f"table {other.id}")
                for variable in set(other.dimension_ids) & set(table.dimension_ids):
                    if other.multi_valued(variable) != table.multi_valued(variable):
                        problems.append(f"{variable} is single-valued for {table.measure} in one table and "
                                        "multi-valued in another")
        known_table = self._tables.get(table.id)
        if known_table is not None and known_table != table:
            problems.append(f"table {table.id} is already registered with another definition")
        if problems:
            raise CatalogueError(f"table {table.id}: " + "; ".join(problems))
        for dim in table.dimensions:
            self._lists[dim.variable] = dim
        self._tables[table.id] = table
        return table

    def tables(self) -> tuple[TableDef, ...]:
        return tuple(self._tables[k] for k in sorted(self._tables))

    def table(self, table_id: str) -> TableDef:
        return self._tables[table_id]

    def category_lists(self) -> tuple[CategoryList, ...]:
        return tuple(self._lists[k] for k in sorted(self._lists))


def catalogue(app: Flask | None = None) -> Registry:
    """The catalogue of ``app`` (the current application by default): each application owns its own, filled by
    the domains' ``register(app)``."""
    registry: Registry = (app or current_app).extensions.setdefault("tincay.statistics", Registry())
    return registry


def register_table(table: TableDef, registry: Registry) -> TableDef:
    """Add a table to a catalogue; called by each domain's ``tables.py``. Raises CatalogueError."""
    return registry.register(table)


def check_catalogue(tables: tuple[TableDef, ...] | list[TableDef]) -> list[str]:
    """All violations in a set of tables, including those between tables (one grouping per variable)."""
    registry = Registry()
    problems: list[str] = []
    for table in tables:
        try:
            registry.register(table)
        except CatalogueError as exc:
            problems.append(str(exc))
    return problems


def headline_table(candidates: Iterable[TableDef]) -> TableDef | None:
    """The table of the report's summary and chart: the first person total by province and quarter."""
    totals = [t for t in candidates if t.kind == "persons" and not t.dimensions and "province" in t.geo_levels
              and "quarter" in t.periods]
    return sorted(totals, key=lambda t: (t.domain != "casework", t.measure))[0] if totals else None


# Declaring lists and tables: the usual shape is written once here, so that a domain's ``tables.py`` says only
# what differs from it.

NATIONAL_PROVINCE = ("national", "province")
QUARTER_YEAR = ("quarter", "year")
BY_YEAR: dict[str, Any] = {"periods": ("year",)}
NATIONAL_BY_YEAR: dict[str, Any] = {"geo_levels": ("national",), "periods": ("year",)}  # G3: two-way tables
COMMUNE_BY_YEAR: dict[str, Any] = {"geo_levels": ("commune",), "periods": ("year",)}  # G4


def category_list(variable: str, version: str, label_vi: str, label_en: str,
                  categories: Iterable[tuple[str, str, str]], *, multi_valued: bool = False,
                  sensitive: bool = False) -> CategoryList:
    """A category list from its (code, Vietnamese label, English label) triples, in order."""
    return CategoryList(variable=variable, version=version, label_vi=label_vi, label_en=label_en,
                        categories=tuple(Category(*c) for c in categories), multi_valued=multi_valued,
                        sensitive=sensitive)


def table_family(domain: str, measure: str, **common: Any) -> Callable[..., TableDef]:
    """A function declaring the tables of one measure: ``table(id, title_vi, title_en, *dimensions, **fields)``.

    A table is national and by province, by quarter and by year, unless ``common`` (for every table of the
    family) or ``fields`` (for this one, e.g. ``**BY_YEAR``) say otherwise."""
    def table(id_: str, title_vi: str, title_en: str, *dimensions: CategoryList, **fields: Any) -> TableDef:
        values = {"geo_levels": NATIONAL_PROVINCE, "periods": QUARTER_YEAR, **common, **fields}
        return TableDef(id=id_, domain=domain, measure=measure, title_vi=title_vi, title_en=title_en,
                        dimensions=dimensions, **values)
    return table


def excluded_table(id_: str, domain: str, source: str, title_vi: str, title_en: str) -> TableDef:
    """The persons of measure ``source`` left out for lack of consent: national, by quarter and year (§2.2)."""
    return TableDef(id=id_, domain=domain, measure=f"{source}_excluded", kind="excluded", source=source,
                    title_vi=title_vi, title_en=title_en, geo_levels=("national",), periods=QUARTER_YEAR)


# Standard category lists shared by the domains: one grouping per variable for the whole catalogue.

ACT_FORM = category_list(
    # Law 13/2022/QH15 Art. 3: the four legal forms of domestic violence, plus other (§2.3 G2).
    "act_form", "law-13-2022.1", "Hình thức bạo lực", "Form of violence",
    [("PHYS", "Thể chất", "Physical"), ("MENT", "Tinh thần", "Mental"), ("SEXU", "Tình dục", "Sexual"),
     ("ECON", "Kinh tế", "Economic"), ("OTHER", "Khác", "Other")],
    multi_valued=True, sensitive=True)

# Circular 07/2017/TT-BVHTTDL bands (§2.3 G2); UNK keeps the categories adding up to the total.
AGE_GROUP = category_list("age_group", "tt-07-2017.1", "Nhóm tuổi", "Age group", [
    ("U16", "Dưới 16 tuổi", "Under 16"), ("A16_59", "Từ 16 đến 59 tuổi", "16 to 59"),
    ("A60", "Từ 60 tuổi trở lên", "60 and over"), ("UNK", "Không rõ", "Not known")])

SEX = category_list("sex", "2026.1", "Giới tính", "Sex",
                    [("F", "Nữ", "Female"), ("M", "Nam", "Male"), ("UNK", "Không rõ", "Not known")])

# §2.3 G5: Kinh / ethnic minority only; the 53 minority groups are near-unique in most provinces.
ETHNICITY = category_list(
    "ethnicity", "kinh-minority.1", "Dân tộc", "Ethnicity",
    [("KINH", "Kinh", "Kinh"), ("MINORITY", "Dân tộc thiểu số", "Ethnic minority"), ("UNK", "Không rõ", "Not known")],
    sensitive=True)
