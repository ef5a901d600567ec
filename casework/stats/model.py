"""The attacker's constraint system: every cell a reader knows or can name, and every additive
relation between them (disclosure-control §2.5 "The model").

Variables are the cells of this release, the cells of earlier releases of the same year (the ledger),
the earlier quarters as counted now, and hidden cells that are never published: the complement
"does not have category c" of each multi-valued indicator (§2.2) and any cell of a grid that no
release published. Relations, all of the form ``Σ a·y = 0``:

- geography: national = Σ provinces; province = Σ its communes;
- time: year = Σ quarters;
- categories: total = Σ categories (single-valued); total = has(c) + not-has(c) (multi-valued);
- shared cells across tables are one variable (the key ignores the table), so they are one equation;
- derived statistics (published percentages and means) add inequalities (§2.6, T10).

Whether a variable is known to the attacker depends on the suppression state; see ``lp_audit``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from casework.stats.catalogue import COMPLEMENT, CategoryList, TableDef
from casework.stats.cells import CellKey, CountedCell, Geography, parse_period, period_type, quarters_of
from casework.stats.counting import Counted

TARGET = "target"    # published or suppressed by this release
CONTEXT = "context"  # counted now, not part of this release (earlier quarters; ledger cells)
HIDDEN = "hidden"    # never published: complements and unpublished grid cells


@dataclass(frozen=True)
class LedgerEntry:
    """What an earlier release of the same year made public about a cell (§2.7 Ledger)."""

    status: str
    value: int | None
    rounding_base: int = 1


@dataclass
class Var:
    key: CellKey
    role: str
    kind: str
    value: float | None  # the true value now; None when not known to the engine either
    persons: int | None = None
    top: tuple[int, int] = (0, 0)
    ledger: LedgerEntry | None = None

    @property
    def integer(self) -> bool:
        # Person and event counts are integers (the integer attacker of T8); money is modelled as
        # continuous, which only weakens the attacker by less than one đồng.
        return self.kind != "money"

    @property
    def scale(self) -> float:
        # Money in millions of đồng keeps HiGHS's absolute tolerances meaningful next to counts.
        return 1e6 if self.kind == "money" else 1.0

    @property
    def rounding(self) -> float:
        """How far a published value may be from the exact one: half the rounding base (§2.6)."""
        if self.ledger is None or self.ledger.rounding_base <= 1:
            return 0.0
        return self.ledger.rounding_base / 2

    @property
    def revised(self) -> bool:
        """Published by an earlier release, and different now: a correction made since (§2.7 Revisions).
        The published value stays as it was; the current value reaches only the year-end figures."""
        if self.ledger is None or self.ledger.status != "published" or self.ledger.value is None:
            return False
        return self.value is not None and abs(self.value - self.ledger.value) > self.rounding


@dataclass
class Model:
    vars: list[Var] = field(default_factory=list)
    index: dict[CellKey, int] = field(default_factory=dict)
    eq_rows: list[tuple[tuple[int, ...], tuple[float, ...]]] = field(default_factory=list)
    ub_rows: list[tuple[tuple[int, ...], tuple[float, ...], float]] = field(default_factory=list)
    rows_of: list[list[int]] = field(default_factory=list)  # row ids: eq rows first, then ub rows
    twins: dict[int, tuple[int, ...]] = field(default_factory=dict)
    multi_valued: dict[tuple[str, str], bool] = field(default_factory=dict)  # (measure, variable)
    sensitive: dict[str, bool] = field(default_factory=dict)
    # Cells left out of the system: every cell of a unit (a province or commune) with no record and no
    # published non-zero or withheld cell in the year, for a family of linked measures. They are
    # published zeros, known to everyone, and need no protection (issue 16): (measure, level, code).
    idle: frozenset[tuple[str, str, str]] = frozenset()
    idle_targets: list[tuple[CellKey, LedgerEntry | None]] = field(default_factory=list)
    _seen_rows: set[tuple[tuple[int, float], ...]] = field(default_factory=set, repr=False)

    def multi(self, measure: str, variable: str) -> bool:
        """Whether one unit of ``measure`` may fall in several categories of ``variable`` (§2.2); a
        referral has one service although a person may have several (``TableDef.single_valued``)."""
        return self.multi_valued.get((measure, variable), False)

    def add_var(self, var: Var) -> int:
        if var.key in self.index:
            return self.index[var.key]
        self.index[var.key] = len(self.vars)
        self.vars.append(var)
        self.rows_of.append([])
        return self.index[var.key]

    def add_eq(self, terms: Iterable[tuple[int, float]]) -> None:
        merged: dict[int, float] = defaultdict(float)
        for v, a in terms:
            merged[v] += a
        items = tuple(sorted((v, a) for v, a in merged.items() if a != 0))
        if len(items) < 2 or items in self._seen_rows:
            return
        self._seen_rows.add(items)
        row_id = len(self.eq_rows)
        if self.ub_rows:
            raise RuntimeError("equalities are added before inequalities")
        self.eq_rows.append((tuple(v for v, _ in items), tuple(a for _, a in items)))
        for v, _ in items:
            self.rows_of[v].append(row_id)

    def add_ub(self, terms: Iterable[tuple[int, float]], rhs: float) -> None:
        items = tuple(sorted(terms))
        row_id = len(self.eq_rows) + len(self.ub_rows)
        self.ub_rows.append((tuple(v for v, _ in items), tuple(a for _, a in items), rhs))
        for v, _ in items:
            self.rows_of[v].append(row_id)

    def row(self, row_id: int) -> tuple[tuple[int, ...], tuple[float, ...], str, float]:
        """(variables, coefficients, sense, right-hand side) with sense ``=`` or ``<=``."""
        if row_id < len(self.eq_rows):
            vs, cs = self.eq_rows[row_id]
            return vs, cs, "=", 0.0
        vs, cs, rhs = self.ub_rows[row_id - len(self.eq_rows)]
        return vs, cs, "<=", rhs


def families(tables: Iterable[TableDef]) -> dict[str, str]:
    """Each measure's family: measures tied by a shared pattern, by events of their persons, or by the
    persons they leave out, are one family (named by its smallest measure)."""
    parent: dict[str, str] = {}

    def find(m: str) -> str:
        parent.setdefault(m, m)
        while parent[m] != m:
            m = parent[m]
        return m

    for t in tables:
        find(t.measure)
        for other in (t.pattern_of, t.events_of, t.source):
            if other:
                a, b = sorted((find(t.measure), find(other)))
                parent[b] = a
    return {m: find(m) for m in list(parent)}


def idle_units(tables: Iterable[TableDef], counted: Counted,
               ledger: Mapping[CellKey, LedgerEntry]) -> frozenset[tuple[str, str, str]]:
    """(measure, level, code) of every province or commune where a family of measures has no record this
    year and no cell of an earlier release that is withheld or non-zero: all its cells are zeros that
    everyone can see, and a zero cell needs no protection (§2.4 P1 starts at 1). Leaving them out of
    the attacker's system changes no bound: in every relation they are the constant 0."""
    family = families(tables)
    seen: set[tuple[str, str, str]] = set()
    busy: set[tuple[str, str, str]] = set()
    for cell in (*counted.cells.values(), *counted.context.values()):
        key = cell.key
        if key.geo_level == "national" or key.measure not in family:
            continue
        unit = (family[key.measure], key.geo_level, key.geo_code)
        seen.add(unit)
        if cell.value:
            busy.add(unit)
    for key, entry in ledger.items():
        if key.measure in family:
            unit = (family[key.measure], key.geo_level, key.geo_code)
            if entry.status != "published" or entry.value:
                busy.add(unit)
    quiet = seen - busy
    return frozenset((m, level, code) for m, f in family.items() for f2, level, code in quiet if f2 == f)


