"""A release: the frozen, audited set of cells for one quarter (disclosure-control §2.5, §2.7).

:func:`compute_release` is a pure function. Given the catalogue's tables, the counted cells, the
parameters and the earlier releases of the same year, it returns every cell with its one status flag,
the parameters, the method version and a manifest with the audit summary and the caveats. It raises
rather than return a release that fails the audit (§2.5 "never publish a failing release").

What is frozen stays frozen: a cell published by an earlier release keeps its value (never revised);
a cell suppressed earlier stays suppressed (sticky status); a correction to an earlier quarter shows
only in the year-end release, where the audit grants the attacker the size of the correction (§2.7).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from casework.stats import reconstruction, suppression
from casework.stats.catalogue import CatalogueError, CategoryList, TableDef, check_catalogue
from casework.stats.cells import CellKey, Geography, parse_period, period_sort_key, period_type, year_of
from casework.stats.counting import Counted
from casework.stats.lp_audit import TOL, Auditor, Requirement, State
from casework.stats.model import HIDDEN, TARGET, LedgerEntry, Model, build_model
from casework.stats.suppression import CellCheck, Check, FormCheck, Parameters, ReleaseError

METHOD = "sdc-suppression-v1"
PUBLISHED = "published"
SUPPRESSED = "suppressed"

# The final audit is by integer programming (§2.5 "LP versus ILP"); tests switch it off to show that
# the linear attacker alone misses what the integer one finds (T8).
FINAL_AUDIT_INTEGER = True

CAVEATS: tuple[dict[str, str], ...] = (
    {"vi": "Số liệu là số người bị bạo lực gia đình được tiếp nhận tại các địa chỉ tin cậy và đồng ý cho "
           "thống kê; đây không phải tỷ lệ bạo lực gia đình trong dân số.",
     "en": "Figures are persons received at trusted addresses who consented to be counted: reported cases, "
           "not the prevalence of domestic violence."},
    {"vi": "Mỗi người được tính một lần trong năm, vào quý và tại nơi tiếp nhận đầu tiên trong năm đó.",
     "en": "Each person is counted once a year, in the quarter and place of her first intake that year."},
    {"vi": "Một người có thể chịu nhiều hình thức bạo lực hoặc được chuyển gửi tới nhiều dịch vụ, nên các "
           "loại này không cộng lại bằng tổng.",
     "en": "A person may suffer several forms of violence or be referred to several services, so these "
           "categories do not add up to the total."},
    {"vi": "x: số liệu được ẩn để bảo vệ bí mật thông tin của những người được hỗ trợ.",
     "en": "x: figure withheld to protect the confidentiality of survivors."},
    {"vi": "Số liệu đã chốt không bao giờ được sửa; điều chỉnh (nếu có) chỉ xuất hiện trong số liệu cả năm.",
     "en": "Published figures are never revised; corrections, if any, appear only in the annual figures."},
    {"vi": "Số tiền được làm tròn đến 1.000.000 đồng.",
     "en": "Amounts of money are rounded to 1,000,000 VND."},
)
FOOTNOTE = CAVEATS[3]


@dataclass(frozen=True)
class ReleaseCell:
    key: CellKey
    tables: tuple[str, ...]
    status: str
    value: int | None  # None when suppressed: never 0, never a placeholder (§2.7)
    unit: str
    rounding_base: int


@dataclass(frozen=True)
class PercentSpec:
    """Publish each category of ``variable`` as a share of its total (§2.6 Percentages)."""

    measure: str
    variable: str
    decimals: int = 0
    id: str = "percent"


@dataclass(frozen=True)
class MeanSpec:
    """Publish money per person of the twin count, e.g. VND per funded survivor (§2.6 Averages)."""

    measure: str
    rounding: int = 1000
    id: str = "mean"


@dataclass(frozen=True)
class DerivedValue:
    id: str
    kind: str
    key: CellKey
    denominator: CellKey
    status: str
    value: str | None
    unit: str
    step: str  # the last digit's unit: "1", "0.1" for a percentage, "1000" for a mean in VND


@dataclass(frozen=True, eq=False)
class Release:
    """A computed release. Its ``repr`` names it (id, period, method, parameters) and leaves out what is
    large: a national release holds tens of thousands of cells and the whole geography, which a traceback, a
    log line or a failing test's report would otherwise print in full."""

    release_id: str
    period: str
    created_at: datetime
    method: str
    parameters: Parameters
    geography: Geography = field(repr=False)
    tables: tuple[TableDef, ...] = field(repr=False)
    cells: tuple[ReleaseCell, ...] = field(repr=False)
    derived: tuple[DerivedValue, ...] = field(repr=False)
    manifest: Mapping[str, Any] = field(repr=False)

    def cell(self, key: CellKey) -> ReleaseCell:
        return self._by_key()[key]

    def _by_key(self) -> dict[CellKey, ReleaseCell]:
        cache = self.__dict__.get("_index")
        if cache is None:
            cache = {c.key: c for c in self.cells}
            object.__setattr__(self, "_index", cache)
        return cache

    @property
    def year(self) -> str:
        return year_of(self.period)


