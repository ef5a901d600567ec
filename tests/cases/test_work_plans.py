"""The work queue stays a few index ranges per page (issue 13; the figures are in bench/results/work_queue.md):
no provider reads a whole table, the notice and closure items come from their own indexes, and a page runs
the providers once, the menu's count included."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from casework import nav, work
from casework.extensions import db
from tests.cases.conftest import user_of


def _statements(fn) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return seen


def _plans(account) -> dict[str, list[str]]:
    """Each provider's query plan (EXPLAIN QUERY PLAN on SQLite), one list of lines per kind."""
    user = user_of(account)
    plans: dict[str, list[str]] = {}
    for provider in work.providers_for(user):
        for statement, parameters in _statements(lambda p=provider: p.rows(user, None, False, 51)):
            if "case_province_setting" in statement:  # the province's settings, read by primary key
                continue
            with db.engine.connect() as conn:
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plans.setdefault(provider.kind, []).extend(str(r[-1]) for r in rows)
    return plans


@pytest.fixture
def sqlite_only(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans tiny test tables as sequential scans")


def test_every_queue_query_reads_indexes_never_a_whole_table(world, make_case, req, sqlite_only):
    make_case(world.host_a, world.addr_a)
    for account in (world.host_a, world.officer_a, world.province_19):
        plans = _plans(account)
        assert plans, "every role here has providers"
        for kind, lines in plans.items():
            assert lines and all(not line.startswith("SCAN") for line in lines), (kind, lines)


def test_notice_and_closure_items_come_from_their_own_indexes(world, req, sqlite_only):
    host, officer = _plans(world.host_a), _plans(world.officer_a)
    assert any("ix_case_unnotified_address" in line for line in host["commune_notice"])
    assert any("ix_case_unnotified_commune" in line for line in officer["commune_notice"])
    assert any("ix_case_commune_status" in line for line in officer["closure_decision"])


def test_a_page_runs_the_providers_once_menu_count_included(world, make_case, signed_in, monkeypatch):
    make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_a)
    calls: list[int] = []
    real = work.work_for

    def counting(user, after=None, limit=work.PAGE_SIZE):
        calls.append(limit)
        return real(user, after=after, limit=limit)

    monkeypatch.setattr(work, "work_for", counting)
    queue = client.get("/work/")
    assert queue.status_code == 200 and "Việc cần làm (1)" in queue.get_data(as_text=True)
    assert calls == [work.MENU_CAP]
    calls.clear()
    listing = client.get("/cases")
    assert listing.status_code == 200 and "Việc cần làm (1)" in listing.get_data(as_text=True)
    assert calls == []  # issue 18: the queue's own count, kept for her session (casework.nav.cached_count)
    nav.forget_counts()  # what a committed change does
    listing = client.get("/cases")
    assert listing.status_code == 200 and "Việc cần làm (1)" in listing.get_data(as_text=True)
    assert calls == [work.MENU_CAP]  # the menu's count, once


def test_open_cases_and_only_they_have_an_open_priority():
    """The providers read "open" as ``priority >= OPEN_PRIORITY`` in the list indexes: it must mean exactly that."""
    from casework.cases import codes
    from casework.cases.models import OPEN_PRIORITY, priority_of

    for status in (*codes.OPEN_STATUSES, "closed"):
        for risk in (*codes.RISK_RANK, "unknown"):
            assert (priority_of(status, risk) >= OPEN_PRIORITY) == (status in codes.OPEN_STATUSES), (status, risk)


def test_stays_and_bans_are_read_from_the_scopes_own_index_range(world, req, sqlite_only):
    """bench/results/work_queue.md: probing every open case of a commune made her queue grow with the
    commune's caseload; the rows carry their case's place and the queue starts from it."""
    for account, scope in ((world.host_a, "address"), (world.officer_a, "commune")):
        plans = _plans(account)
        assert any(f"ix_contact_ban_pending_{scope}" in line for line in plans["contact_ban_decision"]), plans
        assert any(f"ix_contact_ban_granted_{scope}" in line for line in plans["contact_ban_ending"]), plans
        assert any(f"ix_shelter_stay_running_{scope}" in line for line in plans["shelter_over_limit"]), plans