def build_model(tables: Iterable[TableDef], counted: Counted, ledger: Mapping[CellKey, LedgerEntry],
                geography: Geography, skip_idle: bool = True) -> Model:
    tables = list(tables)
    kinds = {t.measure: t.kind for t in tables}
    lists: dict[str, CategoryList] = {d.variable: d for t in tables for d in t.dimensions}
    model = Model(multi_valued={(t.measure, d.variable): t.multi_valued(d.variable)
                                for t in tables for d in t.dimensions},
                  sensitive={v: cl.sensitive for v, cl in lists.items()},
                  idle=idle_units(tables, counted, ledger) if skip_idle else frozenset())

    def idle(key: CellKey) -> bool:
        return (key.measure, key.geo_level, key.geo_code) in model.idle

    for cell in sorted(counted.cells.values(), key=lambda c: c.key.sort_key()):
        if idle(cell.key):
            if not cell.key.hidden:
                model.idle_targets.append((cell.key, ledger.get(cell.key)))
            continue
        _add_counted(model, cell, TARGET, kinds, ledger)
    for cell in sorted(counted.context.values(), key=lambda c: c.key.sort_key()):
        if not idle(cell.key):
            _add_counted(model, cell, CONTEXT, kinds, ledger)
    for key in sorted(ledger, key=CellKey.sort_key):
        if key not in model.index and key.measure in kinds and not idle(key):
            model.add_var(Var(key, CONTEXT, kinds[key.measure], None, ledger=ledger[key]))
    _add_complements(model)
    _add_relations(model, geography, lists)
    _add_inequalities(model, tables, lists)
    _add_twins(model, tables)
    return model