@dataclass
class Diagnostics:
    """How the release was computed, for the benchmark; never part of a download."""

    primary: int = 0
    steps: int = 0
    linear_programs: int = 0
    insider_checks: int = 0
    insider_unrepairable: int = 0
    reconstruction_checks: int = 0
    rounds: int = 0


def compute_release(*, release_id: str, period: str, created_at: datetime, tables: Iterable[TableDef],
                    counted: Counted, geography: Geography, parameters: Parameters | None = None,
                    earlier: Sequence[Release] = (), derived: Sequence[PercentSpec | MeanSpec] = (),
                    diagnostics: Diagnostics | None = None,
                    progress: Callable[[int], None] | None = None) -> Release:
    """Freeze a release for ``period`` from counted cells; raise ReleaseError if it cannot be protected.

    ``earlier``: every release already published for the same year (the ledger); their cells enter the
    joint audit, keep their values and keep their suppressions.
    ``progress``: called with a whole percentage, 0 to 100, never decreasing, as the work goes on (the
    preview job and the command line show it); 100 only once the release has passed its final audit.
    """
    report = Progress(progress)
    params = parameters or Parameters()
    tables = tuple(sorted(tables, key=lambda t: t.id))
    _check_inputs(release_id, period, created_at, tables, counted, earlier)
    ledger = ledger_entries(earlier, year_of(period))
    model = build_model(tables, counted, ledger, geography)
    report(5)
    requirements = suppression.primary_requirements(model, params)
    auditor = Auditor(model, spread=params.pr)
    diag = diagnostics if diagnostics is not None else Diagnostics()
    diag.primary = len(requirements)

    state = suppression.initial_state(model, requirements)
    base = suppression.cell_checks(model, requirements)
    fine = reconstruction.reconstruction_checks(model, counted.microcubes, geography, params)
    report(10)
    state, checks = _audit_and_fix(auditor, state, base, fine, requirements, params, diag, report)

    cells = _release_cells(model, tables, state)
    derived_values = _derived(model, cells, derived)
    _add_derived_constraints(model, derived_values)
    auditor = Auditor(model, spread=params.pr)  # the derived constraints change the system: audit it afresh
    report(85)
    failing = final_audit(auditor, checks, state, report.between(85, 99))
    if failing:
        raise ReleaseError(f"{len(failing)} checks fail the final audit; the release is not published")
    diag.linear_programs += auditor.solves

    audit = _audit_summary(auditor, base, state, year_of(period), earlier, ledger)
    audit["insider_pairs_beyond_repair"] = diag.insider_unrepairable
    manifest = _manifest(release_id, period, created_at, params, geography, tables, cells, derived_values, audit)
    out = Release(release_id, period, created_at, METHOD, params, geography, tables, tuple(cells),
                  tuple(derived_values), manifest)
    report(100)
    return out


class Progress:
    """A percentage that only goes up, passed to the caller's callback when it changes."""

    def __init__(self, callback: Callable[[int], None] | None) -> None:
        self.callback = callback
        self.value = -1

    def __call__(self, percent: float) -> None:
        whole = max(0, min(100, int(percent)))
        if self.callback is not None and whole > self.value:
            self.value = whole
            self.callback(whole)

    def between(self, low: float, high: float) -> Callable[[float], None]:
        """A callback for a fraction (0..1) of the work between two percentages."""
        return lambda fraction: self(low + (high - low) * max(0.0, min(1.0, fraction)))


