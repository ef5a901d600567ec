"""The attacker's bounds (lp_audit): the integer attacker of T8, peeling, components, the fast path."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from casework.stats import release as release_module
from casework.stats.cells import CellKey
from casework.stats.lp_audit import Auditor, Requirement, State, _single_row
from casework.stats.model import TARGET, Model, Var
from casework.stats.suppression import CellCheck


def cell(name: str) -> CellKey:
    return CellKey("survivors", "province", name, "2026Q1")


def model_of(values: dict[str, float], rows: list[dict[str, float]], kind: str = "persons") -> tuple[Model, dict]:
    model = Model()
    ids = {name: model.add_var(Var(cell(name), TARGET, kind, value)) for name, value in values.items()}
    for row in rows:
        model.add_eq([(ids[n], a) for n, a in row.items()])
    return model, ids


def odd_cycle() -> tuple[Model, dict]:
    """Three published sums of pairs of suppressed cells, each pair sharing y4: the relaxation can spread
    one unit as halves over y1, y2, y3 and leave y4 at 0; whole persons cannot, so y4 is 1."""
    values = {"p1": 1, "p2": 1, "p3": 1, "y1": 0, "y2": 0, "y3": 0, "y4": 1}
    rows = [{"p1": 1, "y1": -1, "y2": -1, "y4": -1}, {"p2": 1, "y2": -1, "y3": -1, "y4": -1},
            {"p3": 1, "y1": -1, "y3": -1, "y4": -1}]
    return model_of(values, rows)


def test_t8_integer_attacker_proves_what_the_linear_one_cannot():
    model, ids = odd_cycle()
    state = State(frozenset(ids[n] for n in ("y1", "y2", "y3", "y4")))
    auditor = Auditor(model)
    assert auditor.interval(ids["y4"], state, integer=False) == (0, 1)
    assert auditor.interval(ids["y4"], state, integer=True) == (1, 1)


def test_t8_the_final_audit_catches_an_lp_pass_ilp_fail_fixture(monkeypatch):
    model, ids = odd_cycle()
    state = State(frozenset(ids[n] for n in ("y1", "y2", "y3", "y4")))
    # k = 2: a count of 1 is primary; R1–R3 with PR = 1 hold for the linear attacker ([0, 1]).
    check = CellCheck(Requirement(ids["y4"], width=1, existence=True), (0,))
    assert release_module.final_audit(Auditor(model), [check], state) == [check]
    monkeypatch.setattr(release_module, "FINAL_AUDIT_INTEGER", False)
    assert release_module.final_audit(Auditor(model), [check], state) == []


def test_a_relation_with_one_unknown_cell_gives_it_away():
    # T3's "one missing child": province = Σ communes with one commune hidden.
    model, ids = model_of({"p": 20, "a": 3, "b": 17}, [{"p": 1, "a": -1, "b": -1}])
    auditor = Auditor(model)
    known = auditor.resolve(ids["a"], State(frozenset({ids["a"]})))
    assert known[0] == "det" and known[1] == 3
    assert auditor.interval(ids["a"], State(frozenset({ids["a"]})), integer=False) == (3, 3)
    assert auditor.interval(ids["a"], State(frozenset({ids["a"], ids["b"]})), integer=False) == (0, 20)


def test_unrelated_unknown_cells_fall_into_separate_components():
    model, ids = model_of({"p": 5, "a": 2, "b": 3, "q": 9, "c": 4, "d": 5},
                          [{"p": 1, "a": -1, "b": -1}, {"q": 1, "c": -1, "d": -1}])
    state = State(frozenset(ids[n] for n in "abcd"))
    auditor = Auditor(model)
    assert auditor.component(ids["a"], state) == (ids["a"], ids["b"])
    assert auditor.component(ids["c"], state) == (ids["c"], ids["d"])


@pytest.mark.parametrize("seed", range(5))
def test_single_relation_shortcut_agrees_with_highs(seed):
    rng = np.random.default_rng(seed)
    n = 6
    lows = np.zeros(n)
    highs = np.where(rng.random(n) < 0.5, np.inf, rng.integers(2, 9, n).astype(float))
    total = float(rng.integers(0, 10))
    highs[0] = np.inf  # keep the relation feasible
    for target in range(n):
        for sign in (1.0, -1.0):
            c = np.zeros(n)
            c[target] = sign
            expected = linprog(c, A_eq=np.ones((1, n)), b_eq=[total],
                               bounds=list(zip(lows, [None if h == np.inf else h for h in highs], strict=True)),
                               method="highs").fun
            assert _single_row(c, ({i: 1.0 for i in range(n)}, total), lows, highs)[0] == pytest.approx(expected)


def test_money_bounds_are_in_dong():
    model, ids = model_of({"p": 30_000_000, "a": 25_000_000, "b": 5_000_000, "c": 0},
                          [{"p": 1, "a": -1, "b": -1, "c": -1}], kind="money")
    state = State(frozenset({ids["a"], ids["c"]}))
    assert Auditor(model).interval(ids["a"], state, integer=True) == (0, 25_000_000)
