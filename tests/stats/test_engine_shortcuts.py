"""The engine's shortcuts give the exact answers (issue 16: faster releases, nothing weaker).

An insider check's deficit, computed with its shortcuts (peeling, feasible tables already found), must equal
the deficit of the exact interval solved afresh, for the suppression pattern and for every option a repair
would try; ``balance`` must hide exactly what a plain pass over every protected cell hides."""

from __future__ import annotations

import heapq

from casework.stats import suppression
from casework.stats.counting import count_cells
from casework.stats.lp_audit import TOL, Auditor, State, _spread, deficit
from casework.stats.model import build_model
from casework.stats.release import ledger_entries
from casework.stats.suppression import Parameters, _chain, _suppressible, _with_twins, cost
from tests.stats.fixtures import G1, G2_ACT, G2_AGE, G3, G5_SEX, GEOGRAPHY, People, background, fill, release


def sparse_people() -> People:
    # Few women in many communes: most cells are small, so many are withheld and insiders abound.
    p = People()
    fill(p, "2026Q4", communes=("91001", "91002", "92001"))
    p.add("2026Q4", "91003", n=2)
    p.add("2026Q4", "92002", n=3)
    p.add("2026Q4", "93001", n=1)
    return p


def setup(params: Parameters | None = None):
    tables = [G1, G2_AGE]
    counted = count_cells(tables, sparse_people().records, "2026Q4", GEOGRAPHY)
    model = build_model(tables, counted, {}, GEOGRAPHY)
    params = params or Parameters()
    requirements = suppression.primary_requirements(model, params)
    auditor = Auditor(model, spread=params.pr)
    state = suppression.initial_state(model, requirements)
    return model, params, requirements, auditor, state


def plain_balance(auditor: Auditor, state: State, protected: set[int]) -> State:
    """``balance`` as it was before issue 16's change: every protected cell queued, skipped when not given away."""
    model = auditor.model
    pending = [(model.vars[u].key.sort_key(), u) for u in protected]
    heapq.heapify(pending)
    while pending:
        _, u = heapq.heappop(pending)
        if auditor.resolve(u, state)[0] != "det":
            continue
        options = sorted({w for r in _chain(auditor, u, state) for w in model.eq_rows[r][0]
                          if _suppressible(model, w) and w not in state.suppressed},
                         key=lambda w: (cost(model, w), model.vars[w].key.sort_key()))
        if not options:
            continue
        state = state.suppress(_with_twins(model, options[:1]))
        for w in {*(w for w in auditor.region(options[0], state) if w in protected), u}:
            heapq.heappush(pending, (model.vars[w].key.sort_key(), w))
    return state


def test_balance_hides_what_a_plain_pass_hides():
    model, _, requirements, auditor, state = setup()
    protected = set(requirements)
    assert suppression.balance(auditor, state, protected) == plain_balance(Auditor(model), state, protected)
    balanced = suppression.balance(auditor, state, protected)
    for w in sorted(v for v in range(len(model.vars)) if _suppressible(model, v) and v not in balanced.suppressed):
        option = balanced.suppress(_with_twins(model, [w]))
        fast = suppression.balance(auditor, option, protected | {w}, focus=[w])
        assert fast == plain_balance(Auditor(model), option, protected | {w})


def test_insider_deficits_equal_the_exact_intervals():
    model, params, requirements, auditor, state = setup()
    state = suppression.balance(auditor, state, set(requirements))
    checks = suppression.insider_checks(auditor, state, requirements, params.k)
    assert checks, "the fixture must give insider checks"
    states = [state] + [suppression.balance(auditor, state.suppress(_with_twins(model, [w])), set(requirements) | {w},
                                            focus=[w])
                        for w in sorted(v for v in range(len(model.vars))
                                        if _suppressible(model, v) and v not in state.suppressed)]
    seen_pinned = 0
    for s in states:
        for check in checks:
            fast = check.deficit(auditor, s, False)
            pinned = s.pin(*check.pins)
            exact = deficit(check.requirement, *Auditor(model).interval(check.requirement.var, pinned, False))
            assert abs(fast - exact) < 1e-6, model.vars[check.requirement.var].key.label()
            seen_pinned += exact > 0
    assert seen_pinned, "some insider must pin a cell in some state, or the test shows nothing"


