"""Audited reads against the same reads unaudited (issue 18), through gunicorn on PostgreSQL, 32 clients.
Writes bench/results/audit_reads.md.

    python -m bench.audit_reads                              # 100,000 cases (tincay_load_100000), 4 × 30 s each
    python -m bench.audit_reads --cases 1000000              # the 1,000,000-case database (tincay_load)
    python -m bench.audit_reads --cases 10000 --seconds 10 --rounds 2    # a quick try

The data set is bench/load.py's (seeded by it when missing: ``python -m bench.load --cases N --seed-only``).
Two gunicorn servers (``--workers``, default 4 sync workers each, as docs/operations.md §3 starts it) run on
127.0.0.1 against that one database, with the same settings except one: the second has the benchmarks-only
``TINCAY_BENCHMARK_UNAUDITED_READS=true``, so its reads of records write no audit event. Production refuses that
setting, so **both** servers run with ``TINCAY_ENVIRONMENT=development`` and otherwise the production settings
of bench/load.py (PostgreSQL, keys outside the instance folder, rate limits in Redis when it answers), with
``TINCAY_AUDIT_CHAINER=off`` and one ``flask audit chainer`` process beside them, as in production: the
audited variant pays for its events' inserts and commits in the request and for their sealing in the
chainer, on the same two cores.

``--hosts`` hosts (default 8, each of her own trusted address) sign in through the login form with TOTP; their
session cookies (valid on both servers: one database, one secret key) drive ``wrk`` with ``--connections``
(default 32) connections, cycling through each host's reads with bench/load.py's weights: her case list (first
and next page) 4, the view of a case of her list 4, a search by name or phone 2. Only reads; every answer must
be 200. The two servers take turns in ``--rounds`` rounds of ``--seconds`` each (audited first in odd rounds,
unaudited first in even ones) after a warm-up of 5 s each, so the machine's other load hits both alike; the
ratio is of the sums. Checked: the audited rounds wrote at least one read event per answered request, the
unaudited ones none; every event is sealed after the run (time to seal the backlog shown) and ``flask audit
verify`` passes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import _gunicorn as g
from bench import load

RESULTS = g.ROOT / "bench" / "results" / "audit_reads.md"
READS = ("case_list", "case_view", "case_search")


def _events(url: str) -> tuple[int, int]:
    """(largest audit event id, unsealed events)."""
    import psycopg

    with psycopg.connect(load._plain(url)) as conn:
        top = conn.execute("SELECT coalesce(max(id), 0) FROM audit_event").fetchone()
        unsealed = conn.execute("SELECT count(*) FROM audit_event WHERE mac IS NULL").fetchone()
    return int(top[0]) if top else 0, int(unsealed[0]) if unsealed else 0


def _reads_since(url: str, after: int) -> int:
    import psycopg

    with psycopg.connect(load._plain(url)) as conn:
        row = conn.execute("SELECT count(*) FROM audit_event WHERE id > %s AND action = ANY(%s)",
                           (after, list(READS))).fetchone()
    return int(row[0]) if row else 0


def _quiet(url: str, timeout: float = 120.0) -> None:
    """Wait until no audit event has been added for 2 s: the requests gunicorn had accepted when wrk stopped
    are answered (and their events written) before the next round starts counting."""
    last, since = _events(url)[0], time.monotonic()
    deadline = since + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        top = _events(url)[0]
        if top != last:
            last, since = top, time.monotonic()
        elif time.monotonic() - since >= 2:
            return


def _wait_sealed(url: str, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if _events(url)[1] == 0:
            return time.monotonic() - started
        time.sleep(0.2)
    return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of one round of one variant")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers of each server")
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not g.wrk_available():
        print("wrk is missing (apt-get install -y wrk): not run.")
        return 2
    ds = g.data_set(args.cases)
    common = {**ds.env, "TINCAY_ENVIRONMENT": "development", "TINCAY_AUDIT_CHAINER": "off"}
    variants = {"audited": common, "unaudited": {**common, "TINCAY_BENCHMARK_UNAUDITED_READS": "true"}}
    log = ds.state / "audit_reads.log"
    uptime_before = g.uptime()
    started_at = datetime.now(UTC)
    chainer = g.chainer(common, log)
    servers: dict[str, g.Server] = {}
    try:
        for name, env in variants.items():
            servers[name] = g.gunicorn(env, args.workers, log)
        g.wait_for_fresh_totp_step(ds)
        hosts = [g.sign_in(servers["audited"].port, account) for account in ds.plan["accounts"][: args.hosts]]
        g.note_totp_step(ds)
        plan = [(h.cookie, *r) for h in hosts for r in g.read_requests(h)]
        script = ds.state / "audit_reads.lua"
        g.wrk_script(script, plan)
        print(f"== {len(hosts)} hosts signed in; {len(plan)} distinct requests", flush=True)
        for server in servers.values():  # warm-up: every worker imports, compiles its templates
            g.run_wrk(server.port, script, args.connections, 5)
            _quiet(ds.url)
        rounds: list[dict] = []
        for rnd in range(args.rounds):
            order = ("audited", "unaudited") if rnd % 2 == 0 else ("unaudited", "audited")
            for name in order:
                top, _ = _events(ds.url)
                pids = [servers[name].process.pid]
                cpu0, chain0 = g.cpu_seconds(pids), g.cpu_seconds([chainer.pid])
                result = g.run_wrk(servers[name].port, script, args.connections, args.seconds)
                _quiet(ds.url)  # the requests in flight when wrk stopped finish
                result.update(variant=name, round=rnd + 1, reads=_reads_since(ds.url, top),
                              cpu=g.cpu_seconds(pids) - cpu0, chainer_cpu=g.cpu_seconds([chainer.pid]) - chain0,
                              load=" ".join(Path("/proc/loadavg").read_text().split()[:3]))
                print(f"   round {rnd + 1} {name}: {result['rps']:.1f} req/s, p50 {result['p50']:.0f} ms, "
                      f"p99 {result['p99']:.0f} ms, read events {result['reads']}, errors "
                      f"{result['non_2xx'] + result['socket_errors']}", flush=True)
                rounds.append(result)
        sealed_in = _wait_sealed(ds.url, 120)
    finally:
        for server in servers.values():
            server.stop()
        chainer.terminate()
        chainer.wait(timeout=60)
    verify = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "audit", "verify"], cwd=g.ROOT,  # noqa: S603
                            env=common, capture_output=True, text=True, check=False, timeout=1800)
    uptime_after = g.uptime()
    text = report(args, argv, ds, rounds, started_at, uptime_before, uptime_after, sealed_in,
                  (verify.returncode, (verify.stdout.strip() or verify.stderr.strip())[-300:]), len(hosts), len(plan))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    errors = sum(r["non_2xx"] + r["socket_errors"] for r in rounds)
    audited_ok = all(r["reads"] >= r["requests"] for r in rounds if r["variant"] == "audited")
    unaudited_ok = all(r["reads"] == 0 for r in rounds if r["variant"] == "unaudited")
    return 0 if not errors and audited_ok and unaudited_ok and verify.returncode == 0 else 1


def _sum(rounds: list[dict], variant: str) -> tuple[int, float]:
    mine = [r for r in rounds if r["variant"] == variant]
    return sum(r["requests"] for r in mine), sum(r["seconds"] for r in mine)


def report(args, argv, ds, rounds, started_at, before, after, sealed_in, verify, hosts: int, distinct: int) -> str:
    command = ("python -m bench.audit_reads " + " ".join(argv)).strip()
    n_on, s_on = _sum(rounds, "audited")
    n_off, s_off = _sum(rounds, "unaudited")
    rate_on, rate_off = n_on / s_on, n_off / s_off
    ratio = rate_on / rate_off
    pairs = []
    for rnd in range(1, args.rounds + 1):
        both = {r["variant"]: r for r in rounds if r["round"] == rnd}
        pairs.append(both["audited"]["rps"] / both["unaudited"]["rps"])
    scale = "" if args.cases in (100_000, 1_000_000) and args.seconds >= 30 else \
        " **A small-scale try, not the measurement of issue 18.**"
    lines = [
        f"# Audited reads against the same reads unaudited: {args.connections} clients, gunicorn, PostgreSQL, "
        f"{ds.cases:,} cases",
        "",
        f"Command: `{command}` — {started_at:%Y-%m-%d %H:%M} UTC.{scale}",
        "",
        f"Machine: {g.machine()}; {g.versions(ds.url)}. The two cores are shared by wrk, both gunicorn servers "
        "(only one is sent requests at a time), the chainer and PostgreSQL.",
        "",
        f"`uptime` before: `{before}`",
        "",
        f"`uptime` after: `{after}`",
        "",
        f"Data: bench/load.py's database `{ds.database}` ({ds.cases:,} cases at {ds.plan['addresses']:,} trusted "
        f"addresses, about {ds.plan['cases_per_address']:,.0f} per address). Two gunicorn servers of "
        f"{args.workers} sync workers, `TINCAY_ENVIRONMENT=development` (production refuses the benchmarks-only "
        "switch) with otherwise bench/load.py's production settings, `TINCAY_AUDIT_CHAINER=off` and one `flask "
        "audit chainer` process; the second server with `TINCAY_BENCHMARK_UNAUDITED_READS=true`. "
        f"{hosts} hosts signed in through the login form; wrk cycles through {distinct} distinct reads of theirs "
        "(case list first and next page : case view : search by name or phone = 4 : 4 : 2).",
        "",
        "| round | variant | requests | seconds | req/s | p50 ms | p90 ms | p99 ms | errors | read events written "
        "| gunicorn CPU s | chainer CPU s | load average after |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rounds:
        lines.append(f"| {r['round']} | {r['variant']} | {r['requests']:,} | {r['seconds']:.1f} | {r['rps']:.1f} | "
                     f"{r['p50']:.0f} | {r['p90']:.0f} | {r['p99']:.0f} | {r['non_2xx'] + r['socket_errors']} | "
                     f"{r['reads']:,} | {r['cpu']:.1f} | {r['chainer_cpu']:.1f} | {r['load']} |")
    p50 = {v: statistics.median(r["p50"] for r in rounds if r["variant"] == v) for v in ("audited", "unaudited")}
    lines += [
        "",
        f"- **Audited ÷ unaudited reads per second: {ratio:.2f}** ({rate_on:.1f} ÷ {rate_off:.1f}, sums of all "
        f"rounds); round by round {', '.join(f'{p:.2f}' for p in pairs)}. Median p50: {p50['audited']:.0f} ms "
        f"audited, {p50['unaudited']:.0f} ms unaudited.",
        f"- Errors (answers other than 200, connect errors, timeouts): "
        f"{sum(r['non_2xx'] + r['socket_errors'] for r in rounds)}.",
        "- Read events: every audited round wrote at least one per answered request: "
        f"{'yes' if all(r['reads'] >= r['requests'] for r in rounds if r['variant'] == 'audited') else '**NO**'}; "
        "the unaudited rounds none: "
        f"{'yes' if all(r['reads'] == 0 for r in rounds if r['variant'] == 'unaudited') else '**NO**'}.",
        "- Sealing: " + (f"every event sealed {sealed_in:.1f} s after the last round" if sealed_in is not None
                         else "**events still unsealed 120 s after the last round**")
        + f"; `flask audit verify` → exit {verify[0]}, `{verify[1]}`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