def _check_inputs(release_id: str, period: str, created_at: datetime, tables: tuple[TableDef, ...],
                  counted: Counted, earlier: Sequence[Release]) -> None:
    parse_period(period)
    if counted.period != period:
        raise ValueError(f"cells were counted for {counted.period}, not {period}")
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    problems = check_catalogue(list(tables))
    persons = {t.measure for t in tables if t.kind == "persons"}
    problems += [f"table {t.id}: pattern_of {t.pattern_of} is not a person count of this release"
                 for t in tables if t.pattern_of and t.pattern_of not in persons]
    problems += [f"table {t.id}: source {t.source} is not a person count of this release"
                 for t in tables if t.kind == "excluded" and t.source not in persons]
    problems += [f"table {t.id}: events_of {t.events_of} is not a person count of this release"
                 for t in tables if t.events_of and t.events_of not in persons]
    if problems:
        raise CatalogueError("; ".join(problems))
    for other in earlier:
        if other.release_id == release_id:
            raise ValueError(f"release {release_id} already exists")
        if year_of(other.period) == year_of(period) and period_sort_key(other.period) > period_sort_key(period):
            raise ValueError(f"release {other.release_id} is later than {period}")


def ledger_entries(earlier: Sequence[Release], year: str) -> dict[CellKey, LedgerEntry]:
    """Every cell of the year's earlier releases, with its status and published value (§2.7 Ledger)."""
    out: dict[CellKey, LedgerEntry] = {}
    for release in sorted(earlier, key=lambda r: (period_sort_key(r.period), r.release_id)):
        if release.year != year:
            continue
        for cell in release.cells:
            entry = LedgerEntry(cell.status, cell.value, cell.rounding_base)
            known = out.get(cell.key)
            if known is not None and known != entry:
                raise ValueError(f"the ledger holds two versions of {cell.key.label()}")
            out[cell.key] = entry
    return out


def _audit_and_fix(auditor: Auditor, state: State, base: list[CellCheck], fine: list[FormCheck],
                   requirements: dict[int, Requirement], params: Parameters, diag: Diagnostics,
                   report: Progress | None = None) -> tuple[State, list[Check]]:
    """§2.5: the fast linear loop, then the insider and reconstruction checks, then the integer audit;
    any failure adds suppressions and the whole audit runs again."""
    integer = False

    def step() -> None:
        diag.steps += 1

    report = report or Progress(None)
    state = suppression.balance(auditor, state, set(requirements), on_step=step)
    unrepairable: list[Check] = []
    low = 15.0
    report(low)
    while True:
        diag.rounds += 1
        # Rounds repeat until nothing changes: each takes half of what is left before the final audit
        # (the linear loop up to 70 %, the integer one after).
        high = low + ((70.0 if not integer else 84.0) - low) / 2
        insider = suppression.insider_checks(auditor, state, requirements, params.k)
        revision = suppression.revision_checks(auditor, state, requirements)
        unrepairable.clear()
        checks: list[Check] = [*base, *fine, *insider, *revision]
        new = suppression.protect(auditor, checks, state, params, integer, set(requirements), on_step=step,
                                  unrepairable=unrepairable, progress=report.between(low, high))
        low = high
        diag.insider_checks, diag.reconstruction_checks = len(insider), len(fine)
        if new != state:
            state = new
            continue
        if integer or not FINAL_AUDIT_INTEGER:
            diag.linear_programs += auditor.solves
            diag.insider_unrepairable = len(unrepairable)
            flagged = {c.order for c in unrepairable}
            return state, [c for c in checks if c.order not in flagged]
        integer = True
        low = max(low, 70.0)


def final_audit(auditor: Auditor, checks: Sequence[Check], state: State,
                progress: Callable[[float], None] | None = None) -> list[Check]:
    """Every check solved once more on the final pattern, by the integer attacker (§2.5 "final audit")."""
    failing: list[Check] = []
    for i, check in enumerate(checks):
        if check.deficit(auditor, state, FINAL_AUDIT_INTEGER) > TOL:
            failing.append(check)
        if progress is not None and i % 50 == 0:
            progress(i / max(1, len(checks)))
    return failing


def _tables_of(key: CellKey, tables: tuple[TableDef, ...]) -> tuple[str, ...]:
    dims = {d for d, _ in key.dims}
    return tuple(t.id for t in tables if t.measure == key.measure and key.geo_level in t.geo_levels
                 and period_type(key.period) in t.periods and dims <= set(t.dimension_ids))


