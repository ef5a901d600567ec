"""The attacker's bounds by linear and integer programming with HiGHS: highspy for the linear programs,
scipy's milp for the integer ones (disclosure-control §2.5).

For a cell ``i`` the attacker computes ``L_i = min y_i`` and ``U_i = max y_i`` subject to every relation
of the model, the published values (fixed), and ``y ≥ 0`` for what is suppressed or hidden. A release
passes when every primary cell satisfies (§2.5 "Protection requirement"):

- R1 no exact disclosure: ``U > L``;
- R2 no existence disclosure: ``L = 0``;
- R3 width: ``U − L ≥ PR`` (PR = k);
- R4 money: ``U ≥ x + UPL`` and ``L ≤ x − LPL`` (p% protection levels, LPL = UPL).

Published cells are constants, so the system falls apart into small connected components of unknown
cells; each bound is solved on its component alone (the speed-up that makes a national release
auditable on two cores). HiGHS through ``highspy`` serves the fast loop, one program per component
re-solved for each objective; ``milp`` gives the integer attacker of the final audit (T8), whose bounds
can be tighter on three-way and hierarchical tables.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import highspy
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from casework.stats.model import CONTEXT, HIDDEN, TARGET, Model, Var

TOL = 1e-6
INF = math.inf

FloatArray = np.ndarray
Row = tuple[dict[int, float], float]  # {column: coefficient}, right-hand side
Pins = tuple[tuple[int, float], ...]
MatrixPair = tuple[np.ndarray | csr_array | None, np.ndarray | None]  # A and b, or none
# A component's program: equalities, inequalities, lower and upper bounds and scales (in scaled units),
# each cell's column, and the matrices.
System = tuple[list[Row], list[Row], FloatArray, FloatArray, FloatArray, dict[int, int],
               tuple[MatrixPair, MatrixPair] | None]
Solution = tuple[float, bool, FloatArray | None]  # minimum, integral, a point reaching it
# What the attacker knows of a cell (``Auditor.resolve``).
Known = (tuple[Literal["fixed"], float] | tuple[Literal["det"], float, int]
         | tuple[Literal["comp"], tuple[int, ...]])
# Per cell: what is known and its region; per region: the cells peeling gives away.
Memo = tuple[dict[int, Known], dict[int, tuple[int, ...]], dict[tuple[int, ...], tuple[int, ...]]]


class AuditError(RuntimeError):
    """The constraint system is inconsistent: the counts contradict the relations (a counting defect)."""


@dataclass(frozen=True)
class State:
    """Which target cells are suppressed, and cells pinned to a value: an insider's knowledge (T11),
    or a reader's belief that a corrected figure is still the published one (T14)."""

    suppressed: frozenset[int]
    pinned: tuple[tuple[int, float], ...] = ()

    def suppress(self, cells: tuple[int, ...] | list[int] | set[int]) -> State:
        return State(self.suppressed | frozenset(cells), self.pinned)

    def pin(self, *pins: tuple[int, float]) -> State:
        return State(self.suppressed, tuple(sorted({**dict(self.pinned), **dict(pins)}.items())))


@dataclass(frozen=True)
class Requirement:
    """What the attacker must not learn about one primary cell (§2.5 R1–R4)."""

    var: int
    width: float = 0.0            # R3
    existence: bool = True        # R2
    upper: float | None = None    # R4: U must reach at least this
    lower: float | None = None    # R4: L must reach at most this
    scale: float = 1.0            # unit of R2/R4 deficits: 1 person, or a share of a money cell's level


def deficit(req: Requirement, low: float, high: float) -> float:
    """How far a bound pair is from meeting the requirement: 0 when it is met (§2.5 "deficit")."""
    d = 0.0
    if high - low <= TOL:
        d += 1.0  # R1
    if req.width:
        d += max(0.0, req.width - (high - low))
    if req.existence and low > TOL * req.scale:
        d += low / req.scale
    if req.upper is not None and high < req.upper - TOL * max(1.0, abs(req.upper)):
        d += (req.upper - high) / req.scale
    if req.lower is not None and low > req.lower + TOL * max(1.0, abs(req.lower)):
        d += (low - req.lower) / req.scale
    return d


