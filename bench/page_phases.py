"""Where a signed-in page's time goes (issue 18): the case view, the case list and the host's account page,
made in this process through the app's WSGI entry as gunicorn calls it, each request timed by phase. Writes
bench/results/page_phases.md.

    python -m bench.page_phases --cases 100000            # tincay_load_100000 (bench/load.py's data set)
    python -m bench.page_phases --cases 10000 --requests 50

Why: bench/pages_gunicorn.py gives each page's time through gunicorn against its data floor; this one says
what the rest of that time is. One host signs in through the login form of a short-lived gunicorn (TOTP);
then the app is built here with the same production settings (``TINCAY_ENVIRONMENT=production``, PostgreSQL,
warmed as ``wsgi.py`` warms it) and called with that session cookie, the three pages taking turns with a
3 ms pause before each request (a page served by a waiting worker, not in a hot loop: measured on this
machine, a view in a hot loop takes about 1 ms less). Each phase is timed by wrapping the function that does
it (the wrappers cost about a microsecond each); the SQL by SQLAlchemy's cursor events (the time from sending
a statement to its rows received, psycopg's own work included) and the COMMIT on the DBAPI connection.
**Python** = the request's time less its SQL and its COMMIT: what the page costs beyond waiting on PostgreSQL.

The page's own SQL beside its floor (bench/pages_gunicorn.py's ``Floor``, with its write: the page's statements
replayed on a bare connection, its INSERT into an un-chained copy of its table, then COMMIT), replayed after the
request: first after the page in even rounds, right after the same SELECTs in odd ones. Which of the two the
page's own SQL is like says where bench/pages_gunicorn.py must replay its floor.
"""

from __future__ import annotations

import argparse
import collections
import functools
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bench import _gunicorn as g

RESULTS = g.ROOT / "bench" / "results" / "page_phases.md"
PAUSE_S = 0.003

# (label, module, attribute): the functions timed, in the order a request calls them.
PHASES = (
    ("session cookie read", "casework.web", "CookieSessions.open_session"),  # checked once a minute (issue 18)
    ("session and user lookup", "casework.auth.services", "load_session"),
    ("case page statement", "casework.cases.services", "get_case_page_or_404"),
    ("case list statement (host)", "casework.cases.services", "list_case_rows"),
    ("read event (audit INSERT)", "casework.protect.audit", "record"),
    ("template render", "flask.templating", "_render"),
    ("commit (ORM and DBAPI)", "casework.web", "_commit_without_expiring"),
)


def _timed(label: str, fn: Callable[..., Any], into: dict[str, list[float]]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            into[label].append((time.perf_counter() - started) * 1000)

    return timed


def _wrap(into: dict[str, list[float]]) -> None:
    import importlib

    for label, module_name, path in PHASES:
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        if not hasattr(owner, name):  # renamed or moved: say so, rather than leave its row out of the report
            raise SystemExit(f"page_phases: {module_name}.{path} ({label}) is not there any more")
        setattr(owner, name, _timed(label, getattr(owner, name), into))


def _watch_sql(engine: Any, into: dict[str, list[float]]) -> None:
    import psycopg
    from sqlalchemy import event

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, _cursor, _statement, _params, _context, _many) -> None:
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, _cursor, statement, _params, _context, _many) -> None:
        word = statement.lstrip().split(None, 1)[0].upper()
        into[f"SQL {word}"].append((time.perf_counter() - conn.info.pop("bench_started")) * 1000)

    commit = psycopg.Connection.commit

    def timed_commit(self: psycopg.Connection) -> None:
        started = time.perf_counter()
        try:
            commit(self)
        finally:
            into["SQL COMMIT"].append((time.perf_counter() - started) * 1000)

    psycopg.Connection.commit = timed_commit  # type: ignore[method-assign]


def _wsgi_call(app: Any, path: str, cookie: str) -> tuple[int, float]:
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path=path, headers={"Cookie": cookie}).get_environ()
    status: list[str] = []
    started = time.perf_counter()
    body = app(environ, lambda s, _h, _e=None: status.append(s))
    b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return int(status[0].split()[0]), (time.perf_counter() - started) * 1000