def _release_cells(model: Model, tables: tuple[TableDef, ...], state: State) -> list[ReleaseCell]:
    by_measure = {t.measure: t for t in tables}
    out: list[ReleaseCell] = []
    for v, var in enumerate(model.vars):
        if var.role != TARGET or var.key.hidden:
            continue
        table = by_measure[var.key.measure]
        member = _tables_of(var.key, tables)
        if var.ledger is not None:
            # Published values are never revised; suppressed stays suppressed (§2.7, sticky status).
            out.append(ReleaseCell(var.key, member, var.ledger.status, var.ledger.value, table.unit,
                                   var.ledger.rounding_base))
            continue
        if v in state.suppressed:
            out.append(ReleaseCell(var.key, member, SUPPRESSED, None, table.unit, table.rounding_base))
        else:
            out.append(ReleaseCell(var.key, member, PUBLISHED, _rounded(var.value, table.rounding_base),
                                   table.unit, table.rounding_base))
    for key, entry in model.idle_targets:
        # A unit with nothing this year: zeros (an earlier release published the same zeros).
        table = by_measure[key.measure]
        base = entry.rounding_base if entry is not None else table.rounding_base
        out.append(ReleaseCell(key, _tables_of(key, tables), PUBLISHED, 0, table.unit, base))
    out.sort(key=lambda c: c.key.sort_key())
    return out


def _rounded(value: float | None, base: int) -> int:
    # §2.6: money is rounded after the audit; rounding only widens the attacker's intervals.
    exact = Decimal(int(round(value or 0)))
    return int((exact / base).quantize(Decimal(1), rounding=ROUND_HALF_UP) * base)


# --- derived statistics (§2.6, T10) ---------------------------------------------------------------

def derived_publishable(numerator: ReleaseCell, denominator: ReleaseCell) -> bool:
    """A percentage or mean is published only from published cells (§2.6)."""
    return numerator.status == PUBLISHED and denominator.status == PUBLISHED and bool(denominator.value)


def _derived(model: Model, cells: list[ReleaseCell], specs: Sequence[PercentSpec | MeanSpec]) -> list[DerivedValue]:
    by_key = {c.key: c for c in cells}
    out: list[DerivedValue] = []
    for spec in specs:
        for cell in cells:
            if cell.key.measure != spec.measure:
                continue
            if isinstance(spec, PercentSpec):
                if cell.key.dim(spec.variable) == "_T":
                    continue
                den = by_key.get(cell.key.without(spec.variable))
                unit = "percent"
            else:
                group = model.twins.get(model.index.get(cell.key, -1), ())
                twins = [model.vars[w].key for w in group if model.vars[w].kind == "persons"]
                den = by_key.get(twins[0]) if twins else None
                unit = "vnd"
            if den is None:
                continue
            value = None
            num, den_value = _value(model, cell.key), _value(model, den.key)
            if derived_publishable(cell, den) and num is not None and den_value is not None:
                value = _derived_value(spec, num, den_value)
            step = str(Decimal(1).scaleb(-spec.decimals)) if isinstance(spec, PercentSpec) else str(spec.rounding)
            out.append(DerivedValue(spec.id, "percent" if isinstance(spec, PercentSpec) else "mean", cell.key,
                                    den.key, PUBLISHED if value is not None else SUPPRESSED, value, unit, step))
    out.sort(key=lambda d: (d.id, d.key.sort_key()))
    return out


def _value(model: Model, key: CellKey) -> float | None:
    v = model.index.get(key)
    return model.vars[v].value if v is not None else 0.0  # a cell of an idle unit is a published 0


def _derived_value(spec: PercentSpec | MeanSpec, num: float, den: float) -> str:
    if isinstance(spec, PercentSpec):
        q = Decimal(1).scaleb(-spec.decimals)
        return str((Decimal(int(num)) * 100 / Decimal(int(den))).quantize(q, rounding=ROUND_HALF_UP))
    mean = (Decimal(int(num)) / Decimal(int(den)) / spec.rounding).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return str(int(mean * spec.rounding))


def derived_constraints(model: Model, values: Sequence[DerivedValue]) -> list[tuple[list[tuple[int, float]], float]]:
    """Each published percentage p (± half its last digit) or mean m (± half its rounding) is a pair of
    inequalities on its numerator x and denominator N: ``N·(p−h)/100 ≤ x ≤ N·(p+h)/100`` (§2.6)."""
    rows: list[tuple[list[tuple[int, float]], float]] = []
    for d in values:
        if d.status != PUBLISHED or d.value is None:
            continue
        x, n = model.index[d.key], model.index[d.denominator]
        value, half = Decimal(d.value), Decimal(d.step) / 2
        if d.kind == "percent":
            hi, lo = float((value + half) / 100), float((value - half) / 100)
        else:
            hi, lo = float(value + half), float(value - half)
        rows.append(([(x, 1.0), (n, -hi)], 0.0))
        rows.append(([(x, -1.0), (n, lo)], 0.0))
    return rows


