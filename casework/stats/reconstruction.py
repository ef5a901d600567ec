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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from casework.stats.catalogue import COMPLEMENT
from casework.stats.cells import CellKey, Geography, period_type, quarters_of
from casework.stats.counting import GroupKey
from casework.stats.model import Model
from casework.stats.suppression import FormCheck, Parameters, ReleaseError

MAX_NODES = 2_000_000  # a search larger than this is refused rather than cut short (never publish unaudited)


@dataclass(frozen=True)
class Event:
    var: int
    size: float
    slack: float
    attrs: frozenset[object]
    required: frozenset[str]
    forbidden: frozenset[str]


def reconstruction_checks(model: Model, microcubes: Mapping[tuple[str, str, str, str], Mapping[frozenset[str], int]],
                          geography: Geography, params: Parameters) -> list[FormCheck]:
    out: list[FormCheck] = []
    # The cells of each place, and the commune totals of each province, indexed once (issue 16: each
    # group used to scan every cell of the model).
    by_place: dict[tuple[str, str, str], list[int]] = {}
    communes_of: dict[tuple[str, str, str], list[int]] = {}
    for v, var in enumerate(model.vars):
        key = var.key
        by_place.setdefault((key.measure, key.geo_level, key.geo_code), []).append(v)
        if key.geo_level == "commune" and not key.dims:
            province = geography.province_of.get(key.geo_code)
            if province is not None:
                communes_of.setdefault((key.measure, province, key.period), []).append(v)
    for group in sorted(microcubes):
        measure, level, code, period = group
        total = model.index.get(CellKey(measure, level, code, period))
        n = model.vars[total].value if total is not None else None
        if total is None or n is None:
            continue
        near = by_place.get((measure, level, code), [])
        if period_type(period) == "year" and level == "province":
            near = near + communes_of.get((measure, code, period), [])
        events = _events(model, group, geography, n, sorted(near))
        out += _search(model, group, total, n, events, microcubes[group], params)
    return out


def _tokens(model: Model, measure: str, dims: tuple[tuple[str, str], ...]) -> tuple[set[object], set[str], set[str]]:
    attrs: set[object] = set()
    required: set[str] = set()
    forbidden: set[str] = set()
    for variable, code in dims:
        if code.startswith(COMPLEMENT):
            attrs.add((variable, code[1:]))
            forbidden.add(f"{variable}+{code[1:]}")
        elif model.multi(measure, variable):
            attrs.add((variable, code))
            required.add(f"{variable}+{code}")
        else:
            attrs.add(variable)
            required.add(f"{variable}={code}")
    return attrs, required, forbidden


def _events(model: Model, group: tuple[str, str, str, str], geography: Geography, n: float,
            near: list[int]) -> list[Event]:
    """``near``: the cells of the group's place and, for a province's year, its communes' totals."""
    measure, level, code, period = group
    wanted: dict[CellKey, tuple[set[object], set[str]]] = {}
    year = period_type(period) == "year"
    for v in near:
        var = model.vars[v]
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
        attrs, required, forbidden = _tokens(model, measure, key.dims)
        events.append(Event(v, size, n - size, frozenset(attrs | extra_attrs), frozenset(required | extra_required),
                            frozenset(forbidden)))
    events.sort(key=lambda e: (e.slack, model.vars[e.var].key.sort_key()))
    return events


def _search(model: Model, group: GroupKey, total: int, n: float, events: list[Event],
            cube: Mapping[frozenset[str], int], params: Parameters) -> list[FormCheck]:
    found: list[FormCheck] = []
    nodes = 0
    limit = n - 1  # the bound Σsize − (m−1)·N = N − Σslack must stay ≥ 1

    # Attribute tokens as bits of one integer: a pattern holds a combination when it has every required
    # bit and no forbidden one (the same test as on sets, without building a set per node).
    bits: dict[str, int] = {}

    def mask(tokens: Iterable[str]) -> int:
        m = 0
        for token in tokens:
            if token not in bits:
                bits[token] = 1 << len(bits)
            m |= bits[token]
        return m

    patterns = [(mask(pattern), c) for pattern, c in cube.items()]
    required_of = [mask(e.required) for e in events]
    forbidden_of = [mask(e.forbidden) for e in events]

    def truth(required: int, forbidden: int) -> int:
        return sum(c for pattern, c in patterns if pattern & required == required and not pattern & forbidden)

    def visit(start: int, chosen: list[Event], attrs: frozenset[object], required: int, forbidden: int,
              slack: float) -> None:
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
            req, forb, s = required | required_of[i], forbidden | forbidden_of[i], slack + e.slack
            # Only a bound below k can hide a true count below k (the count is at least the bound).
            if len(now) >= 2 and n - s < params.k and truth(req, forb) < params.k:
                form = {x.var: 1.0 for x in now}
                form[total] = form.get(total, 0.0) - (len(now) - 1)
                order = (2, group, tuple(model.vars[x.var].key.sort_key() for x in now))
                found.append(FormCheck(tuple(sorted(form.items())), order))
            visit(i + 1, now, attrs | e.attrs, req, forb, s)

    visit(0, [], frozenset(), 0, 0, 0.0)
    return found
