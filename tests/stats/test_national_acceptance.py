"""Issue 16, Done-when: over a year of synthetic national data (``bench/stats_release.py``: 200,000
intakes, 34 provinces, 3,321 communes), an attacker holding every release of the year and every
structural fact of the catalogue (event additivity, persons ≤ events, a referred person was referred
somewhere, shared totals, quarters and years, the geography) cannot narrow any withheld cell of 1 to 9
to an interval narrower than 10, nor prove it non-empty, by linear or integer programming.

Marked ``national`` and ``slow``: it makes four national releases (minutes on 2 cores). Run it with
``pytest -m national tests/stats/test_national_acceptance.py``."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime

import pytest

from casework.stats import formats
from casework.stats.cells import Geography
from casework.stats.counting import count_cells
from casework.stats.release import compute_release
from tests.stats.attacker import Attack, protected
from tests.stats.conftest import key

pytestmark = [
    pytest.mark.national, pytest.mark.slow,
    # The engine works on its own SQLite file here, never on TEST_DATABASE_URL: the PostgreSQL pass of CI would
    # repeat the very same computation, so it runs once, in the SQLite pass.
    pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                       reason="database-independent (its own SQLite file): runs once, in the SQLite pass"),
]


def test_no_withheld_count_from_1_to_9_has_a_feasible_interval_narrower_than_10_over_the_national_year():
    from bench import stats_release as bench

    geography = Geography.from_geo_data()
    tables = bench.catalogue()
    releases, counted = [], None
    with tempfile.TemporaryDirectory() as tmp:
        con = bench.create_database(os.path.join(tmp, "national.sqlite"), bench.synthesise(200_000, geography))
        for period in bench.QUARTERS:
            counted = count_cells(tables, bench.records_until(con, period), period, geography)
            releases.append(compute_release(release_id=f"{period}-r1", period=period,
                                            created_at=datetime(bench.YEAR, 12, 31, tzinfo=UTC), tables=tables,
                                            counted=counted, geography=geography, earlier=tuple(releases)))
        con.close()
    values = {k: c.value for k, c in {**counted.context, **counted.cells}.items()}
    attack = Attack.from_downloads([formats.to_csv(r) for r in releases], formats.to_manifest_json(releases[-1]),
                                   geography)
    attack.at_least_one = {("referred_persons", "referral_service")}
    targets = sorted(key(cell) for cell, value in values.items()
                     if 1 <= value < 10 and not cell.hidden and attack.cells.get(key(cell), ("",))[0] == "suppressed")
    assert targets  # the data have small withheld cells, so the check below can fail
    for integer in (False, True):
        bounds = attack.intervals(targets, integer)
        narrow = {k: b for k, b in bounds.items() if protected(*b, 10)}
        assert narrow == {}, f"{'ILP' if integer else 'LP'}: {len(narrow)} withheld cells narrowed"