@dataclass
class Auditor:
    """Bounds on cells and linear forms of the model, cached by component."""

    model: Model
    solves: int = 0
    # Programs solved, by component, objective and pins (and "integer" for the integer attacker's).
    _solutions: dict[tuple[object, ...], Solution] = field(default_factory=dict, repr=False)
    # The optimal row duals of the linear programs above, where HiGHS solved them (``bound_after``).
    _duals: dict[tuple[object, ...], FloatArray] = field(default_factory=dict, repr=False)
    _last_duals: FloatArray | None = field(default=None, repr=False)
    _comp_rows: dict[tuple[int, ...], list[int]] = field(default_factory=dict, repr=False)
    _spread_done: set[tuple[object, ...]] = field(default_factory=set, repr=False)
    _positions: dict[tuple[int, ...], dict[int, int]] = field(default_factory=dict, repr=False)
    _truths: dict[tuple[int, ...], FloatArray | None] = field(default_factory=dict, repr=False)
    _integers: list[int] = field(default_factory=list, repr=False)  # 1 for a counted cell, by cell
    _ints: dict[tuple[int, ...], FloatArray] = field(default_factory=dict, repr=False)
    _open_rows: dict[tuple[int, ...], bool] = field(default_factory=dict, repr=False)
    _cannot_pin: set[tuple[object, ...]] = field(default_factory=set, repr=False)
    _systems: dict[tuple[tuple[int, ...], Pins], System] = field(default_factory=dict, repr=False)
    # One HiGHS program per component and pins, re-solved with each new objective from the last basis
    # (issue 16: a program built afresh for every question was most of a release's time).
    _programs: OrderedDict[tuple[tuple[int, ...], Pins], _Program] = field(default_factory=OrderedDict, repr=False)
    _regions: dict[State, Memo] = field(default_factory=dict, repr=False)
    # A state grown from another by hiding a few cells (``suppress``): its regions are found from that one's.
    _grown_from: dict[State, State] = field(default_factory=dict, repr=False)
    _unknowns: dict[frozenset[int], set[int]] = field(default_factory=dict, repr=False)
    _static_unknown: frozenset[int] | None = field(default=None, repr=False)
    _static: list[tuple[float, float] | None] = field(default_factory=list, repr=False)
    _rows: list[tuple[int, ...]] = field(default_factory=list, repr=False)
    _scales: list[float] = field(default_factory=list, repr=False)
    # Feasible tables found, by component (and pins, when there are any).
    _points: dict[object, _Points] = field(default_factory=dict, repr=False)
    # Cap above the true values of the spreading programs (``witnessed``); 0 switches them off.
    spread: float = 0.0

    def __post_init__(self) -> None:
        self._static = [self._static_bounds(var) for var in self.model.vars]
        self._scales = [var.scale for var in self.model.vars]
        self._integers = [1 if var.integer else 0 for var in self.model.vars]

    # --- what the attacker knows -------------------------------------------------------------------

    @staticmethod
    def _static_bounds(var: Var) -> tuple[float, float] | None:
        if var.ledger is not None:
            # §2.5: a cell published in the ledger is public; a suppressed one stays suppressed (sticky).
            if var.ledger.status == "published" and var.ledger.value is not None and not var.revised:
                return max(0.0, var.ledger.value - var.rounding), var.ledger.value + var.rounding
            # Suppressed, or corrected since it was published: the attacker does not know the current
            # value (what he may believe, the published one, is checked by the revision checks).
            return 0.0, INF
        if var.role == TARGET:
            return None  # depends on the suppression state
        if var.role in (CONTEXT, HIDDEN):
            return 0.0, INF
        raise ValueError(var.role)

    def bounds(self, v: int, state: State) -> tuple[float, float]:
        if state.pinned:
            for pv, value in state.pinned:
                if pv == v:
                    return value, value
        static = self._static[v]
        if static is not None:
            return static
        if v in state.suppressed:
            return 0.0, INF
        x = self.model.vars[v].value
        if x is None:
            raise AuditError(f"no value for {self.model.vars[v].key.label()}")
        return x, x

    def resolve(self, v: int, state: State) -> Known:
        """What the attacker knows of one cell: ``("fixed", value)`` for a published or pinned cell,
        ``("det", value, row)`` for an unknown cell that one relation gives away once the others are
        known (peeling; the "one missing child" of T3), or ``("comp", cells)`` for a cell that stays
        unknown, with the component of unknown cells it is tied to."""
        low, high = self.bounds(v, state)
        if high - low <= 0:
            return ("fixed", low)
        known = self._memo(state)[0]
        if v not in known:
            self._explore(v, state, self._memo(state))
        return known[v]

    def is_free(self, v: int, state: State) -> bool:
        return self.resolve(v, state)[0] == "comp"

    def fixed_value(self, v: int, state: State) -> float:
        known = self.resolve(v, state)
        if known[0] == "comp":
            raise ValueError("not known to the attacker")
        return known[1]

    def component(self, v: int, state: State) -> tuple[int, ...]:
        known = self.resolve(v, state)
        return known[1] if known[0] == "comp" else ()

    def region(self, v: int, state: State) -> tuple[int, ...]:
        """Every cell, given away or not, that was unknown before peeling and is tied to ``v``."""
        low, high = self.bounds(v, state)
        if high - low <= 0:
            return ()
        self.resolve(v, state)
        return self._memo(state)[1][v]

    def given_away(self, v: int, state: State) -> tuple[int, ...]:
        """The cells of ``v``'s region that peeling gives away (``resolve`` says ``det`` for each), listed
        with the region's walk rather than asked of every cell (issue 16: ``balance`` asked it of each
        protected cell of the national region for every repair option)."""
        region = self.region(v, state)
        return self._memo(state)[2][region] if region else ()

    def _memo(self, state: State) -> Memo:
        memo = self._regions.get(state)
        if memo is None:
            if len(self._regions) > 64:  # states come and go during the search; keep memory bounded
                for old in list(self._regions)[:32]:
                    del self._regions[old]
            memo = self._regions[state] = ({}, {}, {})
        return memo

    def suppress(self, state: State, cells: tuple[int, ...] | list[int] | set[int]) -> State:
        """``state.suppress(cells)``, remembered as grown from ``state``: a region of the new state is then
        found from the regions of ``state`` around the cells just hidden (``_explore_grown``)."""
        grown = state.suppress(cells)
        if grown != state and not state.pinned:
            if len(self._grown_from) > 256:  # states come and go during the search; keep memory bounded
                for old in list(self._grown_from)[:128]:
                    del self._grown_from[old]
            self._grown_from[grown] = state
        return grown

    def _row_vars(self) -> list[tuple[int, ...]]:
        """The cells of every relation, by relation id (``Model.row``'s first part, listed once)."""
        model = self.model
        n = len(model.eq_rows) + len(model.ub_rows)
        if len(self._rows) != n:
            self._rows = [vs for vs, _ in model.eq_rows] + [vs for vs, _, _ in model.ub_rows]
        return self._rows

    def _unknown(self, suppressed: frozenset[int]) -> set[int]:
        """The cells unknown before peeling when ``suppressed`` is withheld and nothing is pinned: a ledger,
        context or hidden cell by its static bounds, a target when it is withheld (``bounds``, as one set
        shared by every pinned variant of the pattern: walks test membership in C, issue 16)."""
        unknown = self._unknowns.get(suppressed)
        if unknown is None:
            if len(self._unknowns) > 16:  # patterns come and go during the search; keep memory bounded
                for old in list(self._unknowns)[:8]:
                    del self._unknowns[old]
            if self._static_unknown is None:
                self._static_unknown = frozenset(w for w, known in enumerate(self._static)
                                                 if known is not None and known[1] - known[0] > 0)
            static = self._static
            unknown = self._unknowns[suppressed] = {w for w in suppressed if static[w] is None}
            unknown |= self._static_unknown
        return unknown

    def _explore(self, v: int, state: State, memo: Memo) -> None:
        model, rows_of = self.model, self.model.rows_of
        n_eq = len(model.eq_rows)
        grown_from = self._grown_from.get(state)
        if grown_from is not None and self._explore_grown(v, state, grown_from, memo):
            return

        row_vars = self._row_vars()
        # Each relation is read once (issue 16: it was read again for every unknown cell it holds).
        seen: set[int] = set()
        region, ones = _walk(v, rows_of, row_vars, n_eq, seen, self._unknown(state.suppressed),
                             frozenset(w for w, _ in state.pinned))
        region_t = tuple(sorted(region))
        resolved, regions, peeled = memo
        if not ones:
            # No relation with a single unknown cell: nothing is given away, and the region, connected by its
            # walk, is one component (issue 16: walking it again, and filling the memo cell by cell in
            # Python, were a fifth of a sparse release's time).
            resolved.update(dict.fromkeys(region_t, ("comp", region_t)))
            regions.update(dict.fromkeys(region_t, region_t))
            peeled[region_t] = ()
            return
        # Peel: a relation with a single unknown cell gives that cell away. The unknown cells of a relation
        # are counted when peeling first reaches it (most relations it never reaches).
        queue = sorted(ones, reverse=True)
        count = dict.fromkeys(ones, 1)
        known: dict[int, tuple[float, int]] = {}
        while queue:
            r = queue.pop()
            if count[r] != 1:
                continue
            vs, cs = model.eq_rows[r]
            u = next(w for w in vs if w in region and w not in known)
            total, coef = 0.0, 0.0
            for w, a in zip(vs, cs, strict=True):
                if w == u:
                    coef = a
                else:
                    total += a * (known[w][0] if w in known else self.bounds(w, state)[0])
            known[u] = (-total / coef, r)
            for r2 in rows_of[u]:
                if r2 < n_eq:
                    left = count.get(r2)
                    left = count[r2] = (len(region.intersection(row_vars[r2])) if left is None else left) - 1
                    if left == 1:
                        queue.append(r2)
        for u, (value, r) in known.items():
            resolved[u] = ("det", value, r)
            regions[u] = region_t
        peeled[region_t] = tuple(known)
        rest = region - known.keys()
        seen.clear()  # a relation holding cells of one component holds none of another
        while rest:
            comp = _spread({min(rest)}, rows_of, row_vars, seen, rest)
            comp_t = tuple(sorted(comp))
            for u in comp_t:
                resolved[u] = ("comp", comp_t)
                regions[u] = region_t
            rest -= comp

    def _explore_grown(self, v: int, state: State, before: State, memo: Memo) -> bool:
        """``_explore`` for a cell just hidden in ``state``, which hides a few cells more than ``before`` and
        pins nothing, when that gives nothing away: the region is the cells just hidden that are tied to
        ``v`` and the whole regions of ``before`` they touch, and nothing is given away when none of those
        regions gave anything away in ``before`` and no relation of the cells just hidden holds a single
        unknown cell (every other relation holds the same unknown cells as in ``before``). False, with
        nothing written, when that does not settle it (issue 16: every repair option walked the national
        region again, most of the repairs' time)."""
        if state.pinned or before.pinned:
            return False
        static = self._static
        added = {w for w in state.suppressed - before.suppressed if static[w] is None}
        if v not in added:
            return False
        # Kept as the latest state walked: the options of one repair step all grow from it.
        known_before = self._regions.pop(before, None) or ({}, {}, {})
        self._regions[before] = known_before
        _, regions_before, peeled_before = known_before
        unknown_before = self._unknown(before.suppressed)
        rows_of, row_vars, n_eq = self.model.rows_of, self._row_vars(), len(self.model.eq_rows)
        region, todo, waiting = {v}, [v], added - {v}
        while todo:
            while todo:
                a = todo.pop()
                for r in rows_of[a]:
                    count = 0
                    for w in row_vars[r]:
                        if w in added:
                            count += 1
                            if w not in region:
                                region.add(w)
                                todo.append(w)
                                waiting.discard(w)
                        elif w in unknown_before:
                            count += 1
                            if w not in region:
                                joined = regions_before.get(w)
                                if joined is None:
                                    self._explore(w, before, known_before)
                                    joined = regions_before[w]
                                if peeled_before[joined]:
                                    return False  # peeling gave something away there in ``before``
                                region.update(joined)
                    if count == 1 and r < n_eq:
                        return False  # the relation gives the cell away
            # A cell just hidden may touch a joined region of ``before`` through a relation of its own only.
            for a in sorted(waiting):
                if any(w in region for r in rows_of[a] for w in row_vars[r] if w != a):
                    region.add(a)
                    todo.append(a)
                    waiting.discard(a)
        region_t = tuple(sorted(region))
        resolved, regions, peeled = memo
        resolved.update(dict.fromkeys(region_t, ("comp", region_t)))
        regions.update(dict.fromkeys(region_t, region_t))
        peeled[region_t] = ()
        return True

    # --- bounds ---------------------------------------------------------------------------------------

    def _split(self, form: Mapping[int, float], state: State) -> tuple[float, dict[tuple[int, ...], dict[int, float]]]:
        """The known cells' constant part of ``Σ form[v]·y_v`` and the rest of the form per component."""
        total = 0.0
        by_comp: dict[tuple[int, ...], dict[int, float]] = {}
        for v, a in form.items():
            if a == 0:
                continue
            known = self.resolve(v, state)
            if known[0] == "comp":
                by_comp.setdefault(known[1], {})[v] = a
            else:
                total += a * known[1]
        return total, by_comp

    def minimise(self, form: Mapping[int, float], state: State, integer: bool) -> float:
        """The attacker's minimum of ``Σ form[v]·y_v``: constants for known cells plus one program per
        component of unknown cells."""
        total, by_comp = self._split(form, state)
        for comp, objective in sorted(by_comp.items()):
            total += self._solve(comp, objective, state, integer)
        return total

    def witnessed(self, req: Requirement, state: State, integer: bool) -> bool:
        """Whether tables already known to be feasible show that ``req`` is met, without a new program.

        Every table the attacker's programs reached in this component is feasible, and so is the true
        one; the attacker's interval contains the values they give the cell, so when those values alone
        are wide enough (and reach 0 where existence must stay hidden), the exact bounds are too. For the
        integer attacker only integral tables count. A check that this cannot decide is solved exactly.
        With ``spread`` set, a component met for the first time is given two tables that move many of
        its cells at once (two programs for a component instead of two for each of its cells).
        An insider's pins count when they are the true values (the true table stays feasible).
        """
        if not self._truthful(state):
            return False
        comp = self.component(req.var, state)
        if not comp:
            return False
        col = self._position(comp)[req.var]
        values = self._witness_values(comp, state, col, integer)
        if values is not None and deficit(req, float(values.min()), float(values.max())) <= TOL:
            return True
        # Not for an insider's pins: each insider makes a component of its own, where the two programs
        # settled one check in four and the shortcut of ``insider_cannot_pin`` settles most (issue 16:
        # 8.6 s of a 32 s year-end release).
        if not self.spread or state.pinned or not self._spread(comp, state):
            return False
        values = self._witness_values(comp, state, col, integer)
        return values is not None and deficit(req, float(values.min()), float(values.max())) <= TOL

    def _truthful(self, state: State) -> bool:
        return all(self.model.vars[v].value == value for v, value in state.pinned)

    def _keep(self, comp: tuple[int, ...], state: State, point: np.ndarray | None, integral: bool) -> None:
        if point is None or not np.all(np.isfinite(point)) or not self._truthful(state):
            return
        if state.pinned:
            self._points_of((comp, state.pinned), len(comp), None).add(point, integral)
        else:
            self._points_of(comp, len(comp), self._truth(comp)).add(point, integral)

    def _spread(self, comp: tuple[int, ...], state: State) -> bool:
        """Two programs over the whole component: the least and the largest total of its counted cells
        (each capped at its true value plus ``spread``, which keeps the second bounded and its optimum
        inside the attacker's feasible set). Their optima are feasible tables where many cells sit away
        from their true values at once. Returns whether anything new was found."""
        key = (comp, state.pinned)
        if key in self._spread_done or len(comp) < 3:
            return False
        self._spread_done.add(key)
        truth = np.array([np.nan if self.model.vars[u].value is None else self.model.vars[u].value for u in comp])
        counted = ~np.isnan(truth) & np.array([self.model.vars[u].integer for u in comp])
        if not counted.any():
            return False
        eq, ub, lows, highs, scales, _, matrices = self._system_of(comp, state)
        if not eq and not ub:
            return False
        ints = self._ints_of(comp)
        capped = highs.copy()
        capped[counted] = np.minimum(highs[counted], np.floor(truth[counted] + self.spread))
        found = False
        for sign, upper in ((1.0, None), (-1.0, capped)):
            c = np.where(counted, sign, 0.0)
            self.solves += 1
            try:
                _, integral, point = _program(c, eq, ub, lows, highs, ints, len(comp), False, matrices,
                                              self._program_of(comp, state), upper)
            except AuditError:
                continue
            if point is not None:
                self._keep(comp, state, point * scales, integral)
                found = True
        return found

    def _witness_values(self, comp: tuple[int, ...], state: State, col: int, integer: bool) -> FloatArray | None:
        parts: list[FloatArray] = []
        points = self._points.get(comp if not state.pinned else (comp, state.pinned))
        if points is not None and points.count:
            column = points.array()[:, col]
            parts.append(column[points.integral()] if integer else column)
        truth = self._truth(comp)
        if truth is not None:
            parts.append(truth[col:col + 1])
        values = np.concatenate(parts) if parts else None
        return values if values is not None and values.size else None

    def minimum_at_most(self, form: Mapping[int, float], state: State, integer: bool) -> float | None:
        """An upper bound on the attacker's minimum of a linear form from feasible tables already found
        (components are independent, so each one's best table counts), or None when a component has none."""
        if state.pinned:
            return None
        total, by_comp = self._split(form, state)
        for comp, objective in by_comp.items():
            pos = self._position(comp)
            rows = []
            cols = [pos[v] for v in objective]
            points = self._points.get(comp)
            if points is not None and points.count:
                # The form's columns first, then the integral rows: not a copy of every table found
                # (issue 16: this was most of the reconstruction checks' time).
                found = points.array()[:, cols]
                found = found[points.integral()] if integer else found
                if len(found):
                    rows.append(found)
            truth = self._truth(comp)
            if truth is not None:
                rows.append(truth[None, cols])
            if not rows:
                return None
            stacked = np.concatenate(rows)
            total += float((stacked @ np.array([objective[v] for v in objective])).min())
        return total

    def interval(self, v: int, state: State, integer: bool) -> tuple[float, float]:
        return self.minimise({v: 1.0}, state, integer), -self.minimise({v: -1.0}, state, integer)

    def bound_after(self, v: int, sense: float, before: State, after: State) -> float:
        """A lower bound on the attacker's minimum of ``sense·y_v`` in ``after``, a state that hides more
        cells than ``before`` and pins the same, without a program: weak duality with the optimal row
        duals of the same objective in ``before`` (zero on every relation new to the component).

        A cell hidden in ``after`` that ``before`` knew at ``x`` enters with reduced cost ``−s``, ``s`` the
        duals of its relations weighted by its coefficients; the bound moves by ``s·(x − l)`` when
        ``s ≤ 0`` and by ``s·(x − u)`` otherwise (−∞ for an unbounded cell), so hiding a published zero
        whose reduced cost is not improving leaves the bound where it was. −∞ when ``before``'s optimum
        has no dual at hand (issue 16: most repair options join a component without moving its bounds,
        and each cost two programs over a new component).
        """
        comp = self.component(v, before)
        key = (comp, ((v, sense),), before.pinned)
        duals = self._duals.get(key)
        if not comp or duals is None or after.pinned != before.pinned or not after.suppressed >= before.suppressed:
            return -INF
        rows = self._comp_rows.get(comp)
        if rows is None:
            rows = self._comp_rows[comp] = sorted({r for u in comp for r in self.model.rows_of[u]})
        members = self._position(comp)
        weights: dict[int, float] = {}
        for k in np.flatnonzero(duals):
            vs, cs, _, _ = self.model.row(rows[k])
            for w, a in zip(vs, cs, strict=True):
                if w not in members:
                    weights[w] = weights.get(w, 0.0) + a * float(duals[k])
        bound = self._solutions[key][0]
        for w, s in weights.items():
            if abs(s) <= TOL * 1e-3 or self.resolve(w, after)[0] != "comp":
                continue  # not moving the bound, or still known at the same value
            low, high = self.bounds(w, after)
            if s > 0 and high == INF:
                return -INF
            bound += s * (self.fixed_value(w, before) - (high if s > 0 else low))
        return bound

    def _solve(self, comp: tuple[int, ...], objective: dict[int, float], state: State, integer: bool) -> float:
        # Every known value is the true value (published, or given away by a relation), so a component's
        # program depends on the component alone and the cache outlives the state; pinned values (an
        # insider's knowledge, or a reader's belief in a corrected figure) are part of the key.
        key: tuple[object, ...] = (comp, tuple(sorted(objective.items())), state.pinned)
        if key not in self._solutions:
            self._last_duals = None
            self._solutions[key] = self._solve_uncached(comp, objective, state, False)
            if self._last_duals is not None:
                self._duals[key] = self._last_duals
            point = self._solutions[key][2]
            self._keep(comp, state, point, self._solutions[key][1])
        value, integral, _ = self._solutions[key]
        if not integer or integral:
            return value
        key = (*key, "integer")
        if key not in self._solutions:
            rounded = self._rounded_up(comp, objective, state, value)
            if rounded is not None:
                self._solutions[key] = (rounded, True, None)
                return rounded
            self._solutions[key] = self._solve_uncached(comp, objective, state, True)
            point = self._solutions[key][2]
            self._keep(comp, state, point, True)  # an integer program's optimum is integral
        return self._solutions[key][0]

    def _rounded_up(self, comp: tuple[int, ...], objective: dict[int, float], state: State,
                    low: float) -> float | None:
        """The integer attacker's minimum without an integer program, when a form with integer
        coefficients over counted cells reaches its relaxation's minimum rounded up at an integral table
        already known to be feasible (the true one, or an optimum found before): no integral table can
        be lower, and that one is feasible. None when none does (issue 16: at year end, integer programs
        for the audit's summary were a fifth of the release, and nearly all of them ended here)."""
        if not self._truthful(state) or low == -INF:
            return None
        if not all(self.model.vars[v].integer and float(a).is_integer() for v, a in objective.items()):
            return None
        target = math.ceil(low - TOL)
        pos = self._position(comp)
        cols, coefs = [pos[v] for v in objective], np.array(list(objective.values()))
        truth = self._truth(comp)
        if truth is not None and float(truth[cols] @ coefs) <= target + TOL:
            return float(target)
        points = self._points.get(comp if not state.pinned else (comp, state.pinned))
        if points is None or not points.count:
            return None
        found = points.array()[points.integral()]
        if len(found) and float((found[:, cols] @ coefs).min()) <= target + TOL:
            return float(target)
        return None

    def optimum(self, v: int, sense: float, state: State) -> tuple[tuple[int, ...], FloatArray | None, bool]:
        """The component of ``v`` and a point of it where ``sense·y_v`` is smallest (the relaxation's),
        with whether that point is integral; for the insider shortcut."""
        comp = self.component(v, state)
        if not comp:
            return comp, None, True
        self._solve(comp, {v: sense}, state, False)
        _, integral, point = self._solutions[(comp, ((v, sense),), state.pinned)]
        return comp, point, integral

    def insider_cannot_pin(self, i: int, j: int, value: float, state: State, integer: bool,
                           solve: bool = True) -> bool:
        """A sufficient test that an insider who knows ``y_j`` cannot pin ``y_i``, without a new program.

        The true table and every table the attacker's programs reached in this component are feasible,
        so every mixture of them is. If one of them, or a mixture of two, leaves ``y_j`` at its true
        value and moves ``y_i``, then ``y_i`` is not pinned. For the integer attacker only unmixed,
        integral tables count. With ``solve`` false, only tables already found are used; otherwise the
        relaxation's optima of ``y_i`` are found first."""
        comp = self.component(i, state)
        if not comp or j not in self._position(comp):
            return False
        if self._one_open_row(comp, state):
            # One relation over unbounded unknown cells (a province's communes): knowing j leaves i
            # free exactly when a third unknown cell shares the relation.
            return len(comp) > 2
        # Tables found only accumulate, so an answer of yes stands for the component (issue 16: every
        # round of the year-end release asked again for each of its 200,000 insider pairs).
        key = (comp, i, j, value, state.pinned, integer)
        if key in self._cannot_pin:
            return True
        if self._cannot_pin_by_points(comp, i, j, state, integer, solve):
            self._cannot_pin.add(key)
            return True
        return False

    def _cannot_pin_by_points(self, comp: tuple[int, ...], i: int, j: int, state: State, integer: bool,
                              solve: bool) -> bool:
        if solve:
            self.optimum(i, 1.0, state)
            self.optimum(i, -1.0, state)
        points = self._points.get(comp)
        x = self._truth(comp)
        if points is None or not points.count or x is None:
            return False
        pos = self._position(comp)
        pi, pj = pos[i], pos[j]
        # Two columns of the points found, not a rebuilt list of every point (issue 16: this was 30 s of a
        # sparse release's own Python time); which cells of each table sit at their true values was worked
        # out once, when the table was found (the scans of 36,000 pairs were a fifth of what was left).
        still, moved = points.still(pj), points.moved(pi)
        if np.any(still & moved & (points.integral() | (not integer))):
            return True
        if integer:
            return False
        found = points.array()
        dj, di = found[:, pj] - x[pj], found[:, pi] - x[pi]
        up, down = dj > TOL, dj < -TOL
        if not up.any() or not down.any():
            return False
        # Mixing p (y_j up) and q (y_j down) with weights |dj_q|, |dj_p| keeps y_j; it moves y_i
        # unless y_i follows y_j in proportion in every such pair.
        ratios_up, ratios_down = di[up] / dj[up], di[down] / dj[down]
        return bool(np.ptp(np.concatenate([ratios_up, ratios_down])) > TOL)

    def _points_of(self, key: object, n: int, truth: FloatArray | None) -> _Points:
        points = self._points.get(key)
        if points is None:
            points = self._points[key] = _Points(n, truth)
        return points

    # One lookup each, not two: hashing a component's tuple of a few hundred cells is what these cost
    # (issue 16: they are asked for each of 36,000 insider pairs of a sparse release).
    def _position(self, comp: tuple[int, ...]) -> dict[int, int]:
        pos = self._positions.get(comp)
        if pos is None:
            pos = self._positions[comp] = dict(zip(comp, range(len(comp)), strict=True))
        return pos

    def _truth(self, comp: tuple[int, ...]) -> FloatArray | None:
        if comp in self._truths:
            return self._truths[comp]
        variables = self.model.vars
        values = [variables[u].value for u in comp]
        truth = self._truths[comp] = None if None in values else np.array(values, dtype=float)
        return truth

    def _ints_of(self, comp: tuple[int, ...]) -> FloatArray:
        """1 for each counted cell of the component, 0 for money (``Var.integer``), as HiGHS's integrality."""
        ints = self._ints.get(comp)
        if ints is None:
            integers = self._integers
            ints = self._ints[comp] = np.array([integers[u] for u in comp])
        return ints

    def _one_open_row(self, comp: tuple[int, ...], state: State) -> bool:
        known = self._open_rows.get(comp)
        if known is not None:
            return known
        # Stop at a second relation: a large component is never one relation (issue 16: listing all of
        # its relations for every new component was a tenth of a sparse release's time).
        rows: set[int] = set()
        for u in comp:
            rows.update(self.model.rows_of[u])
            if len(rows) > 1:
                break
        single = len(rows) == 1 and next(iter(rows)) < len(self.model.eq_rows)
        if not single:
            self._open_rows[comp] = False
            return False
        members = set(comp)
        coefs = {a for r in rows for v, a in zip(*self.model.row(r)[:2], strict=True) if v in members}
        open_row = self._open_rows[comp] = len(coefs) == 1 and all(self.bounds(u, state) == (0.0, INF) for u in comp)
        return open_row

    def _system(self, comp: tuple[int, ...], state: State) -> tuple[list[Row], list[Row], FloatArray, FloatArray,
                                                                    FloatArray]:
        """The component's rows with known cells moved to the right-hand side."""
        model = self.model
        pos = {v: i for i, v in enumerate(comp)}
        row_ids = sorted({r for u in comp for r in model.rows_of[u]})
        n_eq = len(model.eq_rows)
        scale = self._scales
        eq: list[Row] = []
        ub: list[Row] = []
        for r in row_ids:
            if r < n_eq:
                (vs, cs), rhs = model.eq_rows[r], 0.0
            else:
                vs, cs, rhs = model.ub_rows[r - n_eq]
            coefs: dict[int, float] = {}
            for w, a in zip(vs, cs, strict=True):
                i = pos.get(w)
                if i is not None:
                    coefs[i] = a * scale[w]
                else:
                    rhs -= a * self.fixed_value(w, state)
            (eq if r < n_eq else ub).append((coefs, rhs))
        lows, highs = zip(*(self.bounds(v, state) for v in comp), strict=True)
        scales = np.array([self.model.vars[v].scale for v in comp])
        return eq, ub, np.array(lows) / scales, np.array(highs) / scales, scales

    def _system_of(self, comp: tuple[int, ...], state: State) -> System:
        key = (comp, state.pinned)
        if key not in self._systems:
            eq, ub, lows, highs, scales = self._system(comp, state)
            # The matrices are built only for the integer attacker's rare programs (``_program``).
            self._systems[key] = (eq, ub, lows, highs, scales, {v: i for i, v in enumerate(comp)}, None)
        return self._systems[key]

    def _solve_uncached(self, comp: tuple[int, ...], objective: dict[int, float], state: State,
                        integer: bool) -> Solution:
        """The minimum, whether it holds for the integer attacker too, and a point where it is reached."""
        # A component's system, like its bounds, depends on the component and the pins alone (every known
        # value is the true one): built once and shared by every cell of the component (issue 16).
        eq, ub, lows, highs, scales, pos, matrices = self._system_of(comp, state)
        c = np.zeros(len(comp))
        for v, a in objective.items():
            c[pos[v]] = a * self.model.vars[v].scale
        if not eq and not ub:
            return float(sum(ci * (lo if ci > 0 else hi)
                             for ci, lo, hi in zip(c, lows, highs, strict=True) if ci)), True, None
        if len(eq) == 1 and not ub:
            fast = _single_row(c, eq[0], lows, highs)
            if fast is not None:
                return fast[0], True, fast[1] * scales
        self.solves += 1
        ints = self._ints_of(comp)
        program = self._program_of(comp, state)
        value, integral, point = _program(c, eq, ub, lows, highs, ints, len(comp), integer, matrices, program)
        self._last_duals = program.duals if value > -INF else None
        return value, integral, None if point is None else point * scales

    def _program_of(self, comp: tuple[int, ...], state: State) -> _Program:
        key = (comp, state.pinned)
        program = self._programs.get(key)
        if program is None:
            eq, ub, lows, highs, *_ = self._system_of(comp, state)
            program = self._programs[key] = _Program(eq, ub, lows, highs)
            if len(self._programs) > 256:  # components come and go during the search; keep memory bounded
                self._programs.popitem(last=False)
        else:
            self._programs.move_to_end(key)
        return program