def _add_counted(model: Model, cell: CountedCell, role: str, kinds: Mapping[str, str],
                 ledger: Mapping[CellKey, LedgerEntry]) -> None:
    model.add_var(Var(cell.key, HIDDEN if cell.key.hidden else role, kinds[cell.key.measure], float(cell.value),
                      cell.persons, cell.top, ledger.get(cell.key)))


def _complement_key(key: CellKey, variable: str) -> CellKey:
    return key.with_dim(variable, COMPLEMENT + key.dim(variable))


def _add_complements(model: Model) -> None:
    for v in range(len(model.vars)):
        var = model.vars[v]
        for variable, code in var.key.dims:
            if not model.multi(var.key.measure, variable) or code.startswith(COMPLEMENT):
                continue
            if _complement_key(var.key, variable) in model.index:
                continue  # counted directly, with the persons behind it (events)
            parent = model.index.get(var.key.without(variable))
            parent_value = model.vars[parent].value if parent is not None else None
            value = parent_value - var.value if parent_value is not None and var.value is not None else None
            # Persons behind a complement of a person count are the complement itself; for events or
            # money they are unknown unless counted, and the primary rules then assume the worst.
            persons = int(value) if value is not None and var.kind in ("persons", "excluded") else None
            model.add_var(Var(_complement_key(var.key, variable), HIDDEN, var.kind, value, persons))


def _hidden(model: Model, key: CellKey, kind: str) -> int:
    if key in model.index:
        return model.index[key]
    return model.add_var(Var(key, HIDDEN, kind, None))


def _add_relations(model: Model, geography: Geography, lists: Mapping[str, CategoryList]) -> None:
    groups: dict[tuple[CellKey, str], list[int]] = defaultdict(list)
    v = 0
    while v < len(model.vars):  # hidden cells created on the way get their relations too
        key = model.vars[v].key
        kind = model.vars[v].kind
        if not key.hidden:
            _geo_relation(model, key, kind, geography)
            _time_relation(model, key, kind)
        for variable, code in key.dims:
            if code.startswith(COMPLEMENT):
                continue
            parent = _hidden(model, key.without(variable), kind)
            if model.multi(key.measure, variable):
                model.add_eq([(parent, 1.0), (v, -1.0), (_hidden(model, _complement_key(key, variable), kind), -1.0)])
            else:
                groups[(key.without(variable), variable)].append(v)
        v += 1
    for (parent_key, variable), _ in sorted(groups.items(), key=lambda g: (g[0][0].sort_key(), g[0][1])):
        kind = model.vars[model.index[parent_key]].kind
        children = [_hidden(model, parent_key.with_dim(variable, code), kind) for code in lists[variable].codes()]
        model.add_eq([(model.index[parent_key], 1.0)] + [(c, -1.0) for c in children])


