"""Helpers for the attacker tests: deliberately broken engines, and the attacker's view of releases."""

from __future__ import annotations

import pytest

from casework.stats import formats, reconstruction, suppression
from casework.stats import model as model_module
from casework.stats import release as release_module
from casework.stats.catalogue import TableDef
from casework.stats.cells import CellKey
from casework.stats.counting import count_cells
from casework.stats.lp_audit import Requirement
from tests.stats.attacker import Attack, Key
from tests.stats.fixtures import GEOGRAPHY


def _off_complementary(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(suppression, "protect", lambda auditor, checks, state, *a, **k: state)
    mp.setattr(suppression, "balance", lambda auditor, state, *a, **k: state)
    mp.setattr(release_module, "final_audit", lambda *a: [])


def _off_primary(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(suppression, "primary_requirements", lambda model, params: {})


def _wrap_requirement(mp: pytest.MonkeyPatch, change) -> None:
    original = suppression._requirement

    def patched(model, v, params):
        return change(model, v, original(model, v, params))

    mp.setattr(suppression, "_requirement", patched)


def _off_complements(mp: pytest.MonkeyPatch) -> None:
    _wrap_requirement(mp, lambda model, v, req: None if model.vars[v].key.hidden else req)


def _off_existence(mp: pytest.MonkeyPatch) -> None:
    _wrap_requirement(mp, lambda model, v, req: None if req is None else
                      Requirement(req.var, req.width, False, req.upper, req.lower, req.scale))


def _off_p_rule(mp: pytest.MonkeyPatch) -> None:
    original = suppression._money_requirement

    def frequency_only(v, total, recipients, top, params):
        return original(v, total, recipients, top, params) if recipients < params.k else None

    mp.setattr(suppression, "_money_requirement", frequency_only)


def _off_derived_rule(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(release_module, "derived_publishable", lambda num, den: bool(den.value))
    mp.setattr(release_module, "_add_derived_constraints", lambda model, values: None)


def _off_relations(mp: pytest.MonkeyPatch) -> None:
    """The engine before issue 16: every breakdown of a multi-valued list treated as multi-valued, events
    included, and no inequality between tables (persons ≤ events, a breakdown ≥ its total)."""
    mp.setattr(TableDef, "multi_valued",
               lambda self, variable: any(d.variable == variable and d.multi_valued for d in self.dimensions))
    mp.setattr(model_module, "_add_inequalities", lambda *a: None)


BREAKS = {
    "relations": _off_relations,
    "complementary": _off_complementary,
    "primary": _off_primary,
    "group": lambda mp: mp.setattr(suppression, "_group_disclosure", lambda model, v, params: False),
    "complements": _off_complements,
    "existence": _off_existence,
    "p_rule": _off_p_rule,
    "insider": lambda mp: mp.setattr(suppression, "insider_checks", lambda *a: []),
    "reconstruction": lambda mp: mp.setattr(reconstruction, "reconstruction_checks", lambda *a: []),
    "integer": lambda mp: mp.setattr(release_module, "FINAL_AUDIT_INTEGER", False),
    "derived_rule": _off_derived_rule,
}


@pytest.fixture
def broken(monkeypatch):
    """Switch off one safeguard of the engine, to show that a test would catch its absence."""

    def switch_off(*parts: str) -> None:
        for part in parts:
            BREAKS[part](monkeypatch)

    return switch_off


def attack(*releases) -> Attack:
    """The report recipient A2: every download it holds, and the public catalogue."""
    return Attack.from_downloads([formats.to_csv(r) for r in releases], formats.to_manifest_json(releases[-1]),
                                 GEOGRAPHY)


def key(cell: CellKey) -> Key:
    return (cell.measure, cell.geo_level, cell.geo_code, cell.period, cell.dims)


def truth(tables, records, period: str) -> dict[CellKey, int]:
    counted = count_cells(tables, records, period, GEOGRAPHY)
    return {k: c.value for k, c in {**counted.context, **counted.cells}.items()}


def small(values: dict[CellKey, int], k: int = 10) -> list[CellKey]:
    """The primary-sensitive person counts (P1): the cells an attacker wants."""
    return sorted((c for c, v in values.items() if 1 <= v < k), key=CellKey.sort_key)


@pytest.fixture
def demo_geography(monkeypatch):
    """The demo's three provinces, whole: demo data lives in communes the nine-commune test geography lacks."""
    from casework.demo import DEMO_PLACES
    from casework.stats import service
    from casework.stats.cells import Geography

    full = Geography.from_geo_data()
    keep = {code for code, _ in DEMO_PLACES}
    geo = Geography(provinces=tuple(p for p in full.provinces if p[0] in keep),
                    communes=tuple(c for c in full.communes if c[2] in keep), scheme=full.scheme)
    monkeypatch.setattr(service, "geography", lambda period=None: geo)
    return geo