class _Points:
    """Feasible tables of one component found by the attacker's programs (in the cells' own units), with
    whether each is integral: kept as one growing array so that a column is read without rebuilding.
    Given the true table, also which cells of each sit at their true values (within TOL) and which
    have moved (beyond TOL): the columns ``insider_cannot_pin`` reads."""

    __slots__ = ("_data", "_flags", "_moved", "_still", "_truth", "count")

    def __init__(self, n: int, truth: np.ndarray | None = None) -> None:
        self._data = np.empty((4, n))
        self._flags = np.empty(4, dtype=bool)
        self._truth = truth
        self._still = np.zeros((4, n), dtype=bool)
        self._moved = np.zeros((4, n), dtype=bool)
        self.count = 0

    def add(self, point: np.ndarray, integral: bool) -> None:
        if self.count == len(self._flags):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
            self._flags = np.concatenate([self._flags, np.empty_like(self._flags)])
            self._still = np.concatenate([self._still, np.zeros_like(self._still)])
            self._moved = np.concatenate([self._moved, np.zeros_like(self._moved)])
        self._data[self.count] = point
        self._flags[self.count] = integral
        if self._truth is not None:
            distance = np.abs(self._data[self.count] - self._truth)
            self._still[self.count] = distance < TOL
            self._moved[self.count] = distance > TOL
        self.count += 1

    def array(self) -> np.ndarray:
        return self._data[:self.count]

    def integral(self) -> np.ndarray:
        return self._flags[:self.count]

    def still(self, col: int) -> np.ndarray:
        """Whether each table leaves the cell of column ``col`` at its true value (none without the true
        table)."""
        return self._still[:self.count, col]

    def moved(self, col: int) -> np.ndarray:
        """Whether each table moves the cell of column ``col`` away from its true value (none without the
        true table)."""
        return self._moved[:self.count, col]


