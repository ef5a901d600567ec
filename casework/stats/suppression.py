"""Primary and complementary suppression (disclosure-control §2.4, §2.5).

Primary rules mark the cells that must not be seen (P1–P4, and the hidden complement of T6).
Complementary suppression then hides further cells, chosen by cost, until the attacker of
``lp_audit`` cannot narrow any primary cell: the audit-and-fix loop of §2.5. The heuristic only
decides how much is lost; the guarantee comes from the audit, which is rerun on the final pattern.

Suppression is one flag. Which cells were primary is known only inside the engine while the
release is computed, and never leaves it (§2.7 "Never reveal which suppressions are primary").
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from casework.stats.cells import SortKey, period_type
from casework.stats.lp_audit import INF, TOL, AuditError, Auditor, Requirement, State, deficit
from casework.stats.model import TARGET, Model, twin_group

# What orders and names a check: its kind (0 cell, 1 insider, 2 reconstruction, 3 revision), then the sort
# keys of the cells it is about. Compared, sorted and used as an identity; its parts differ by kind.
CheckOrder = tuple[Any, ...]

# §2.5 cost weights: national ≫ province ≫ commune; totals and years cost more than details.
LEVEL_WEIGHT = {"national": 1000.0, "province": 30.0, "commune": 1.0}
TOTAL_WEIGHT = 10.0
YEAR_WEIGHT = 4.0


class ReleaseError(RuntimeError):
    """No suppression pattern protects the release; it must not be published (§2.5)."""


@dataclass(frozen=True)
class Parameters:
    """Disclosure-control parameters (§2.4; stating them is fine under Kerckhoffs's principle)."""

    k: int = 10                      # P1: a person count 1..k−1 is primary
    p: float = 10.0                  # P3: the p% rule for money
    protection_width: int | None = None  # R3: PR, k when not set
    group_factor: int = 2            # P4: a 100 % category under a parent below group_factor·k
    candidates: int = 8              # §2.5: cheapest candidates tried per step

    @property
    def pr(self) -> int:
        return self.protection_width if self.protection_width is not None else self.k

    def as_dict(self) -> dict[str, float | int]:
        return {"k": self.k, "p": self.p, "protection_width": self.pr, "group_factor": self.group_factor}


# --- primary suppression (§2.4) ------------------------------------------------------------------

def primary_requirements(model: Model, params: Parameters) -> dict[int, Requirement]:
    """Every cell that must be protected, with what the attacker must not learn about it.

    Cells already published in the ledger are public and need nothing; unreleased and hidden cells
    with a known value are judged like any other (a hidden complement is derivable, T6).
    """
    out: dict[int, Requirement] = {}
    for v, var in enumerate(model.vars):
        if var.value is None or (var.ledger is not None and var.ledger.status == "published"):
            continue
        req = _requirement(model, v, params)
        if req is not None:
            out[v] = req
    return out


def _requirement(model: Model, v: int, params: Parameters) -> Requirement | None:
    var = model.vars[v]
    x = var.value or 0.0
    if var.kind in ("persons", "excluded"):
        if 1 <= x < params.k or _group_disclosure(model, v, params):  # P1 (T6 for complements), P4
            return Requirement(v, width=params.pr, existence=True)
        return None
    if var.kind == "events":
        # P2; when the persons behind a cell are not known (an uncounted complement), assume few.
        if x >= 1 and (var.persons is None or var.persons < params.k):
            return Requirement(v, width=params.pr, existence=True)
        return None
    return _money_requirement(v, var.value or 0.0, var.persons or 0, var.top, params)


def _money_requirement(v: int, total: float, recipients: int, top: tuple[int, int],
                       params: Parameters) -> Requirement | None:
    if total <= 0:
        return None
    x1, x2 = top
    upl = params.p / 100 * x1 - (total - x1 - x2)  # §2.4 P3 upper protection level
    frequency = recipients < params.k
    if not frequency and upl <= 0:
        return None
    level = max(upl, 0.0)
    scale = max(level, params.p / 100 * x1, 1.0) / params.k
    return Requirement(v, width=0.0, existence=frequency, upper=total + level, lower=total - level, scale=scale)


def _group_disclosure(model: Model, v: int, params: Parameters) -> bool:
    """P4: in a breakdown by a sensitive attribute, one category holds everyone of a small parent."""
    var = model.vars[v]
    if var.key.hidden:
        return False
    for variable, _ in var.key.dims:
        if not model.sensitive.get(variable):
            continue
        parent = model.index.get(var.key.without(variable))
        value = model.vars[parent].value if parent is not None else None
        if value is not None and 1 <= value < params.group_factor * params.k and var.value == value:
            return True
    return False


def initial_state(model: Model, requirements: Iterable[int]) -> State:
    """Primary target cells, plus what the ledger already suppressed (sticky status, §2.5), with their
    twins: one pattern for a person count and its events or money (§2.2)."""
    start: set[int] = set()
    for v in requirements:
        if _suppressible(model, v):
            start.add(v)
    for v, var in enumerate(model.vars):
        if var.role == TARGET and var.ledger is not None and var.ledger.status == "suppressed":
            start.add(v)
    return State(frozenset(_with_twins(model, start)))


def _with_twins(model: Model, cells: Iterable[int]) -> set[int]:
    out: set[int] = set()
    for v in cells:
        out.update(w for w in twin_group(model, v) if _suppressible(model, w))
        out.add(v)
    return out


def _suppressible(model: Model, v: int) -> bool:
    var = model.vars[v]
    return var.role == TARGET and var.ledger is None


# --- checks: what the loop makes true ------------------------------------------------------------

class Check(Protocol):
    @property
    def anchors(self) -> tuple[int, ...]: ...

    @property
    def order(self) -> CheckOrder: ...

    def deficit(self, auditor: Auditor, state: State, integer: bool) -> float: ...

    def keeps_deficit(self, auditor: Auditor, before: State, after: State, d: float) -> bool: ...


@dataclass(frozen=True)
class CellCheck:
    """R1–R4 for one primary cell; with ``pin``, the insider variant (T11): one suppressed cell is known
    to a coalition of one, and the primary must still not be exactly disclosed."""

    requirement: Requirement
    order: CheckOrder
    pins: tuple[tuple[int, float], ...] = ()
    # An insider check may fail whatever this release hides (an insider who knows a year total can
    # subtract the published quarters of the ledger); such a pair is reported, not repaired.
    bounded: bool = False

    @property
    def anchors(self) -> tuple[int, ...]:
        return (self.requirement.var,)

    def deficit(self, auditor: Auditor, state: State, integer: bool) -> float:
        if self.bounded:
            # §2.5 asks the final audit for the integer attacker on R1–R4 (T2–T7, T8) and "also" the
            # insider test (T11); the insider test is run by linear programming.
            integer = False
        insider = self.bounded and len(self.pins) == 1 and not self.requirement.width and not self.requirement.existence
        unpinned = state
        # Cheapest first (issue 16): tables already found, then two programs shared by every check of the
        # same insider's component, then the cell's own optima, then the exact bounds.
        if insider and auditor.insider_cannot_pin(self.requirement.var, *self.pins[0], state, integer, solve=False):
            return 0.0
        if self.pins:
            state = state.pin(*self.pins)
        if auditor.witnessed(self.requirement, state, integer):
            return 0.0  # feasible tables already found show the requirement met
        # An insider whose knowledge gives the cell away by peeling (one relation left with it as its only
        # unknown) pins it: its interval below needs no program, and the two programs of the shortcut
        # would be wasted (issue 16: most of a sparse release's repairs tried such options).
        if insider and auditor.is_free(self.requirement.var, state) \
                and auditor.insider_cannot_pin(self.requirement.var, *self.pins[0], unpinned, integer):
            return 0.0
        try:
            if self.bounded and not self.requirement.width and not self.requirement.existence:
                # R1 alone, with the insider's cells pinned to their true values: the true table is
                # feasible, so the cell is pinned only if its minimum is its true value; a minimum
                # below it settles the check with one program instead of two.
                truth = auditor.model.vars[self.requirement.var].value
                if truth is not None and all(auditor.model.vars[j].value == value for j, value in self.pins):
                    low = auditor.minimise({self.requirement.var: 1.0}, state, integer)
                    if low < truth - TOL:
                        return 0.0
            low, high = auditor.interval(self.requirement.var, state, integer)
        except AuditError:
            if not self.pins:
                raise
            # The year-end figures contradict the published quarters: the reader sees that a correction
            # was made (§2.7 accepts that corrections show in the annual release) and cannot keep
            # believing them; the check without belief applies.
            return 0.0
        return deficit(self.requirement, low, high)

    def keeps_deficit(self, auditor: Auditor, before: State, after: State, d: float) -> bool:
        """Whether the deficit ``d`` of ``before`` is certainly still there in ``after`` (which hides more):
        the bounds of ``after`` are no wider than what the optimal duals of ``before`` allow, so the exact
        deficit, solved or not, would be the same. False when unsure; for the plain check only."""
        if self.pins:
            return False
        v = self.requirement.var
        low = auditor.bound_after(v, 1.0, before, after)
        if low == -INF:
            return False
        high = -auditor.bound_after(v, -1.0, before, after)
        return high < INF and deficit(self.requirement, low, high) >= d - TOL


@dataclass(frozen=True)
class FormCheck:
    """A linear form that must not be provably positive: the reconstruction bound of T15."""

    form: tuple[tuple[int, float], ...]
    order: CheckOrder

    @property
    def anchors(self) -> tuple[int, ...]:
        return tuple(v for v, _ in self.form)

    def deficit(self, auditor: Auditor, state: State, integer: bool) -> float:
        at_most = auditor.minimum_at_most(dict(self.form), state, integer)
        if at_most is not None and at_most < 1 - TOL:
            return 0.0  # a feasible table already found keeps the form below 1 (issue 16)
        low = auditor.minimise(dict(self.form), state, integer)
        return low if low >= 1 - TOL else 0.0

    def keeps_deficit(self, auditor: Auditor, before: State, after: State, d: float) -> bool:
        return False


def cell_checks(model: Model, requirements: dict[int, Requirement]) -> list[CellCheck]:
    return [CellCheck(req, (0, model.vars[v].key.sort_key())) for v, req in sorted(requirements.items())]


def insider_checks(auditor: Auditor, state: State, requirements: dict[int, Requirement],
                   k: int = 10) -> list[CellCheck]:
    """T11: an insider (A3, §2.1) knows the exact count of a suppressed cell she could have counted
    herself: a commune's cell (the commune officer, the host), or any cell of fewer than k persons (the
    cases one host handled). For each such cell j, every primary i sharing a relation with j must
    still not be exactly disclosed. Nobody outside the national office knows a large province or
    national aggregate exactly; that reader is A2, whom the ordinary checks cover."""
    model = auditor.model
    suppressed = set(state.suppressed) | {
        v for v, var in enumerate(model.vars)
        if var.ledger is not None and var.ledger.status == "suppressed" and var.value is not None}
    out: list[CellCheck] = []
    # One requirement per primary cell, shared by its insiders (a year-end release has 200,000 pairs).
    wanted: dict[int, Requirement] = {}
    for j in sorted(suppressed):
        value = model.vars[j].value
        if value is None or (model.vars[j].key.geo_level != "commune" and value >= k):
            continue
        partners = {i for r in model.rows_of[j] for i in model.row(r)[0]}
        pins, insider = ((j, value),), model.vars[j].key.sort_key()
        for i in sorted(partners & requirements.keys()):
            if i == j:
                continue
            req = wanted.get(i)
            if req is None:
                req = wanted[i] = Requirement(i, width=0.0, existence=False)  # T11 criterion: U_i > L_i
            out.append(CellCheck(req, (1, model.vars[i].key.sort_key(), insider), pins=pins, bounded=True))
    return out


def revision_checks(auditor: Auditor, state: State, requirements: dict[int, Requirement]) -> list[CellCheck]:
    """T14: a reader who holds the ledger may believe every corrected figure is still the published one
    (he cannot know what changed). While that belief is consistent with the release, no primary cell
    tied to a corrected one may lose its protection under it."""
    model = auditor.model
    revised = [v for v, var in enumerate(model.vars) if var.revised]
    if not revised:
        return []
    pins = tuple((v, float(model.vars[v].ledger.value)) for v in revised)  # type: ignore[union-attr, arg-type]
    near = {u for v in revised for u in auditor.region(v, state)}
    return [CellCheck(req, (3, model.vars[i].key.sort_key()), pins=pins)
            for i, req in sorted(requirements.items()) if i in near and i not in revised]


# --- complementary suppression (§2.5 "The algorithm") ------------------------------------------

def cost(model: Model, v: int) -> float:
    """Information lost by hiding a cell and its twins: weighted by level, totals and years."""
    total = 0.0
    for w in twin_group(model, v):
        var = model.vars[w]
        weight = LEVEL_WEIGHT[var.key.geo_level]
        weight *= TOTAL_WEIGHT if not var.key.dims else 1.0
        weight *= YEAR_WEIGHT if period_type(var.key.period) == "year" else 1.0
        total += weight * (1.0 + (var.persons if var.persons is not None else var.value or 0.0))
    return total


def candidates(auditor: Auditor, check: Check, state: State) -> list[int]:
    """Published cells of this release sharing a relation with the check's cells or their unknown
    neighbours; if there are none, one relation further, and so on."""
    model = auditor.model
    reach: set[int] = set(check.anchors)
    for a in check.anchors:
        reach.update(auditor.region(a, State(state.suppressed)))
    while True:
        rows = {r for u in reach for r in model.rows_of[u]}
        near = {w for r in rows for w in model.row(r)[0]}
        found = sorted(w for w in near if _suppressible(model, w) and w not in state.suppressed)
        if found or near <= reach:
            return found
        reach |= near


def balance(auditor: Auditor, state: State, protected: set[int], focus: Iterable[int] | None = None,
            on_step: Callable[[], None] | None = None) -> State:
    """No protected cell may be given away by peeling: a relation whose other cells are known gives its
    last unknown cell away, which may leave another relation with one unknown cell (the "one missing
    child" of T3; the quick pass before the LP loop, §2.5 "Speed-ups"). While a protected cell is given
    away, hide the cheapest cell of any relation on the chain that gave it away.
    ``focus``: only the regions of these cells changed since the last balance."""
    model = auditor.model

    def order(u: int) -> SortKey:
        return model.vars[u].key.sort_key()

    def given_away(u: int) -> bool:
        return auditor.resolve(u, state)[0] == "det"

    # Only cells given away now are queued (issue 16: sorting every protected cell of a national region
    # for each option was most of ``balance``, and asking each of them whether it is given away the most of
    # what was left). Hiding more cells never gives a cell of a component away (peeling with more unknown
    # cells determines no more), so a cell not queued would have been skipped.
    if focus is None:
        pending = [(order(u), u) for u in protected if given_away(u)]
    else:
        pending = [(order(u), u) for u in {u for f in focus for u in auditor.given_away(f, state)} if u in protected]
    heapq.heapify(pending)
    while pending:
        _, u = heapq.heappop(pending)
        if not given_away(u):
            continue
        options = sorted({w for r in _chain(auditor, u, state) for w in model.eq_rows[r][0]
                          if _suppressible(model, w) and w not in state.suppressed},
                         key=lambda w: (cost(model, w), order(w)))
        if not options:
            continue  # nothing to hide on the chain: the LP loop looks further afield
        state = auditor.suppress(state, _with_twins(model, options[:1]))
        for w in {*(w for w in auditor.given_away(options[0], state) if w in protected), u}:
            if given_away(w):
                heapq.heappush(pending, (order(w), w))
        if on_step is not None:
            on_step()
    return state


def _chain(auditor: Auditor, u: int, state: State) -> list[int]:
    """The relations that give ``u`` away: its own, and those of every given-away cell they use."""
    model = auditor.model
    rows: list[int] = []
    seen, todo = {u}, [u]
    while todo:
        known = auditor.resolve(todo.pop(), state)
        if known[0] != "det":
            continue
        rows.append(known[2])
        for w in model.eq_rows[known[2]][0]:
            if w not in seen and auditor.resolve(w, state)[0] == "det":
                seen.add(w)
                todo.append(w)
    return rows


def protect(auditor: Auditor, checks: Sequence[Check], state: State, params: Parameters, integer: bool,
            protected: set[int], on_step: Callable[[], None] | None = None, unrepairable: list[Check] | None = None,
            progress: Callable[[float], None] | None = None) -> State:
    """Add suppressions until every check passes; raise ReleaseError when nothing more can be hidden.

    Hiding a cell only widens the attacker's feasible set, so a check that passes keeps passing as
    suppressions are added. The checks are therefore repaired one at a time, the largest deficit
    first (§2.5), without re-solving every check after every step; the caller's final audit then
    solves every check once more on the final pattern.
    """
    failing: list[tuple[float, Check]] = []
    for i, check in enumerate(checks):
        d = check.deficit(auditor, state, integer)
        if d > TOL:
            failing.append((d, check))
        if progress is not None and i % 50 == 0:
            progress(0.8 * i / max(1, len(checks)))  # checking is most of the work; repairs the rest
    # The largest deficit first; ties by the smallest key, so the result is deterministic.
    failing.sort(key=lambda item: (-item[0], item[1].order))
    ceiling: State | None = None
    for n, (_, check) in enumerate(failing):
        if progress is not None:
            progress(0.8 + 0.2 * n / len(failing))
        d = check.deficit(auditor, state, integer)
        if d > TOL and getattr(check, "bounded", False):
            ceiling = ceiling or State(frozenset(v for v in range(len(auditor.model.vars))
                                                 if _suppressible(auditor.model, v)))
            if check.deficit(auditor, ceiling, integer) > TOL:
                # Even hiding everything this release may hide would not help: report it.
                if unrepairable is not None:
                    unrepairable.append(check)
                continue
        spread, auditor.spread = auditor.spread, 0.0  # a repair needs exact deficits: no spreading programs
        try:
            while d > TOL:
                state = _repair_step(auditor, check, d, state, params, integer, protected)
                if on_step is not None:
                    on_step()
                d = check.deficit(auditor, state, integer)
        finally:
            auditor.spread = spread
    return state


def _repair_step(auditor: Auditor, check: Check, d: float, state: State, params: Parameters,
                 integer: bool, protected: set[int]) -> State:
    """Hide the option with the best cost per unit of deficit removed (§2.5), trying the cheapest
    candidates first and more only when none of them helps; each option is a cell together with what
    keeps it from being given away by its other relations (hiding one cell of a published sum alone
    hides nothing)."""
    model = auditor.model
    found = candidates(auditor, check, state)
    if not found:
        raise ReleaseError(f"no cell left to hide around {model.vars[check.anchors[0]].key.label()}")
    ranked = sorted(found, key=lambda w: (cost(model, w), model.vars[w].key.sort_key()))
    first: State | None = None
    for start in range(0, len(ranked), params.candidates):
        best: tuple[float, State] | None = None
        for w in ranked[start:start + params.candidates]:
            option = balance(auditor, auditor.suppress(state, _with_twins(model, [w])), protected | {w}, focus=[w])
            first = first or option
            if check.keeps_deficit(auditor, state, option, d):
                continue  # the option cannot help: no program needed to know it (issue 16)
            left = check.deficit(auditor, option, integer)
            reduction = d - left
            if reduction <= TOL:
                continue
            ratio = sum(cost(model, u) for u in option.suppressed - state.suppressed) / reduction
            if best is None or ratio < best[0] - TOL:
                best = (ratio, option)
            if left <= TOL:
                # Options come cheapest first: none after a complete repair removes more of the
                # deficit per unit of cost than it does.
                break
        if best is not None:
            return best[1]
    # §2.5: when no candidate reduces the deficit, hide the cheapest and look again.
    return first if first is not None else state
