"""Reconstruction check: no small combination of attributes can be proven non-empty (T15, §2.5).

One breakdown at a time publishes, for each population (a province or the nation, in a quarter or a
year), the one-way margins of many attributes. Together they bound the finest cross-classification:
for events E1..En of one population of N persons, at least ``ΣEi − (n−1)·N`` persons are in all of
them (the Fréchet bound, sharp when only one-way margins are known). If that bound is positive while
fewer than k persons truly share the combination, the attacker has proven that a small group exists:
"at least 3 of the under-16 girls in province P were referred to the police".

The search enumerates combinations whose bound, at the true values, is positive (the attacker's
minimum can only be lower), keeps those whose true count is below k, and hands each to the audit as
a linear form whose minimum over the attacker's feasible set must not reach 1.

Quarter cells are events of the year population, and commune-year totals events of the province
population, so combinations across time and place are covered too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from casework.stats.catalogue import COMPLEMENT
from casework.stats.cells import CellKey, Geography, period_type, quarters_of
from casework.stats.model import Model
from casework.stats.suppression import FormCheck, Parameters, ReleaseError

MAX_NODES = 2_000_000  # a search larger than this is refused rather than cut short (never publish unaudited)


@dataclass(frozen=True)
class Event:
    var: int
    size: float
    slack: float
    attrs: frozenset
    required: frozenset[str]
    forbidden: frozenset[str]


def reconstruction_checks(model: Model, microcubes: Mapping[tuple[str, str, str, str], Mapping[frozenset[str], int]],
                          geography: Geography, params: Parameters) -> list[FormCheck]:
    out: list[FormCheck] = []
    for group in sorted(microcubes):
        measure, level, code, period = group
        total = model.index.get(CellKey(measure, level, code, period))
        n = model.vars[total].value if total is not None else None
        if total is None or n is None:
            continue
        events = _events(model, group, geography, n)
        out += _search(model, group, total, n, events, microcubes[group], params)
    return out


def _tokens(model: Model, dims: tuple[tuple[str, str], ...]) -> tuple[set[object], set[str], set[str]]:
    attrs: set[object] = set()
    required: set[str] = set()
    forbidden: set[str] = set()
    for variable, code in dims:
        if code.startswith(COMPLEMENT):
            attrs.add((variable, code[1:]))
            forbidden.add(f"{variable}+{code[1:]}")
        elif model.multi_valued.get(variable):
            attrs.add((variable, code))
            required.add(f"{variable}+{code}")
        else:
            attrs.add(variable)
            required.add(f"{variable}={code}")
    return attrs, required, forbidden


def _events(model: Model, group: tuple[str, str, str, str], geography: Geography, n: float) -> list[Event]:
    measure, level, code, period = group
    wanted: dict[CellKey, tuple[set[object], set[str]]] = {}
    year = period_type(period) == "year"
    for var in model.vars:
        key = var.key
        if key.measure != measure or var.value is None:
            continue
        if (key.geo_level, key.geo_code) == (level, code):
            if key.period == period and key.dims:
                wanted[key] = (set(), set())
            elif year and key.period in quarters_of(period):
                wanted[key] = ({"quarter"}, {f"@{key.period}"})
        elif year and level == "province" and key.geo_level == "commune" and key.period == period \
                and not key.dims and geography.province_of.get(key.geo_code) == code:
            wanted[key] = ({"commune"}, {f"#{key.geo_code}"})
    events: list[Event] = []
    for key, (extra_attrs, extra_required) in wanted.items():
        v = model.index[key]
        size = model.vars[v].value
        if size is None or size < 1 or size >= n:
            continue  # an empty event proves nothing; one holding everyone adds nothing to a combination
        attrs, required, forbidden = _tokens(model, key.dims)
        events.append(Event(v, size, n - size, frozenset(attrs | extra_attrs), frozenset(required | extra_required),
                            frozenset(forbidden)))
    events.sort(key=lambda e: (e.slack, model.vars[e.var].key.sort_key()))
    return events


def _search(model: Model, group, total: int, n: float, events: list[Event],
            cube: Mapping[frozenset[str], int], params: Parameters) -> list[FormCheck]:
    found: list[FormCheck] = []
    nodes = 0
    limit = n - 1  # the bound Σsize − (m−1)·N = N − Σslack must stay ≥ 1

    def truth(required: frozenset[str], forbidden: frozenset[str]) -> int:
        return sum(c for pattern, c in cube.items() if required <= pattern and not (forbidden & pattern))

    def visit(start: int, chosen: list[Event], attrs: frozenset, required: frozenset[str],
              forbidden: frozenset[str], slack: float) -> None:
        nonlocal nodes
        for i in range(start, len(events)):
            e = events[i]
            if slack + e.slack > limit:
                break  # sorted by slack: no later event fits either
            if e.attrs & attrs:
                continue
            nodes += 1
            if nodes > MAX_NODES:
                raise ReleaseError(f"the reconstruction search of {group} is too large to complete")
            now = chosen + [e]
            req, forb, s = required | e.required, forbidden | e.forbidden, slack + e.slack
            # Only a bound below k can hide a true count below k (the count is at least the bound).
            if len(now) >= 2 and n - s < params.k and truth(req, forb) < params.k:
                form = {x.var: 1.0 for x in now}
                form[total] = form.get(total, 0.0) - (len(now) - 1)
                order = (2, group, tuple(model.vars[x.var].key.sort_key() for x in now))
                found.append(FormCheck(tuple(sorted(form.items())), order))
            visit(i + 1, now, attrs | e.attrs, req, forb, s)

    visit(0, [], frozenset(), frozenset(), frozenset(), 0.0)
    return found
