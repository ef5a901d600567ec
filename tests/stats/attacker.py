"""An attacker independent of the engine: report recipient A2 and insider A3 of disclosure-control §2.1.

It reads what was downloaded (the canonical CSV of every release it holds, and the manifest's public
catalogue) and knows the geography and the algorithm (Kerckhoffs). From that alone it writes down
every additive relation it can think of and solves, with scipy's HiGHS, for the feasible interval of
any cell: linear programming, or integer programming for the integer attacker of T8. It shares no
code with ``casework.stats.model`` or ``lp_audit`` on purpose: a defect in the engine's model would
otherwise hide itself.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import lil_array

Key = tuple[str, str, str, str, tuple[tuple[str, str], ...]]  # measure, level, code, period, dims


def parse_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def row_key(row: dict[str, str], dims: list[str]) -> Key:
    cats = tuple(sorted((d, row[d]) for d in dims if row.get(d, "_T") not in ("_T", "")))
    return (row["measure"], row["geo_level"], row["geo_code"], row["period"], cats)


@dataclass
class Attack:
    """The constraint system an attacker builds from downloads, and the bounds it can prove."""

    geography: object
    manifest: dict
    cells: dict[Key, tuple[str, float | None, int]] = field(default_factory=dict)  # status, value, rounding
    extra: list[tuple[dict[Key, float], float, float]] = field(default_factory=list)  # lo ≤ a·y ≤ hi
    conflicts: list[Key] = field(default_factory=list)  # cells with two statuses across downloads (T5)
    # The structural facts a reader of docs/statistics.md can state (issue 16), from the public
    # catalogue: one category per event where a table says so (event additivity), persons ≤ the events
    # they have (``events_of``), and, for the variables named here, "everyone counted has at least one
    # category" (a referred person was referred somewhere): a multi-valued breakdown adds up to at
    # least its total. With both flags off and no variable named, the naive attacker of before.
    single_valued: bool = True
    persons_le_events: bool = True
    at_least_one: set = field(default_factory=set)  # variables, or (measure, variable) pairs

    @classmethod
    def from_downloads(cls, csvs: list[bytes], manifest: bytes | dict, geography) -> Attack:
        man = json.loads(manifest) if isinstance(manifest, bytes) else manifest
        attack = cls(geography, man)
        for data in csvs:
            rows = parse_csv(data)
            dims = [c for c in rows[0] if c not in _FIXED_COLUMNS] if rows else []
            for row in rows:
                key = row_key(row, dims)
                value = float(row["value"]) if row["value"] != "" else None
                entry = (row["status"], value, int(row["rounding_base"]))
                known = attack.cells.get(key)
                if known is not None and known != entry:
                    attack.conflicts.append(key)
                    if entry[0] != "published":
                        continue  # a value published anywhere is known, whatever another file says
                attack.cells[key] = entry
        return attack

    # --- the public catalogue -------------------------------------------------------------------------

    def _lists(self) -> dict[str, dict]:
        return {cl["variable"]: cl for cl in self.manifest["code_lists"]}

    def multi(self, variable: str) -> bool:
        return self._lists()[variable]["multi_valued"]

    def codes(self, variable: str) -> list[str]:
        return [c["code"] for c in self._lists()[variable]["categories"]]

    def multi_for(self, measure: str, variable: str) -> bool:
        """Multi-valued for this measure: not for events a table declares one category each of."""
        if not self.multi(variable):
            return False
        return not (self.single_valued and any(
            t["measure"] == measure and variable in t.get("single_valued", ()) for t in self.manifest["tables"]))

    def structural(self) -> list[tuple[dict[Key, float], float, float]]:
        """The inequalities of the structural facts, as ``lo ≤ a·y ≤ hi`` rows."""
        out: list[tuple[dict[Key, float], float, float]] = []
        persons = {t["measure"] for t in self.manifest["tables"] if t["kind"] == "persons"}
        for t in self.manifest["tables"]:
            if not t.get("events_of") or not self.persons_le_events:
                continue
            for k in sorted(self.cells):
                if k[0] == t["measure"]:
                    pk = (t["events_of"], *k[1:])
                    if pk in self.cells:
                        out.append(({pk: 1.0, k: -1.0}, -np.inf, 0.0))
        parents: set[tuple[Key, str]] = set()
        for k in self.cells:
            if k[0] not in persons:
                continue
            for i, (variable, category) in enumerate(k[4]):
                if (variable in self.at_least_one or (k[0], variable) in self.at_least_one) \
                        and not category.startswith("!"):
                    parents.add(((*k[:4], k[4][:i] + k[4][i + 1:]), variable))
        for parent, variable in sorted(parents):
            children = [(*parent[:4], tuple(sorted(parent[4] + ((variable, c),)))) for c in self.codes(variable)]
            out.append(({parent: 1.0, **{c: -1.0 for c in children}}, -np.inf, 0.0))
        return out

    # --- the system --------------------------------------------------------------------------------------

    def _system(self):
        keys: list[Key] = sorted(self.cells)
        index: dict[Key, int] = {k: i for i, k in enumerate(keys)}

        def var(k: Key) -> int:
            if k not in index:
                index[k] = len(keys)
                keys.append(k)
            return index[k]

        rows: list[dict[int, float]] = []
        seen = list(keys)
        provinces = [p for p, _ in self.geography.provinces]
        communes_of: dict[str, list[str]] = defaultdict(list)
        for c, _, p in self.geography.communes:
            communes_of[p].append(c)
        for k in seen:
            measure, level, code, period, dims = k
            # geography
            children: list[Key] = []
            if level == "national":
                children = [(measure, "province", p, period, dims) for p in provinces]
            elif level == "province":
                children = [(measure, "commune", c, period, dims) for c in communes_of[code]]
            if any(c in self.cells for c in children):
                rows.append({var(k): 1.0, **{var(c): -1.0 for c in children}})
            # time
            if len(period) == 4:
                quarters = [(measure, level, code, f"{period}Q{q}", dims) for q in range(1, 5)]
                if any(q in self.cells for q in quarters):
                    rows.append({var(k): 1.0, **{var(q): -1.0 for q in quarters}})
            # categories
            for i, (variable, category) in enumerate(dims):
                parent = (measure, level, code, period, dims[:i] + dims[i + 1:])
                if self.multi_for(measure, variable):
                    other = (measure, level, code, period, tuple(sorted(dims[:i] + ((variable, "!" + category),)
                                                                        + dims[i + 1:])))
                    rows.append({var(parent): 1.0, var(k): -1.0, var(other): -1.0})
                elif category == self.codes(variable)[0]:
                    siblings = [(measure, level, code, period,
                                 tuple(sorted(dims[:i] + ((variable, c),) + dims[i + 1:])))
                                for c in self.codes(variable)]
                    rows.append({var(parent): 1.0, **{var(s): -1.0 for s in siblings}})
        return keys, index, rows

    def bounds_of(self, keys: list[Key], known: dict[Key, float]) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = np.zeros(len(keys)), np.full(len(keys), np.inf)
        for i, k in enumerate(keys):
            if k in known:
                lo[i] = hi[i] = known[k]
                continue
            status, value, base = self.cells.get(k, ("hidden", None, 1))
            if status == "published" and value is not None:
                half = base / 2 if base > 1 else 0.0  # a rounded amount is known to ± half the base
                lo[i], hi[i] = max(0.0, value - half), value + half
        return lo, hi

    def interval(self, target: Key, integer: bool = False,
                 known: dict[Key, float] | None = None) -> tuple[float, float]:
        """The attacker's proven bounds on one cell; ``known``: cells an insider knows exactly (T11)."""
        return (self.minimum({target: 1.0}, integer, known), -self.minimum({target: -1.0}, integer, known))

    def minimum(self, form: dict[Key, float], integer: bool = False, known: dict[Key, float] | None = None) -> float:
        keys, index, rows = self._system()
        extras = self.extra + self.structural()
        for k in [*form, *(k for terms, _, _ in extras for k in terms)]:
            if k not in index:
                index[k] = len(keys)
                keys.append(k)
        n = len(keys)
        lo, hi = self.bounds_of(keys, known or {})
        a = lil_array((len(rows), n))
        for r, row in enumerate(rows):
            for j, coef in row.items():
                a[r, j] += coef
        extra = lil_array((len(extras), n))
        elo, ehi = [], []
        for r, (terms, low, high) in enumerate(extras):
            for k, coef in terms.items():
                extra[r, index[k]] += coef
            elo.append(low)
            ehi.append(high)
        c = np.zeros(n)
        for k, coef in form.items():
            c[index[k]] += coef
        if integer:
            constraints = [LinearConstraint(a.tocsr(), 0, 0)]
            if extras:
                constraints.append(LinearConstraint(extra.tocsr(), elo, ehi))
            res = milp(c, integrality=np.ones(n), bounds=Bounds(lo, hi), constraints=constraints)
            if res.status == 0:
                return float(res.fun)
        a_ub = b_ub = None
        if extras:
            from scipy.sparse import vstack
            e = extra.tocsr()
            upper = [r for r, h in enumerate(ehi) if np.isfinite(h)]
            lower = [r for r, low in enumerate(elo) if np.isfinite(low)]
            a_ub = vstack([e[upper], -e[lower]])
            b_ub = np.concatenate([np.array(ehi)[upper], -np.array(elo)[lower]])
        res = linprog(c, A_eq=a.tocsr(), b_eq=np.zeros(len(rows)), A_ub=a_ub, b_ub=b_ub,
                      bounds=list(zip(lo, [None if h == np.inf else h for h in hi], strict=True)), method="highs")
        if res.status == 3:
            return -np.inf
        assert res.status == 0, res.message
        return float(res.fun)

    def intervals(self, targets: list[Key], integer: bool = False) -> dict[Key, tuple[float, float]]:
        """The proven bounds of many cells over a large system (the national data): each solved on the
        cells it is tied to through unknown cells, the known ones moved to the right-hand side. The same
        bounds as ``interval``, which solves the whole system, and independent of the engine's code."""
        keys, index, rows = self._system()
        extras = self.extra + self.structural()
        for k in [*targets, *(k for terms, _, _ in extras for k in terms)]:
            if k not in index:
                index[k] = len(keys)
                keys.append(k)
        lo, hi = self.bounds_of(keys, {})
        system = [(row, 0.0, 0.0) for row in rows]
        system += [({index[k]: c for k, c in terms.items()}, low, high) for terms, low, high in extras]
        rows_of: dict[int, list[int]] = defaultdict(list)
        for r, (terms, _, _) in enumerate(system):
            for j in terms:
                rows_of[j].append(r)
        unknown = hi - lo > 1e-9
        out: dict[Key, tuple[float, float]] = {}
        for target in targets:
            j0 = index[target]
            if not unknown[j0]:
                out[target] = (float(lo[j0]), float(hi[j0]))
                continue
            comp, todo = {j0}, [j0]
            while todo:
                for r in rows_of[todo.pop()]:
                    for w in system[r][0]:
                        if w not in comp and unknown[w]:
                            comp.add(w)
                            todo.append(w)
            cols = sorted(comp)
            pos = {j: i for i, j in enumerate(cols)}
            a_rows, r_lo, r_hi = [], [], []
            for r in sorted({r for j in cols for r in rows_of[j]}):
                terms, low, high = system[r]
                const = sum(c * lo[j] for j, c in terms.items() if j not in pos)
                a_rows.append({pos[j]: c for j, c in terms.items() if j in pos})
                r_lo.append(low - const)
                r_hi.append(high - const)
            a = lil_array((len(a_rows), len(cols)))
            for i, row in enumerate(a_rows):
                for j, c in row.items():
                    a[i, j] += c
            bounds = Bounds(lo[cols], hi[cols])
            found = []
            for sign in (1.0, -1.0):
                c = np.zeros(len(cols))
                c[pos[j0]] = sign
                res = milp(c, integrality=np.ones(len(cols)) if integer else np.zeros(len(cols)), bounds=bounds,
                           constraints=[LinearConstraint(a.tocsr(), r_lo, r_hi)] if a_rows else [])
                if res.status != 0:
                    found.append(-np.inf)  # unbounded
                    continue
                found.append(float(res.fun))
            out[target] = (found[0], -found[1])
        return out

    # --- quick checks ------------------------------------------------------------------------------------

    def suppressed(self) -> list[Key]:
        return sorted(k for k, (status, _, _) in self.cells.items() if status == "suppressed")

    def published(self, key: Key) -> float | None:
        status, value, _ = self.cells.get(key, ("hidden", None, 1))
        return value if status == "published" else None

    def one_missing_child(self) -> list[Key]:
        """T3 quick check: a parent published with exactly one child not published gives the child away."""
        keys, _, rows = self._system()
        found = []
        for row in rows:
            unknown = [keys[j] for j in row if self.published(keys[j]) is None]
            if len(unknown) == 1 and self.cells.get(unknown[0], ("hidden",))[0] == "suppressed":
                found.append(unknown[0])
        return sorted(set(found))


