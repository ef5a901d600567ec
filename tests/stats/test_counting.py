"""Counting (disclosure-control §2.2): distinct persons, period of intake, consent, events and money;
fixtures (d) a late-registered case and (i) a quarter with zero cases."""

from __future__ import annotations

from datetime import date

import pytest

from casework.stats.cells import CellKey
from casework.stats.counting import Record, count_cells
from tests.stats.fixtures import G1, G2_ACT, G2_AGE, GEOGRAPHY, L1, L2, People, release, table

NIGHTS = table("E1", measure="nights", kind="events", unit="nights", pattern_of="sheltered")
SHELTERED = table("S1", measure="sheltered")


def intake(person: str, on: date, commune: str = "91001", act: tuple[str, ...] = ("PHYS",),
           age: str = "A16_59") -> Record:
    return Record("survivors", person, on, commune[:2], commune, {"act_form": frozenset(act), "age_group": age})


def value(counted, measure: str, level: str, code: str, period: str, *dims) -> int:
    cells = {**counted.context, **counted.cells}
    return cells[CellKey(measure, level, code, period, tuple(dims))].value


def test_d_a_late_registration_counts_in_the_quarter_it_was_registered():
    # (d) the violence happened in March; she was registered in May: the record's date is May.
    records = [intake("late", date(2026, 5, 12))]
    q1 = count_cells([G1], records, "2026Q1", GEOGRAPHY)
    q2 = count_cells([G1], records, "2026Q2", GEOGRAPHY)
    assert value(q1, "survivors", "province", "91", "2026Q1") == 0
    assert value(q2, "survivors", "province", "91", "2026Q2") == 1


def test_a_person_counts_once_a_year_where_and_when_she_was_first_received():
    records = [intake("a", date(2026, 2, 1), "91001", act=("PHYS",)),
               intake("a", date(2026, 2, 20), "91001", act=("MENT",)),
               intake("a", date(2026, 8, 3), "92001", act=("SEXU",))]
    counted = count_cells([G1, G2_ACT], records, "2026Q4", GEOGRAPHY)
    assert value(counted, "survivors", "province", "91", "2026Q1") == 1
    assert value(counted, "survivors", "province", "92", "2026Q3") == 0  # counted already this year
    assert value(counted, "survivors", "national", "VN", "2026") == 1  # year = Σ quarters
    # Forms of violence are the union over her intakes of that quarter.
    assert value(counted, "survivors", "province", "91", "2026Q1", ("act_form", "MENT")) == 1
    assert value(counted, "survivors", "province", "91", "2026Q1", ("act_form", "SEXU")) == 0


def test_every_cell_of_the_grid_is_counted_even_when_empty():
    counted = count_cells([G1, G2_AGE], [intake("a", date(2026, 1, 5))], "2026Q1", GEOGRAPHY)
    keys = set(counted.cells)
    for province in ("91", "92", "93"):
        for age in ("U16", "A16_59", "A60", "UNK"):
            assert CellKey("survivors", "province", province, "2026Q1", (("age_group", age),)) in keys
    assert value(counted, "survivors", "province", "93", "2026Q1") == 0


def test_records_after_the_quarter_or_in_another_year_are_not_counted():
    records = [intake("a", date(2025, 12, 31)), intake("b", date(2026, 4, 1)), intake("c", date(2026, 3, 31))]
    counted = count_cells([G1], records, "2026Q1", GEOGRAPHY)
    assert value(counted, "survivors", "national", "VN", "2026Q1") == 1


def test_events_count_every_record_and_the_persons_behind_them():
    records = [Record("nights", "a", date(2026, 1, 3), "91", "91001", events=3),
               Record("nights", "a", date(2026, 1, 9), "91", "91001", events=2),
               Record("nights", "b", date(2026, 2, 9), "91", "91002", events=1)]
    counted = count_cells([SHELTERED, NIGHTS], records, "2026Q1", GEOGRAPHY)
    cell = counted.cells[CellKey("nights", "province", "91", "2026Q1")]
    assert (cell.value, cell.persons) == (6, 2)


def test_money_is_summed_by_recipient_for_the_p_percent_rule():
    p = People()
    p.grant("2026Q4", "92001", 80_000_000)
    p.grant("2026Q4", "92002", 15_000_000)
    p.grant("2026Q4", "92003", 5_000_000)
    counted = count_cells([L1, L2], p.records, "2026Q4", GEOGRAPHY)
    cell = counted.cells[CellKey("disbursed", "province", "92", "2026")]
    assert (cell.value, cell.persons, cell.top) == (100_000_000, 3, (80_000_000, 15_000_000))


def test_a_code_outside_the_versioned_list_is_refused():
    with pytest.raises(ValueError, match="not in the category list"):
        count_cells([G2_AGE], [intake("a", date(2026, 1, 5), age="U20")], "2026Q1", GEOGRAPHY)


def test_a_commune_outside_its_province_is_refused():
    with pytest.raises(ValueError, match="not in province"):
        count_cells([G1], [Record("survivors", "a", date(2026, 1, 5), "92", "91001")], "2026Q1", GEOGRAPHY)


def test_i_a_quarter_with_zero_cases_publishes_zeros_and_hides_nothing():
    # (i) nothing to protect: every cell is a published 0, never a suppressed one.
    r = release([G1, G2_AGE, G2_ACT], [], "2026Q3")
    assert r.cells and all(c.status == "published" and c.value == 0 for c in r.cells)
    assert r.manifest["audit"]["suppressed"] == 0
