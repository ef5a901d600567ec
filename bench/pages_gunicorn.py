"""Pages near their data floor through a real gunicorn (issue 18): the host's case list, case view and case
search at 100,000 and 1,000,000 cases, each page's time through gunicorn on 127.0.0.1 against the page's
floor measured as bench/pages.py measures it. Writes bench/results/pages_gunicorn.md.

    python -m bench.pages_gunicorn --cases 100000                 # tincay_load_100000
    python -m bench.pages_gunicorn --cases 1000000 --append       # tincay_load, a section added to the file
    python -m bench.pages_gunicorn --cases 10000 --requests 20    # a quick try

The data set is bench/load.py's (seeded by it when missing: ``python -m bench.load --cases N --seed-only``):
about 98 (100,000) or 980 (1,000,000) cases per trusted address. gunicorn runs with bench/load.py's production
settings (``TINCAY_ENVIRONMENT=production``, PostgreSQL, keys outside the instance folder, rate limits in
Redis when it answers), ``--workers`` sync workers (default 4, as docs/operations.md §3), ``TINCAY_AUDIT_CHAINER
=off`` and one ``flask audit chainer`` process beside it, as in production. One host (``load_host_000``) signs
in through the login form with TOTP.

**page**: the median wall time of the request sent by one client to gunicorn (a new connection each time,
as gunicorn's sync workers close it; the client is Python's http.client, its own cost about 0.2 ms), the
three pages taking turns, ``--requests`` each, after 5 warm-up rounds. **floor**: the page's own SELECT
statements, captured from the same request made in this process (the Flask test client with the same
session cookie) and replayed on a bare DBAPI connection, rows fetched, plus its decryptions replayed with the
same functions (bench/bench_pages_worker.py's ``Trace``); the page's writes (its audit event) are not in the
floor and are named in the last column. **÷ floor** = page ÷ floor; the issue asks for at most 5×.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import _gunicorn as g

RESULTS = g.ROOT / "bench" / "results" / "pages_gunicorn.md"
PAGES = ("case list", "case view", "case search")


def _targets(host: g.Host) -> dict[str, tuple[str, str, list[tuple[str, str]] | None]]:
    if not host.case_ids:
        raise SystemExit(f"{host.username} has no case in her list")
    return {"case list": ("GET", "/cases", None),
            "case view": ("GET", f"/cases/{host.case_ids[0]}", None),
            "case search": ("POST", "/cases/search", [("q", host.samples[0]["name"]), ("csrf_token", host.csrf)])}


def floors(ds: g.DataSet, host: g.Host, targets: dict, n: int) -> dict[str, dict]:
    """Each page made once in this process with the host's session, traced; its SELECTs and decryptions
    replayed ``n`` times."""
    import logging

    from bench.bench_pages_worker import Trace, _replay_crypto, _replay_sql

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
        rows = response.get_data(as_text=True).count('class="case-row')
        with app.app_context():
            sql_ms = _replay_sql(engine, trace.selects, n)
        out[page] = {"selects": len(trace.selects), "sql_ms": sql_ms, "decrypt_ms": _replay_crypto(trace, n),
                     "unwraps": len(trace.unwraps), "decrypts": len(trace.decrypts), "rows": rows,
                     "writes": ", ".join(sorted(set(trace.writes))) or "none"}
    with app.app_context():
        db.engine.dispose()
    return out


def through_gunicorn(port: int, host: g.Host, targets: dict, n: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {page: [] for page in targets}
    for i in range(n + 5):
        for page, (method, path, form) in targets.items():
            answer = g.fetch(port, method, path, host.cookie, form)
            if answer.status != 200:
                raise SystemExit(f"{page} through gunicorn: HTTP {answer.status}")
            if i >= 5:
                samples[page].append(answer.ms)
    return samples


def report(args, argv, ds: g.DataSet, result: dict, started: datetime, before: str, after: str) -> str:
    command = ("python -m bench.pages_gunicorn " + " ".join(argv)).strip()
    scale = "" if args.cases in (100_000, 1_000_000) and args.requests >= 40 else \
        " **A small-scale try, not the measurement of issue 18.**"
    lines = [
        f"## {ds.cases:,} cases (`{ds.database}`), gunicorn {args.workers} sync workers, PostgreSQL",
        "",
        f"Command: `{command}` — {started:%Y-%m-%d %H:%M} UTC.{scale}",
        "",
        f"Machine: {g.machine()}; {g.versions(ds.url)}.",
        "",
        f"`uptime` before: `{before}`",
        "",
        f"`uptime` after: `{after}`",
        "",
        f"{args.requests} requests per page through gunicorn, the pages taking turns; the host's address holds "
        f"about {ds.plan['cases_per_address']:,.0f} cases.",
        "",
        "| page | rows shown | page ms (median) | p95 ms | SELECTs | SQL replay ms | decrypt ms | floor ms | ÷ floor "
        "| writes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for page in PAGES:
        r = result[page]
        floor = r["sql_ms"] + r["decrypt_ms"]
        rows = r["rows"] if page != "case view" else "—"
        lines.append(f"| {page} | {rows} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {r['selects']} | "
                     f"{r['sql_ms']:.2f} | {r['decrypt_ms']:.2f} | {floor:.2f} | {r['median_ms'] / floor:.1f}× | "
                     f"{r['writes']} |")
    lines.append("")
    return "\n".join(lines)


HEADER = """# Pages near their data floor through gunicorn (issue 18): case list, case view and case search

How measured: see the docstring of `bench/pages_gunicorn.py`. **page** is the median wall time of one client's
request to gunicorn on 127.0.0.1 (a new connection per request); **floor** is that page's own SELECT statements
replayed on a bare connection plus its decryptions replayed (bench/pages.py's floor); **÷ floor** = page ÷ floor.
Only figures of one section compare with each other.
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--append", action="store_true", help="add this run's section to an existing --out")
    args = parser.parse_args(argv)
    ds = g.data_set(args.cases)
    env = {**ds.env, "TINCAY_AUDIT_CHAINER": "off"}
    log = ds.state / "pages_gunicorn.log"
    before = g.uptime()
    started = datetime.now(UTC)
    chainer = g.chainer(env, log)
    server = None
    try:
        server = g.gunicorn(env, args.workers, log)
        g.wait_for_fresh_totp_step(ds)
        host = g.sign_in(server.port, ds.plan["accounts"][0])
        g.note_totp_step(ds)
        targets = _targets(host)
        result = floors(ds, host, targets, args.requests)
        samples = through_gunicorn(server.port, host, targets, args.requests)
    finally:
        if server is not None:
            server.stop()
        chainer.terminate()
        chainer.wait(timeout=60)
    for page, values in samples.items():
        ordered = sorted(values)
        result[page]["median_ms"] = statistics.median(ordered)
        result[page]["p95_ms"] = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    section = report(args, argv, ds, result, started, before, g.uptime())
    previous = args.out.read_text(encoding="utf-8") if args.append and args.out.exists() else HEADER
    text = previous.rstrip("\n") + "\n\n" + section
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(section)
    worst = max(result[p]["median_ms"] / (result[p]["sql_ms"] + result[p]["decrypt_ms"]) for p in PAGES)
    return 0 if worst <= 5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