def test_dual_bounds_never_exceed_the_exact_minimum():
    model, _, requirements, auditor, state = setup(Parameters(protection_width=20))
    state = suppression.balance(auditor, state, set(requirements))
    free = [v for v in range(len(model.vars)) if _suppressible(model, v) and v not in state.suppressed]
    compared = 0
    for v in sorted(requirements):
        for sense in (1.0, -1.0):
            auditor.minimise({v: sense}, state, False)  # the optimum whose duals the bound reads
            for w in free:
                option = suppression.balance(auditor, state.suppress(_with_twins(model, [w])),
                                             set(requirements) | {w}, focus=[w])
                bound = auditor.bound_after(v, sense, state, option)
                exact = Auditor(model).minimise({v: sense}, option, False)
                assert bound <= exact + 1e-6, model.vars[v].key.label()
                compared += bound > -float("inf")
    assert compared, "some bound must be finite, or the test shows nothing"


def test_an_option_kept_by_its_duals_leaves_the_exact_deficit():
    # A protection width of 20 leaves some cells short of it after balancing, so that repairs are tried.
    model, _, requirements, auditor, state = setup(Parameters(protection_width=20))
    state = suppression.balance(auditor, state, set(requirements))
    free = [v for v in range(len(model.vars)) if _suppressible(model, v) and v not in state.suppressed]
    kept = 0
    for check in suppression.cell_checks(model, requirements):
        d = check.deficit(auditor, state, False)
        if d <= 1e-6:
            continue
        for w in free:
            option = suppression.balance(auditor, state.suppress(_with_twins(model, [w])), set(requirements) | {w},
                                         focus=[w])
            if check.keeps_deficit(auditor, state, option, d):
                exact = deficit(check.requirement, *Auditor(model).interval(check.requirement.var, option, False))
                assert exact >= d - 1e-6, model.vars[check.requirement.var].key.label()
                kept += 1
    assert kept, "some option must be kept by its duals, or the test shows nothing"


def test_integer_minima_rounded_up_from_known_tables_equal_the_integer_programs():
    # A year end over three released quarters: the year's three-way table gives fractional optima.
    tables = [G1, G2_ACT, G2_AGE, G3, G5_SEX]
    people = People()
    for q in range(1, 5):
        background(people, f"2026Q{q}", 10 * q, per_commune=2)
    earlier: list = []
    for q in range(1, 4):
        earlier.append(release(tables, people.records, f"2026Q{q}", earlier=tuple(earlier)))
    counted = count_cells(tables, people.records, "2026Q4", GEOGRAPHY)
    model = build_model(tables, counted, ledger_entries(earlier, "2026"), GEOGRAPHY)
    requirements = suppression.primary_requirements(model, Parameters())
    auditor = Auditor(model)
    state = suppression.balance(auditor, suppression.initial_state(model, requirements), set(requirements))
    exact = Auditor(model)
    exact._rounded_up = lambda *_: None  # type: ignore[method-assign]  # every integer program solved
    rounded = 0
    for v in sorted(requirements):
        for sense in (1.0, -1.0):
            # HiGHS may reach another optimal vertex in the other auditor: equal up to rounding.
            assert abs(auditor.minimise({v: sense}, state, True) - exact.minimise({v: sense}, state, True)) < 1e-6, \
                model.vars[v].key.label()
            solved = auditor._solutions.get((auditor.component(v, state), ((v, sense),), (), "integer"))
            rounded += solved is not None and solved[2] is None
    assert rounded, "some integer minimum must come from a known table, or the test shows nothing"


