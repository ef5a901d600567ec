"""Pages near their data floor through a real gunicorn (issue 18): the host's case list, case view and case
search at 100,000 and 1,000,000 cases, each page's time through gunicorn on 127.0.0.1 against the page's
floor measured as bench/pages.py measures it. Writes bench/results/pages_gunicorn.md.

    python -m bench.pages_gunicorn --cases 100000                 # tincay_load_100000
    python -m bench.pages_gunicorn --cases 1000000 --append       # tincay_load, a section added to the file
    python -m bench.pages_gunicorn --cases 10000 --requests 20    # a quick try

The data set is bench/load.py's (seeded by it when missing: ``python -m bench.load --cases N --seed-only``): about
98 (100,000) or 980 (1,000,000) cases per trusted address. gunicorn runs with bench/load.py's production settings
(``TINCAY_ENVIRONMENT=production``, PostgreSQL, keys outside the instance folder, rate limits in Redis when it
answers), ``--workers`` sync workers (default 2, as docs/operations.md §3; with ``--threads N`` gthread workers of
N threads each, to compare how gunicorn serves), ``TINCAY_AUDIT_CHAINER=off`` and one ``flask audit chainer``
process beside it, as in production. One host (``load_host_000``) signs in through the login form with TOTP. Two
case views: **case view**, a seeded case (bench/load.py seeds no consent and no timeline entry, so the page skips
those reads), and **case view, recorded**, a case the host records through the intake form at the start of the run,
which has what every recorded case has (her consents, the timeline's entries).

**page**: the median wall time of the request sent by one client to gunicorn (a new connection each time,
as gunicorn's sync workers close it; the client is Python's http.client, its own cost about 0.2 ms), the
three pages taking turns, ``--requests`` each, after 5 warm-up rounds; right after each request its page's floor
is replayed once, so that page and floor are measured side by side under the same load. Its two replays (the
SELECTs alone, the SELECTs with the write) take turns at running first after the page, and each counts only from
the rounds where it ran first: the page's own SQL runs after other work, and a replay run right after the same
SELECTs finds them warm (measured 2026-12-06, case view at 100,000 cases: its floor with its write 0.60 ms when
replayed second, 0.93 ms first, and the page's own SQL 1.05 ms in process, bench/page_phases.py). The warm
figure, this benchmark's measure until then, is still reported among the stricter floors. **floor**: the page's
own SELECT statements, captured from the same request made in this process (the Flask test client with the same
session cookie) and replayed on a bare DBAPI connection, rows fetched, plus its decryptions replayed with the
same functions (bench/bench_pages_worker.py's ``Trace``); the page's writes (its audit event) are not in the
floor and are named in their column. **÷ floor** = page ÷ floor; the issue asks for at most 5×. **floor with its
write** adds what an audited read cannot skip: the page's INSERT of its read event, replayed into an un-chained
copy of the audit table (``bench_floor_audit_event``: same columns, defaults and indexes, no trigger, never
sealed), and the COMMIT that makes it durable, in one transaction with the SELECTs, as the page does.

**What a page costs before it reads a case**, in the same rounds, each measured as a page is: a fixed page of
the case view's size served by a WSGI app that does nothing else (bench/_fixed_page.py, a second gunicorn with
the same settings: what gunicorn, the connection and the client cost), and the host's account page (signed in:
her session and user, the header, her sessions listed, the commit; no case read), each against the case view's
floor: how much of the 5× the serving and the request cycle spend before the page's own work.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime

from bench import _gunicorn as g
from bench import load, p95

RESULTS = g.ROOT / "bench" / "results" / "pages_gunicorn.md"
PAGES = ("case list", "case view", "case view, recorded", "case search")
FIXED_PAGE = "a fixed page, no application (bench/_fixed_page.py)"
ACCOUNT = "account page: signed in, reads no case"


def _targets(host: g.Host, recorded: str) -> dict[str, tuple[str, str, list[tuple[str, str]] | None]]:
    if not host.case_ids:
        raise SystemExit(f"{host.username} has no case in her list")
    return {"case list": ("GET", "/cases", None),
            "case view": ("GET", f"/cases/{host.case_ids[0]}", None),
            "case view, recorded": ("GET", f"/cases/{recorded}", None),
            "case search": ("POST", "/cases/search", [("q", host.samples[0]["name"]), ("csrf_token", host.csrf)])}


class Floor:
    """One page's floor, replayed on its own bare DBAPI connection, one sample per call: its SELECTs (rows
    fetched; the transaction committed outside the timing), the same SELECTs with the page's INSERTs into an
    un-chained copy of their table (``bench_floor_<table>``: same columns, defaults and indexes; no trigger,
    never sealed) and the COMMIT that makes them durable, and its decryptions."""

    def __init__(self, engine, trace) -> None:
        import re

        self.trace = trace
        self.raw = engine.raw_connection()
        cur = self.raw.cursor()
        self.selects = list(trace.selects)
        self.with_write: list[tuple[str, object]] = []
        for statement, params, many in trace.statements:
            word = statement.lstrip().split(None, 1)[0].upper()
            if word == "INSERT" and not many:
                table = re.search(r'INSERT\s+INTO\s+"?(\w+)"?', statement, re.I).group(1)
                cur.execute(f'CREATE TABLE IF NOT EXISTS bench_floor_{table} (LIKE "{table}" INCLUDING DEFAULTS '
                            "INCLUDING INDEXES)")
                self.with_write.append((re.sub(rf'"?\b{table}\b"?', f"bench_floor_{table}", statement), params))
            elif word in ("SELECT", "WITH") and not many:
                self.with_write.append((statement, params))
        cur.close()
        self.raw.commit()

    def _run(self, statements) -> None:
        cur = self.raw.cursor()
        for statement, params in statements:
            cur.execute(statement, params)
            if cur.description is not None:
                cur.fetchall()
        cur.close()

    def reads_ms(self) -> float:
        t0 = time.perf_counter()
        self._run(self.selects)
        ms = (time.perf_counter() - t0) * 1000
        # Ended by COMMIT (nothing to write), outside the timing, as the page's transaction ends: psycopg forgets
        # its prepared statements on ROLLBACK, which would leave this floor unprepared and slower than the page.
        self.raw.commit()
        return ms

    def reads_and_write_ms(self) -> float:
        t0 = time.perf_counter()
        self._run(self.with_write)
        self.raw.commit()
        return (time.perf_counter() - t0) * 1000

    def decrypt_ms(self) -> float:
        from bench.bench_pages_worker import _replay_crypto

        return _replay_crypto(self.trace, 1)

    def close(self) -> None:
        self.raw.close()


def traced(ds: g.DataSet, host: g.Host, targets: dict):
    """Each page made in this process with the host's session (the Flask test client, the same cookie), traced
    once after three warm-up requests; returns the app (kept for the replays) and per page its Floor and facts."""
    import logging

    from bench.bench_pages_worker import Trace

    # No background thread in this process (chainer, deadline sweep): the trace would catch its statements.
    os.environ.update({k: v for k, v in ds.env.items() if k.startswith("TINCAY_")})
    os.environ.update(TINCAY_AUDIT_CHAINER="off", TINCAY_NOTIFY_SWEEP_SECONDS="0")
    from casework import create_app
    from casework.extensions import db

    app = create_app()
    logging.getLogger("casework").setLevel(logging.WARNING)
    app.logger.setLevel(logging.WARNING)
    client = app.test_client()
    name, _, value = host.cookie.partition("=")
    client.set_cookie(name, value)
    with app.app_context():
        engine = db.engine
    out: dict[str, dict] = {}
    for page, (method, path, form) in targets.items():
        for _ in range(3):  # warm: templates compiled, caches filled
            client.open(path, method=method, data=dict(form) if form else None)
        with Trace(engine) as trace:
            response = client.open(path, method=method, data=dict(form) if form else None)
        if response.status_code != 200:
            raise SystemExit(f"{page} in process: HTTP {response.status_code}")
        with app.app_context():
            floor = Floor(engine, trace)
        out[page] = {"floor": floor, "selects": len(trace.selects), "unwraps": len(trace.unwraps),
                     "decrypts": len(trace.decrypts),
                     "rows": response.get_data(as_text=True).count('class="case-row'),
                     "bytes": len(response.get_data()),
                     "writes": ", ".join(sorted(set(trace.writes))) or "none"}
    return app, out


def interleaved(port: int, host: g.Host, targets: dict, pages: dict[str, dict], n: int,
                fixed: dict[str, tuple[int, str, str]]) -> dict[str, dict[str, float]]:
    """``n`` rounds after 5 warm-up rounds; in each, every page once through gunicorn, then its floor once
    (reads, reads with the write, decryptions): page and floor measured side by side, under the same load; then
    each of the ``fixed`` requests once ((port, path, cookie): the fixed part of a page, which has no floor).
    Medians (and the page's p95) go into ``pages``; the fixed requests' median and p95 are returned."""
    samples = {page: {"page": [], "sql": [], "write": [], "write_second": [], "decrypt": []} for page in targets}
    fixed_samples: dict[str, list[float]] = {name: [] for name in fixed}
    for page in targets:  # the stricter floor: each replayed n times in a row, every cache warm
        floor = pages[page]["floor"]
        for _ in range(5):
            floor.reads_ms(), floor.reads_and_write_ms()
        pages[page]["sql_ms_in_a_row"] = statistics.median(floor.reads_ms() for _ in range(n))
        pages[page]["with_write_ms_in_a_row"] = statistics.median(floor.reads_and_write_ms() for _ in range(n))
    for i in range(n + 5):
        for page, (method, path, form) in targets.items():
            answer = g.fetch(port, method, path, host.cookie, form)
            if answer.status != 200:
                raise SystemExit(f"{page} through gunicorn: HTTP {answer.status}")
            floor = pages[page]["floor"]
            # Each replay counts only where it runs first after the page, as the page's own SQL runs after other
            # work: run right after the same SELECTs, a replay finds them warm (measured 2026-12-06: the case
            # view's floor with its write 0.60 ms second, 0.93 ms first; the page's own SQL 1.05 ms in process).
            if i % 2 == 0:
                measured = {"sql": floor.reads_ms(), "write_second": floor.reads_and_write_ms()}
            else:
                measured = {"write": floor.reads_and_write_ms()}
                floor.reads_ms()  # not counted: run so that every round replays alike
            measured.update(page=answer.ms, decrypt=floor.decrypt_ms())
            if i >= 5:
                for key, value in measured.items():
                    samples[page][key].append(value)
        for name, (fixed_port, path, cookie) in fixed.items():
            answer = g.fetch(fixed_port, "GET", path, cookie)
            if answer.status != 200:
                raise SystemExit(f"{name} through gunicorn: HTTP {answer.status}")
            if i >= 5:
                fixed_samples[name].append(answer.ms)
    for page, s in samples.items():
        pages[page].update(median_ms=statistics.median(s["page"]), p95_ms=p95(s["page"]),
                           sql_ms=statistics.median(s["sql"]), with_write_ms=statistics.median(s["write"]),
                           with_write_second_ms=statistics.median(s["write_second"]),
                           decrypt_ms=statistics.median(s["decrypt"]))
        pages[page]["floor"].close()
    return {name: {"median_ms": statistics.median(values), "p95_ms": p95(values)}
            for name, values in fixed_samples.items()}


def report(args, argv, ds: g.DataSet, result: dict, fixed: dict[str, dict[str, float]], started: datetime,
           before: str, after: str) -> str:
    command = ("python -m bench.pages_gunicorn " + " ".join(argv)).strip()
    scale = "" if args.cases in (100_000, 1_000_000) and args.requests >= 40 else \
        " **A small-scale try, not the measurement of issue 18.**"
    served = load.serving(args.workers, args.threads)
    lines = [
        *g.section_head(f"{ds.cases:,} cases (`{ds.database}`), gunicorn {served}, PostgreSQL", command, started,
                        ds, before, after, scale),
        f"{args.requests} requests per page through gunicorn, the pages taking turns; the host's address holds "
        f"about {ds.plan['cases_per_address']:,.0f} cases. Each floor from the rounds where its replay ran first "
        "after the page (half the rounds each).",
        "",
        "| page | rows shown | page ms (median) | p95 ms | SELECTs | SQL replay ms | decrypt ms | floor ms | ÷ floor "
        "| writes | floor with its write ms | ÷ floor with its write |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for page in PAGES:
        r = result[page]
        floor = r["sql_ms"] + r["decrypt_ms"]
        full = r["with_write_ms"] + r["decrypt_ms"]
        rows = r["rows"] if page in ("case list", "case search") else "—"
        lines.append(f"| {page} | {rows} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {r['selects']} | "
                     f"{r['sql_ms']:.2f} | {r['decrypt_ms']:.2f} | {floor:.2f} | {r['median_ms'] / floor:.1f}× | "
                     f"{r['writes']} | {full:.2f} | {r['median_ms'] / full:.1f}× |")
    lines += ["", "Stricter floors: each page's replay repeated in a row (every cache warm) before the interleaved "
              "rounds; and, in the interleaved rounds, the floor with its write replayed right after the same "
              "SELECTs (warm; how this benchmark measured it until 2026-12-06):", "",
              "| page | SQL replay ms, in a row | ÷ floor | with its write ms, in a row | ÷ floor with its write "
              "| with its write ms, right after its SELECTs | ÷ floor with its write |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for page in PAGES:
        r = result[page]
        floor = r["sql_ms_in_a_row"] + r["decrypt_ms"]
        full = r["with_write_ms_in_a_row"] + r["decrypt_ms"]
        warm = r["with_write_second_ms"] + r["decrypt_ms"]
        lines.append(f"| {page} | {r['sql_ms_in_a_row']:.2f} | {r['median_ms'] / floor:.1f}× | "
                     f"{r['with_write_ms_in_a_row']:.2f} | {r['median_ms'] / full:.1f}× | "
                     f"{r['with_write_second_ms']:.2f} | {r['median_ms'] / warm:.1f}× |")
    view = result["case view"]
    view_floor = view["sql_ms"] + view["decrypt_ms"]
    lines += ["", "What a page costs before it reads a case, in the same rounds (the same gunicorn settings; the "
              f"fixed page has the case view's {view['bytes']:,} bytes). 5× the case view's floor is "
              f"{5 * view_floor:.2f} ms:", "",
              "| request | ms (median) | p95 ms | ÷ case view's floor |", "|---|---:|---:|---:|"]
    for name, r in [*fixed.items(), ("case view", view)]:
        lines.append(f"| {name} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {r['median_ms'] / view_floor:.1f}× |")
    lines.append("")
    return "\n".join(lines)


HEADER = """# Pages near their data floor through gunicorn (issue 18): case list, case view and case search

How measured: see the docstring of `bench/pages_gunicorn.py`. **page** is the median wall time of one client's
request to gunicorn on 127.0.0.1 (a new connection per request); **floor** is that page's own SELECT statements
replayed on a bare connection plus its decryptions replayed (bench/pages.py's floor); **÷ floor** = page ÷ floor.
**floor with its write**: the same SELECTs, then the page's INSERT of its read event into an un-chained copy of
the audit table (same columns, defaults and indexes; no trigger, never sealed), then COMMIT, in one transaction
on a bare connection, plus the decryptions: the least SQL an audited read can do (the bare SQL and the
un-chained insert). Since 2026-12-06 each floor comes from the rounds where its replay ran first after the page, as
the page's own SQL runs after other work; the floor with its write replayed right after the same SELECTs (warm, the
measure until then) is among the stricter floors. Only figures of one section compare with each other.
"""


def main(argv: list[str]) -> int:
    parser = g.section_arguments(__doc__, 60, RESULTS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread workers) when over 1")
    args = parser.parse_args(argv)
    ds = g.data_set(args.cases)
    env = {**ds.env, "TINCAY_AUDIT_CHAINER": "off"}
    log = ds.state / "pages_gunicorn.log"
    before = g.uptime()
    started = datetime.now(UTC)
    chainer = g.chainer(env, log)
    server = bare = None
    try:
        server = g.gunicorn(env, args.workers, log, threads=args.threads)
        g.wait_for_fresh_totp_step(ds)
        account = ds.plan["accounts"][0]
        host = g.sign_in(server.port, account)
        g.note_totp_step(ds)
        recorded = g.record_intake(server.port, host, account, "Lò Thị Mai", random.Random(7))
        targets = _targets(host, recorded)
        _app, result = traced(ds, host, targets)
        bare = g.gunicorn({**env, "TINCAY_BENCH_FIXED_BYTES": str(result["case view"]["bytes"])}, args.workers, log,
                          threads=args.threads, app="bench._fixed_page:app")
        fixed = interleaved(server.port, host, targets, result, args.requests,
                            {FIXED_PAGE: (bare.port, "/", ""), ACCOUNT: (server.port, "/account", host.cookie)})
    finally:
        for running in (server, bare):
            if running is not None:
                running.stop()
        chainer.terminate()
        chainer.wait(timeout=60)
    section = report(args, argv, ds, result, fixed, started, before, g.uptime())
    g.write_section(args.out, HEADER, section, args.append)
    print(section)
    # The verdict: each page within 5× its floor with its write (the bare SQL and the un-chained insert).
    worst = max(result[p]["median_ms"] / (result[p]["with_write_ms"] + result[p]["decrypt_ms"]) for p in PAGES)
    return 0 if worst <= 5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