def _add_inequalities(model: Model, tables: list[TableDef], lists: Mapping[str, CategoryList]) -> None:
    """The structural facts that are inequalities, derived from the table declarations (issue 16):

    - a multi-valued breakdown of persons adds up to at least its total: everyone counted has at least
      one category (a referred person was referred to some service, a funded one reached a stage);
      each category is at most the total already, through its hidden complement;
    - a table of persons never exceeds the table of events it counts (``TableDef.events_of``), cell by
      cell: every referred person has at least one referral in her cell.

    A relation enters only where it holds for the true counts: where the data break it (a survivor
    recorded with no form of violence; a woman first referred in one province and counted there with a
    service she was referred to in another) a reader who assumes it assumes something false, and the
    engine cannot model a false belief as a constraint the truth must satisfy. Everywhere else the
    attacker is granted the fact, so the audit is at least as strong as a reader of the documentation.
    """
    kinds = {t.measure: t.kind for t in tables}
    groups: dict[tuple[CellKey, str], list[int]] = defaultdict(list)
    for v, var in enumerate(model.vars):
        if kinds.get(var.key.measure) != "persons":
            continue
        for variable, code in var.key.dims:
            if not code.startswith(COMPLEMENT) and model.multi(var.key.measure, variable):
                groups[(var.key.without(variable), variable)].append(v)
    for (parent_key, variable), _ in sorted(groups.items(), key=lambda g: (g[0][0].sort_key(), g[0][1])):
        parent = model.index.get(parent_key)
        found = [model.index.get(parent_key.with_dim(variable, c)) for c in lists[variable].codes()]
        children = [c for c in found if c is not None]
        if parent is None or len(children) != len(found):
            continue
        values = [model.vars[u].value for u in (parent, *children)]
        known = [x for x in values if x is not None]
        if len(known) != len(values) or sum(known[1:]) < known[0]:
            continue
        model.add_ub([(parent, 1.0)] + [(c, -1.0) for c in children], 0.0)
    for table in sorted({t.measure: t for t in tables if t.events_of}.values(), key=lambda t: t.measure):
        for v in range(len(model.vars)):
            var = model.vars[v]
            if var.key.measure != table.measure:
                continue
            person = model.index.get(CellKey(table.events_of, var.key.geo_level, var.key.geo_code,  # type: ignore[arg-type]
                                             var.key.period, var.key.dims))
            if person is None:
                continue
            p, e = model.vars[person].value, var.value
            if p is None or e is None or p > e:
                continue
            model.add_ub([(person, 1.0), (v, -1.0)], 0.0)


def _geo_relation(model: Model, key: CellKey, kind: str, geography: Geography) -> None:
    if key.geo_level == "national":
        child_keys = [key.at("province", p) for p in geography.province_codes]
    elif key.geo_level == "province":
        child_keys = [key.at("commune", c) for c in geography.communes_by_province.get(key.geo_code, ())]
    else:
        return
    child_keys = [k for k in child_keys if (k.measure, k.geo_level, k.geo_code) not in model.idle]  # zeros
    # A relation holds only over the complete set of children; if no child was ever tabulated the
    # relation tells the attacker nothing and is left out.
    if not any(k in model.index for k in child_keys):
        return
    children = [_hidden(model, k, kind) for k in child_keys]
    model.add_eq([(model.index[key], 1.0)] + [(c, -1.0) for c in children])


def _time_relation(model: Model, key: CellKey, kind: str) -> None:
    if period_type(key.period) != "year":
        return
    quarter_keys = [key.in_period(q) for q in quarters_of(parse_period(key.period)[0])]
    if not any(k in model.index for k in quarter_keys):
        return
    quarters = [_hidden(model, k, kind) for k in quarter_keys]
    model.add_eq([(model.index[key], 1.0)] + [(q, -1.0) for q in quarters])


def _add_twins(model: Model, tables: list[TableDef]) -> None:
    """Cells that share one suppression status: events and money with their person count (§2.2, L2)."""
    links: dict[int, set[int]] = defaultdict(set)
    for table in tables:
        if not table.pattern_of:
            continue
        for v, var in enumerate(model.vars):
            if var.key.measure != table.measure or var.key.hidden:
                continue
            twin = model.index.get(var.key.of_measure(table.pattern_of, table.pattern_dims))
            if twin is not None:
                links[v].add(twin)
                links[twin].add(v)
    # The closure: a money cell, its funded-persons twin, and anything else tied to either.
    for start in sorted(links):
        group, todo = {start}, [start]
        while todo:
            for w in links[todo.pop()]:
                if w not in group:
                    group.add(w)
                    todo.append(w)
        model.twins[start] = tuple(sorted(group))


def twin_group(model: Model, v: int) -> tuple[int, ...]:
    return model.twins.get(v, (v,))