def test_regions_grown_from_a_state_equal_a_fresh_walk():
    # Two persons a commune: regions where nothing is given away, which a repair's options grow.
    people = People()
    background(people, "2026Q4", 3, per_commune=2)
    model = build_model([G1, G2_AGE], count_cells([G1, G2_AGE], people.records, "2026Q4", GEOGRAPHY), {}, GEOGRAPHY)
    requirements = suppression.primary_requirements(model, Parameters())
    auditor = Auditor(model)
    state = suppression.balance(auditor, suppression.initial_state(model, requirements), set(requirements))
    grown = 0
    for w in sorted(v for v in range(len(model.vars)) if _suppressible(model, v) and v not in state.suppressed):
        option = auditor.suppress(state, _with_twins(model, [w]))
        # The option as the repair tries it, and as ``balance`` completes it (hiding one cell of a published
        # sum alone gives it away; the completed option most often does not).
        for grown_state in (option, suppression.balance(auditor, option, set(requirements) | {w}, focus=[w])):
            fast: tuple[dict, dict, dict] = ({}, {}, {})
            walked = auditor._explore_grown(w, grown_state, state, fast)
            exact: tuple[dict, dict, dict] = ({}, {}, {})
            Auditor(model)._explore(w, grown_state, exact)  # no state to grow from: the whole walk and peeling
            assert fast == (exact if walked else ({}, {}, {})), model.vars[w].key.label()
            grown += walked
            # The cells peeling gives away, as the walk lists them, are those ``resolve`` finds given away.
            for u in {w, *requirements}:
                region = Auditor(model).region(u, grown_state)
                assert set(auditor.given_away(u, grown_state)) == {
                    x for x in region if auditor.resolve(x, grown_state)[0] == "det"}
    assert grown, "some option must grow its region from the state's, or the test shows nothing"


def test_tables_at_their_true_values_are_marked_as_the_distances_say():
    model, params, requirements, auditor, state = setup()
    state = suppression.balance(auditor, state, set(requirements))
    for check in suppression.insider_checks(auditor, state, requirements, params.k):
        check.deficit(auditor, state, False)
    seen = 0
    for key, points in auditor._points.items():
        if not isinstance(key, tuple) or not key or not isinstance(key[0], int) or auditor._truth(key) is None:
            continue  # a pinned state's tables: not read by the insider shortcut
        distance = abs(points.array() - auditor._truth(key))
        for col in range(len(key)):
            assert (points.still(col) == (distance[:, col] < TOL)).all()
            assert (points.moved(col) == (distance[:, col] > TOL)).all()
        seen += points.count
    assert seen, "the checks must find tables, or the test shows nothing"


def plain_explore(auditor: Auditor, v: int, state: State) -> tuple[dict, dict]:
    """``Auditor._explore`` as it was before issue 16's change: every relation of the region counted first."""
    model, rows_of, row_vars = auditor.model, auditor.model.rows_of, auditor._row_vars()
    n_eq = len(model.eq_rows)
    seen: set[int] = set()
    region = _spread({v}, rows_of, row_vars, seen, auditor._unknown(state.suppressed),
                     frozenset(w for w, _ in state.pinned))
    count = {r: len(region.intersection(row_vars[r])) for r in sorted(r for r in seen if r < n_eq)}
    queue = sorted((r for r, c in count.items() if c == 1), reverse=True)
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
                total += a * (known[w][0] if w in known else auditor.bounds(w, state)[0])
        known[u] = (-total / coef, r)
        for r2 in rows_of[u]:
            if r2 < n_eq:
                count[r2] -= 1
                if count[r2] == 1:
                    queue.append(r2)
    region_t = tuple(sorted(region))
    resolved: dict = {u: ("det", value, r) for u, (value, r) in known.items()}
    rest = region - known.keys()
    seen.clear()
    while rest:
        comp = _spread({min(rest)}, rows_of, row_vars, seen, rest)
        resolved.update(dict.fromkeys(comp, ("comp", tuple(sorted(comp)))))
        rest -= comp
    return resolved, dict.fromkeys(region, region_t)


def test_the_walk_that_counts_peels_as_the_plain_walk():
    model, params, requirements, auditor, state = setup()
    balanced = suppression.balance(auditor, state, set(requirements))
    insiders = [check.pins[0] for check in suppression.insider_checks(auditor, balanced, requirements, params.k)]
    states = [state, balanced, *(balanced.pin(pin) for pin in insiders[:20])]
    states += [balanced.suppress(_with_twins(model, [w])) for w in range(len(model.vars))
               if _suppressible(model, w) and w not in balanced.suppressed]
    peeled = 0
    for s in states:
        fresh = Auditor(model)
        for v in range(len(model.vars)):
            low, high = fresh.bounds(v, s)
            if high - low <= 0:
                continue
            resolved, regions = plain_explore(fresh, v, s)
            assert fresh.resolve(v, s) == resolved[v], model.vars[v].key.label()
            assert fresh.region(v, s) == regions[v]
            peeled += resolved[v][0] == "det"
    assert peeled, "some cell must be given away by peeling, or the test shows nothing"
