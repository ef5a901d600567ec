"""The release computation beyond the attacks: progress for the preview job, and units with nothing
this year left out of the attacker's system as the zeros everyone sees (issue 16)."""

from __future__ import annotations

from casework.stats.cells import CellKey
from casework.stats.counting import count_cells
from casework.stats.model import build_model, idle_units
from tests.stats.attacker import protected
from tests.stats.conftest import attack, key, small, truth
from tests.stats.fixtures import G1, G2_AGE, G4, GEOGRAPHY, People, fill, release, table

G1_YEAR = table("G1-year", periods=("year",))


def busy_91_and_92() -> People:
    p = People()
    fill(p, "2026Q4", communes=("91001", "91002", "91003", "92001", "92002", "92003"))
    p.add("2026Q4", "91004", n=2)
    return p


def test_progress_rises_from_0_to_100_and_never_goes_back():
    seen: list[int] = []
    records = busy_91_and_92().records
    counted = count_cells([G1, G2_AGE], records, "2026Q4", GEOGRAPHY)
    from casework.stats.release import compute_release
    from tests.stats.fixtures import CREATED

    compute_release(release_id="r", period="2026Q4", created_at=CREATED, tables=[G1, G2_AGE], counted=counted,
                    geography=GEOGRAPHY, progress=seen.append)
    assert seen == sorted(set(seen)) and seen[-1] == 100 and len(seen) >= 4
    assert all(0 <= p <= 100 for p in seen)


def test_a_province_with_no_record_is_left_out_of_the_system_and_published_as_zeros():
    tables = [G1_YEAR, G2_AGE, G4]
    records = busy_91_and_92().records
    counted = count_cells(tables, records, "2026Q4", GEOGRAPHY)
    model = build_model(tables, counted, {}, GEOGRAPHY)
    assert ("survivors", "province", "93") in model.idle and ("survivors", "commune", "93002") in model.idle
    assert ("survivors", "province", "92") not in model.idle
    assert not any(v.key.geo_code in ("93", "93001", "93002") for v in model.vars)
    r = release(tables, records, "2026Q4")
    empty = [c for c in r.cells if c.key.geo_code in ("93", "93001", "93002")]
    assert empty and all(c.status == "published" and c.value == 0 for c in empty)
    assert {c.key for c in r.cells} == set(counted.cells) - {k for k in counted.cells if k.hidden}


def test_leaving_idle_units_out_weakens_no_protection():
    # The attacker still sees the zeros of province 93 and every relation through them.
    tables = [G1_YEAR, G2_AGE, G4]
    records = busy_91_and_92().records
    r = release(tables, records, "2026Q4")
    a = attack(r)
    values = truth(tables, records, "2026Q4")
    for cell in small(values):
        if a.published(key(cell)) is None:
            assert protected(*a.interval(key(cell), integer=True), 10) == []


def test_a_unit_whose_earlier_release_withheld_a_cell_is_not_idle():
    from casework.stats.model import LedgerEntry

    tables = [G1, G2_AGE]
    records = busy_91_and_92().records
    counted = count_cells(tables, records, "2026Q4", GEOGRAPHY)
    ledger = {CellKey("survivors", "province", "93", "2026Q1"): LedgerEntry("suppressed", None)}
    assert ("survivors", "province", "93") not in idle_units(tables, counted, ledger)
    ledger = {CellKey("survivors", "province", "93", "2026Q1"): LedgerEntry("published", 0)}
    assert ("survivors", "province", "93") in idle_units(tables, counted, ledger)


def test_a_release_s_repr_names_it_and_leaves_out_its_cells_and_geography():
    r = release([G1_YEAR, G2_AGE, G4], busy_91_and_92().records, "2026Q4")
    shown = repr(r)
    assert r.release_id in shown and "2026Q4" in shown and r.method in shown
    assert len(r.cells) > 20
    assert "ReleaseCell" not in shown and "CellKey" not in shown and "91001" not in shown
    assert len(shown) < 1000