def _single_row(c: np.ndarray, row: Row, lows: np.ndarray,
                highs: np.ndarray) -> tuple[float, np.ndarray] | None:
    """One equation ``Σ a·y = r`` with a common coefficient: the minimum by filling the cheapest cells
    first. Exact and integral when the bounds and ``r`` are integers, so LP and ILP agree (the
    commune rows of a province, the common case)."""
    coefs, rhs = row
    values = set(coefs.values())
    if len(values) != 1 or len(coefs) != len(c):
        return None
    total = rhs / values.pop()
    y = lows.copy()
    rest = total - y.sum()
    if rest < -TOL:
        raise AuditError("the counts contradict a relation")
    for i in np.argsort(c, kind="stable"):
        room = highs[i] - y[i]
        take = min(rest, room)
        y[i] += take
        rest -= take
        if rest <= TOL:
            break
    if rest > TOL:
        raise AuditError("the counts contradict a relation")
    return float(c @ y), y


def _matrix(rows: list[Row], n: int) -> tuple[np.ndarray | csr_array, np.ndarray]:
    rhs = np.array([r for _, r in rows], dtype=float)
    if len(rows) * n <= 40_000:  # small programs: a dense matrix spares scipy's sparse conversions
        dense = np.zeros((len(rows), n))
        for i, (coefs, _) in enumerate(rows):
            for j, a in coefs.items():
                dense[i, j] = a
        return dense, rhs
    data, ri, ci = [], [], []
    for i, (coefs, _) in enumerate(rows):
        for j, a in coefs.items():
            data.append(a)
            ri.append(i)
            ci.append(j)
    return csr_array((data, (ri, ci)), shape=(len(rows), n)), rhs