_FIXED_COLUMNS = {"release_id", "table_id", "geo_level", "geo_code", "geo_name", "period", "period_type", "measure",
                  "unit", "value", "status", "obs_status", "conf_status", "rounding_base", "method"}


def protected(low: float, high: float, k: int) -> list[str]:
    """Which of R1–R3 (§2.5) fail for a primary cell's proven bounds; empty when protected."""
    failures = []
    if not high > low + 1e-6:
        failures.append("R1")
    if low > 1e-6:
        failures.append("R2")
    if high - low < k - 1e-6:
        failures.append("R3")
    return failures


def fine_minimum(attack: Attack, variables: dict[str, list[str]], multi: set[str],
                 populations: list[tuple[str, str, str]], combo: dict, measure: str = "survivors") -> float:
    """T15: the integer attacker's minimum count of one combination of attributes in one population
    (level, code, period), over the finest cross-classification constrained by every published cell.

    ``variables``: the single-valued variables with their codes; ``multi``: multi-valued variables, each
    indicator a yes/no attribute; ``combo``: ``{"population": (level, code, period), "cells": ((variable,
    category), ...)}`` with ``!c`` for "does not have c". The fine cells are every pattern of attributes
    in each population; every published cell of those populations is a linear constraint on them."""
    single = sorted(variables)
    indicators = sorted((v, c) for v in multi for c in attack.codes(v))
    patterns = list(itertools.product(*[variables[v] for v in single], *[[False, True] for _ in indicators]))
    fine_keys = [(pop, pat) for pop in populations for pat in patterns]
    n = len(fine_keys)
    rows, rhs_lo, rhs_hi = [], [], []
    for (measure_, level, code, period, dims), (status, value, _) in attack.cells.items():
        if measure_ != measure or (level, code, period) not in populations or status != "published":
            continue
        row = np.zeros(n)
        for j, (pop, pat) in enumerate(fine_keys):
            if pop != (level, code, period):
                continue
            if all(_matches(single, indicators, pat, variable, category) for variable, category in dims):
                row[j] = 1.0
        rows.append(row)
        rhs_lo.append(value)
        rhs_hi.append(value)
    objective = np.zeros(n)
    for j, (pop, pat) in enumerate(fine_keys):
        if pop == combo["population"] and all(
                _matches(single, indicators, pat, variable, category) for variable, category in combo["cells"]):
            objective[j] = 1.0
    res = milp(objective, integrality=np.ones(n), bounds=Bounds(0, np.inf),
               constraints=[LinearConstraint(np.array(rows), rhs_lo, rhs_hi)])
    assert res.status == 0, res.message
    return float(res.fun)


def _matches(single: list[str], indicators: list[tuple[str, str]], pattern: tuple, variable: str,
             category: str) -> bool:
    if variable in single:
        return pattern[single.index(variable)] == category
    negated = category.startswith("!")
    code = category.lstrip("!")
    has = pattern[len(single) + indicators.index((variable, code))]
    return has != negated