def measure(ds: g.DataSet, host: g.Host, n: int) -> dict[str, dict[str, list[float]]]:
    app = g.app_in_process(ds)
    from casework.extensions import db

    pages = {"case view": f"/cases/{host.case_ids[0]}", "case list": "/cases", "account": "/account"}
    floors = _floors(app, host, pages)
    current: dict[str, list[float]] = collections.defaultdict(list)
    _wrap(current)
    with app.app_context():
        _watch_sql(db.engine, current)
    result: dict[str, dict[str, list[float]]] = {page: collections.defaultdict(list) for page in pages}
    for i in range(n + 20):
        for page, path in pages.items():
            current.clear()
            time.sleep(PAUSE_S)
            status, ms = _wsgi_call(app, path, host.cookie)
            if status != 200:
                raise SystemExit(f"{page}: HTTP {status}")
            phases = {label: sum(values) for label, values in current.items()}  # before the replay's own COMMIT
            sql = sum(v for k, v in phases.items() if k.startswith("SQL "))
            # Its floor (bench/pages_gunicorn.py's, with the write), replayed first after the page in even rounds,
            # right after the same SELECTs in odd ones: which of the two the page's own SQL is like.
            floor = floors[page]
            if i % 2 == 0:
                replayed = {FLOOR_FIRST: floor.reads_and_write_ms()}
            else:
                floor.reads_ms()
                replayed = {FLOOR_SECOND: floor.reads_and_write_ms()}
            if i < 20:  # warm-up rounds
                continue
            samples = result[page]
            samples["request"].append(ms)
            samples[OWN_SQL].append(sql)
            samples["Python (request less its SQL and COMMIT)"].append(ms - sql)
            for label, value in [*phases.items(), *replayed.items()]:
                samples[label].append(value)
    for floor in floors.values():
        floor.close()
    return result


OWN_SQL = "SQL, all of the page's (its statements and COMMIT)"
FLOOR_FIRST = "its floor with its write, replayed first after the page"
FLOOR_SECOND = "its floor with its write, replayed right after its SELECTs"


def _floors(app: Any, host: g.Host, pages: dict[str, str]) -> dict[str, Any]:
    """Each page's floor (bench/pages_gunicorn.py's ``Floor``), from one request of it traced after three."""
    from bench.bench_pages_worker import Trace
    from bench.pages_gunicorn import Floor
    from casework.extensions import db

    with app.app_context():
        engine = db.engine
    floors = {}
    for page, path in pages.items():
        for _ in range(3):
            _wsgi_call(app, path, host.cookie)
        with Trace(engine) as trace:
            status, _ms = _wsgi_call(app, path, host.cookie)
        if status != 200:
            raise SystemExit(f"{page}: HTTP {status}")
        with app.app_context():
            floors[page] = Floor(engine, trace)
    return floors


def report(args: argparse.Namespace, argv: list[str], ds: g.DataSet, result: dict, started: datetime,
           before: str, after: str) -> str:
    command = ("python -m bench.page_phases " + " ".join(argv)).strip()
    labels = ["request", *(label for label, _m, _p in PHASES), "SQL SELECT", "SQL INSERT", "SQL UPDATE",
              "SQL COMMIT", OWN_SQL, FLOOR_FIRST, FLOOR_SECOND, "Python (request less its SQL and COMMIT)"]
    pages = list(result)
    lines = [
        *g.section_head(f"{ds.cases:,} cases (`{ds.database}`), in process, PostgreSQL", command, started, ds, before,
                        after, f" {args.requests} requests per page, the pages taking turns, {PAUSE_S * 1000:.0f} ms "
                        "pause before each."),
        "Medians in ms (a phase a page does not run is left empty; statements of one kind in one request are added"
        " up):",
        "",
        "| phase | " + " | ".join(pages) + " |",
        "|---|" + "---:|" * len(pages),
    ]
    for label in labels:
        cells = []
        for page in pages:
            values = result[page].get(label)
            cells.append(f"{statistics.median(values):.2f}" if values else "")
        if any(cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


HEADER = """# Where a signed-in page's time goes (issue 18)

How measured: see the docstring of `bench/page_phases.py`. In process, through the app's WSGI entry, the case
view, the case list and the account page taking turns; each phase timed by wrapping the function that does it,
the SQL by SQLAlchemy's cursor events and the DBAPI COMMIT. Phases overlap where one calls another (the
read event's INSERT is inside "read event"; the COMMIT inside "commit"). Only figures of one section compare
with each other.
"""


def main(argv: list[str]) -> int:
    return g.in_process_main(argv, __doc__, 300, RESULTS, HEADER, "page_phases.log", measure, report)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