class _Program:
    """A component's linear program in HiGHS (``highspy``), built once; each objective is a change of
    the costs and a re-solve from the last optimal basis (HiGHS keeps it), where a
    program built afresh (``scipy.optimize.linprog``) repeated the model's set-up, presolve and solve.
    The answers are HiGHS's, as before: exact optima of the same program, not approximations."""

    __slots__ = ("_cols", "_highs", "_lower", "_upper", "duals", "n")

    def __init__(self, eq: list[Row], ub: list[Row], lows: np.ndarray, highs: np.ndarray) -> None:
        n = len(lows)
        # The bare binding: ``highspy.Highs`` adds Python callbacks and runs each solve in a thread (to
        # catch Ctrl-C), which costs more than the small programs here.
        h = highspy._Highs()  # type: ignore[attr-defined]
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        # Each objective after the first starts from the last optimal basis, which stays primal feasible
        # when only the costs change: the primal simplex goes on from there, and presolve (which would
        # throw that basis away) is not worth it on programs of a few hundred cells (issue 16: 37 % less
        # time than HiGHS's defaults on the sparse case's components, the same optima).
        h.setOptionValue("presolve", "off")
        h.setOptionValue("simplex_strategy", 4)
        self._lower = np.asarray(lows, dtype=float)
        self._upper = np.where(np.isinf(highs), highspy.kHighsInf, highs).astype(float)
        h.addVars(n, self._lower, self._upper)
        starts: list[int] = []
        index: list[int] = []
        value: list[float] = []
        for coefs, _ in (*eq, *ub):
            starts.append(len(index))
            for j, a in coefs.items():
                index.append(j)
                value.append(a)
        lower = [r for _, r in eq] + [-highspy.kHighsInf] * len(ub)
        upper = [r for _, r in eq] + [r for _, r in ub]
        h.addRows(len(starts), np.array(lower, dtype=float), np.array(upper, dtype=float), len(index),
                  np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32), np.array(value, dtype=float))
        self._highs, self.n, self._cols = h, n, np.arange(n, dtype=np.int32)
        self.duals: np.ndarray | None = None  # the row duals of the last optimum, in the rows' order

    def minimise(self, c: np.ndarray, upper: np.ndarray | None = None) -> tuple[float, np.ndarray] | None:
        """The minimum of ``c·y`` and a point reaching it, or None when it is unbounded below; with
        ``upper``, under those upper bounds for this one program."""
        h = self._highs
        h.changeColsCost(self.n, self._cols, np.asarray(c, dtype=float))
        if upper is not None:
            h.changeColsBounds(self.n, self._cols, self._lower,
                               np.where(np.isinf(upper), highspy.kHighsInf, upper).astype(float))
        self.duals = None
        try:
            status = self._run()
            if status == highspy.HighsModelStatus.kUnbounded:
                return None
            if status != highspy.HighsModelStatus.kOptimal:
                raise AuditError(f"the attacker's program failed: {h.modelStatusToString(status)}")
            solution = h.getSolution()
            self.duals = np.array(solution.row_dual) if solution.dual_valid else None
            return float(h.getInfo().objective_function_value), np.array(solution.col_value)
        finally:
            if upper is not None:
                h.changeColsBounds(self.n, self._cols, self._lower, self._upper)

    def _run(self) -> highspy.HighsModelStatus:
        h = self._highs
        h.run()
        status: highspy.HighsModelStatus = h.getModelStatus()
        if status in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kUnbounded,
                      highspy.HighsModelStatus.kInfeasible):
            return status
        # "Unbounded or infeasible", or a stalled simplex: solve once more from nothing with the dual
        # simplex (HiGHS's default) for a definite answer.
        h.clearSolver()
        h.setOptionValue("simplex_strategy", 1)
        try:
            h.run()
        finally:
            h.setOptionValue("simplex_strategy", 4)
        final: highspy.HighsModelStatus = h.getModelStatus()
        return final