def _add_derived_constraints(model: Model, values: Sequence[DerivedValue]) -> None:
    for terms, rhs in derived_constraints(model, values):
        model.add_ub(terms, rhs)


# --- manifest (§2.7) --------------------------------------------------------------------------------

def _audit_summary(auditor: Auditor, base: list[CellCheck], state: State, year: str, earlier: Sequence[Release],
                   ledger: Mapping[CellKey, LedgerEntry]) -> dict[str, Any]:
    model = auditor.model
    widths = []
    for check in base:
        if check.requirement.width:
            low, high = auditor.interval(check.requirement.var, state, FINAL_AUDIT_INTEGER)
            widths.append(high - low)
    finite = [w for w in widths if w != float("inf")]
    targets = [v for v, var in enumerate(model.vars) if var.role == TARGET and not var.key.hidden]
    suppressed = [v for v in targets if v in state.suppressed or _ledger_status(model.vars[v].ledger) == SUPPRESSED]
    return {
        "cells": len(targets) + len(model.idle_targets),
        "suppressed": len(suppressed),
        "smallest_protected_width": int(min(finite)) if finite else None,
        "attacker": "integer programming (scipy.optimize.milp, HiGHS)" if FINAL_AUDIT_INTEGER
                    else "linear programming (HiGHS through highspy)",
        "requirements": ["R1", "R2", "R3", "R4"],
        "insider_check": "passed",
        "reconstruction_check": "passed",
        "joint_with": sorted(r.release_id for r in earlier if r.year == year),
        "ledger_cells": len(ledger),
        "hidden_cells": sum(1 for var in model.vars if var.role == HIDDEN),
    }


def _ledger_status(entry: LedgerEntry | None) -> str | None:
    return entry.status if entry is not None else None


def _manifest(release_id: str, period: str, created_at: datetime, params: Parameters, geography: Geography,
              tables: tuple[TableDef, ...], cells: list[ReleaseCell], derived: list[DerivedValue],
              audit: dict[str, Any]) -> dict[str, Any]:
    lists = {d.id: d for t in tables for d in t.dimensions}
    return {
        "release_id": release_id,
        "period": period,
        "created_at": created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "method": METHOD,
        "parameters": params.as_dict(),
        "geography_scheme": geography.scheme,
        # Issue 15: the administrative-unit data the names come from, with its date.
        "geography_data": _geography_data(),
        "tables": [_table_json(t) for t in tables],
        "code_lists": [_list_json(lists[k]) for k in sorted(lists)],
        "audit": audit,
        "caveats": [dict(c) for c in CAVEATS],
        "footnote": dict(FOOTNOTE),
        "snapshot_hash": snapshot_hash(cells, derived),
    }


def _geography_data() -> dict[str, str]:
    from casework.geo.data import data_version

    return data_version()


def _table_json(t: TableDef) -> dict[str, Any]:
    return {"id": t.id, "domain": t.domain, "title_vi": t.title_vi, "title_en": t.title_en, "measure": t.measure,
            "kind": t.kind, "unit": t.unit, "geo_levels": list(t.geo_levels), "periods": list(t.periods),
            "dimensions": [d.id for d in t.dimensions], "tier": t.tier, "rounding_base": t.rounding_base,
            # What a reader may state about the table (issue 16): one category per event, and whose
            # persons the events belong to; the attacker of the audit knows both.
            "single_valued": list(t.single_valued), "events_of": t.events_of}


def _list_json(cl: CategoryList) -> dict[str, Any]:
    return {"id": cl.id, "variable": cl.variable, "version": cl.version, "label_vi": cl.label_vi,
            "label_en": cl.label_en, "multi_valued": cl.multi_valued,
            "categories": [{"code": c.code, "label_vi": c.label_vi, "label_en": c.label_en} for c in cl.categories]}


def snapshot_hash(cells: Iterable[ReleaseCell], derived: Iterable[DerivedValue] = ()) -> str:
    """A hash of what the release publishes, never of the true counts: a hash of the counts behind
    suppressed cells could be inverted by trying the few small values they can take (§2.7)."""
    h = hashlib.sha256()
    for c in cells:
        h.update(f"{c.key.label()}|{c.status}|{'' if c.value is None else c.value}\n".encode())
    for d in derived:
        h.update(f"{d.id}|{d.key.label()}|{d.status}|{d.value or ''}\n".encode())
    return "sha256:" + h.hexdigest()