def _program(c: np.ndarray, eq: list[Row], ub: list[Row], lows: np.ndarray, highs: np.ndarray, ints: np.ndarray,
             n: int, integer: bool, matrices: tuple[MatrixPair, MatrixPair] | None = None,
             program: _Program | None = None, upper: np.ndarray | None = None) -> Solution:
    """The minimum of ``c·y`` over a component's program (``upper``: other upper bounds for this one
    program), whether it holds for the integer attacker too, and a point reaching it."""
    if program is None:
        program = _Program(eq, ub, lows, highs)
    found = program.minimise(c, upper)
    if found is None:
        return -INF, True, None  # unbounded relaxation: no finite bound for the integer attacker either
    fun, x = found
    integral = ints.astype(bool)
    if not integral.any() or np.all(np.abs(x[integral] - np.round(x[integral])) < TOL):
        # An integral optimum of the relaxation is optimal for the integer program too (the common
        # case: two-way tables with margins are totally unimodular, §2.5 "LP versus ILP").
        return fun, True, x
    if not integer:
        return fun, False, x
    if matrices is None:
        matrices = (_matrix(eq, n) if eq else (None, None), _matrix(ub, n) if ub else (None, None))
    (a_eq, b_eq), (a_ub, b_ub) = matrices
    highs = highs if upper is None else upper
    constraints = []
    if eq:
        constraints.append(LinearConstraint(a_eq, b_eq, b_eq))
    if ub:
        constraints.append(LinearConstraint(a_ub, -np.inf, b_ub))
    res = milp(c, integrality=ints, bounds=Bounds(lows, highs), constraints=constraints)
    if res.status != 0:
        raise AuditError(f"the attacker's integer program failed: {res.message}")
    return (float(round(res.fun)) if abs(res.fun - round(res.fun)) < TOL else float(res.fun)), True, res.x


def _walk(v: int, rows_of: Sequence[Sequence[int]], row_vars: Sequence[tuple[int, ...]], n_eq: int, seen: set[int],
          members: set[int], excluded: frozenset[int]) -> tuple[set[int], list[int]]:
    """``_spread`` from ``v``, counting the unknown cells of each relation as it is read: the region, and
    the equalities that hold a single one of them (which peeling then gives away). An equality lists
    each cell once (``Model.add_eq``), so the count is that of the region's cells in it."""
    cells, todo = {v}, [v]
    pop, push, mark, add = todo.pop, todo.append, seen.add, cells.add
    ones: list[int] = []
    while todo:
        for r in rows_of[pop()]:
            if r in seen:
                continue
            mark(r)
            count = 0
            for w in row_vars[r]:
                if w in members and w not in excluded:
                    count += 1
                    if w not in cells:
                        add(w)
                        push(w)
            if count == 1 and r < n_eq:
                ones.append(r)
    return cells, ones


def _spread(cells: set[int], rows_of: Sequence[Sequence[int]], row_vars: Sequence[tuple[int, ...]],
            seen: set[int], members: set[int], excluded: frozenset[int] = frozenset()) -> set[int]:
    """Grow ``cells`` (in place) through every relation not in ``seen`` to each cell of ``members`` not in
    ``excluded``, adding the relations read to ``seen``: the connected cells of a component, each relation
    read once."""
    todo = list(cells)
    # bound once: this loop runs millions of times in a year-end release
    pop, push, mark, add = todo.pop, todo.append, seen.add, cells.add
    while todo:
        for r in rows_of[pop()]:
            if r in seen:
                continue
            mark(r)
            for w in row_vars[r]:
                if w not in cells and w in members and w not in excluded:
                    add(w)
                    push(w)
    return cells
