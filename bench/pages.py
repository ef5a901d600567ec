"""Pages near their data floor (issue 18): the host's case list, case view and case search, each as the time
of the whole request through the WSGI app against the page's *floor* — the SELECT statements the app itself
ran for that page, replayed on a bare database connection, plus the decryptions it did (unwrapping the data
keys and decrypting the fields shown) replayed with the same functions. Before (the code of git ``main``,
exported with ``git archive``) and after (this worktree), measured in one run, interleaved, on one data set.

    python -m bench.pages                               # 100,000 cases on SQLite; builds bench/tmp/pages-100000 once
    python -m bench.pages --postgres postgresql+psycopg://postgres@127.0.0.1:5432/floor_bench
    python -m bench.pages --profile after               # cProfile of the three pages, top functions

The data set is ``bench.cases_list``'s (1,000 addresses, 100 cases per address, real data keys and AES-GCM
ciphertexts), plus blind-index rows of every person's name so that the search finds her (the search is
"Thị <n>" for one of the host's cases: one match). It is built once and reused (``--rebuild`` to start
again). Writes bench/results/pages.md (or ``--out``).

What the floor leaves out, and why: the page's writes (its audit event, the session's last-seen time once
a minute) cannot be replayed without changing the data; they are counted and reported beside the floor.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import p95

ROOT = Path(__file__).resolve().parent.parent
TMP = ROOT / "bench" / "tmp"
RESULTS = ROOT / "bench" / "results" / "pages.md"
PAGES = ("case list", "case view", "case search")


# --- data --------------------------------------------------------------------------------------------------


def ensure_data(instance: Path, size: int, database_url: str | None, rebuild: bool) -> dict:
    info_file = instance / "info.json"
    if info_file.exists() and not rebuild:
        return json.loads(info_file.read_text())
    from bench import cases_list, work_queue

    if database_url:
        work_queue.recreate_postgres(database_url)
        os.environ["TINCAY_DATABASE_URL"] = database_url
    info = cases_list.build(instance, size)
    app = cases_list._app(instance)
    with app.app_context():
        info.update(_blind_index_and_targets())
    info_file.write_text(json.dumps(info))
    return info


def _blind_index_and_targets() -> dict:
    """Blind-index rows of every person's name (``bench.cases_list`` builds none), inserted in bulk, and the
    ids the measurement needs: one of the host's cases to view, and a search that finds one case."""
    from sqlalchemy import insert, select

    from casework.auth.models import User
    from casework.cases.models import Case, Person
    from casework.cases.services.lists import _SealedName
    from casework.extensions import db
    from casework.protect import blind
    from casework.protect.fields import BlindIndex
    from casework.protect.ring import current_keys

    keys = current_keys()
    started = time.monotonic()
    rows = []
    total = 0
    result = db.session.execute(select(Person.id, Person.province_code, Person.full_name_ct, Person.dek_wrapped,
                                       Person.kek_version, Person.dek_version)).all()
    for person_id, province, ciphertext, wrapped, kek_version, dek_version in result:
        # Decrypted from the columns with the model's own code (one query, not one per person).
        name = _SealedName(person_id, wrapped, kek_version, dek_version)._decrypt("full_name_ct", ciphertext)
        for token in blind.name_tokens(name):
            rows.append({"record_type": "case_person", "record_id": person_id, "field": "full_name",
                         "province_code": province, "index_version": keys.current_index_version,
                         "value": blind.index_value(keys, "case_person", "full_name", province, token)})
        if len(rows) >= 30_000:
            db.session.execute(insert(BlindIndex.__table__), rows)
            total += len(rows)
            rows = []
    if rows:
        db.session.execute(insert(BlindIndex.__table__), rows)
        total += len(rows)
    db.session.commit()
    host = db.session.scalar(select(User).where(User.username == "bench_host"))
    case = db.session.scalar(select(Case).where(Case.address_id == host.address_ids[0])
                             .order_by(Case.priority.desc(), Case.intake_at.desc()).limit(1))
    number = case.person.full_name.rsplit(" ", 1)[1]
    db.session.execute(db.text("ANALYZE"))
    db.session.commit()
    print(f"  blind index: {total:,} rows in {time.monotonic() - started:.0f} s", flush=True)
    return {"view_case_id": case.id, "search": f"Thị {number}"}


# --- one code tree, in its own process ---------------------------------------------------------------------


def _export_main(dest: Path) -> Path:
    """The source of git ``main`` in ``dest`` (``git archive``: nothing in the main checkout is touched)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    base = subprocess.run(["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], check=True,  # noqa: S603,S607
                          capture_output=True, text=True).stdout.strip()
    blob = subprocess.run(["git", "-C", str(ROOT), "archive", base], check=True, capture_output=True).stdout  # noqa: S603,S607
    (dest / ".commit").write_text(base)
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(dest, filter="data")
    for mo in ROOT.glob("*/**/translations/*/LC_MESSAGES/*.mo"):  # compiled catalogues are not in git
        if "node_modules" in mo.parts or "tmp" in mo.parts:
            continue
        target = dest / mo.relative_to(ROOT)
        if target.parent.exists():
            shutil.copy(mo, target)
    return dest


def run_worker(code: Path, instance: Path, info: dict, requests: int, database_url: str | None,
               profile: bool = False) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code), "TINCAY_INSTANCE_PATH": str(instance)}
    if database_url:
        env["TINCAY_DATABASE_URL"] = database_url
    args = [sys.executable, "-c", "import sys, json; sys.path.insert(0, sys.argv[1]); "
            "from bench_pages_worker import main; main(json.loads(sys.argv[2]))", str(Path(__file__).parent),
            json.dumps({"info": info, "requests": requests, "profile": profile})]
    out = subprocess.run(args, cwd=code, env=env, check=True, capture_output=True, text=True)  # noqa: S603
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- report ------------------------------------------------------------------------------------------------


def _cpu() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def report(runs: list[dict], command: str) -> str:
    lines = [
        "# Pages near their data floor (issue 18): case list, case view and case search",
        "",
        f"Command: `{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"Machine: {os.cpu_count()} cores ({_cpu()}), Python {platform.python_version()}, "
        f"Linux {platform.release()}; shared with other engineers' jobs. Before: git `main` at "
        f"`{(TMP / 'main-src' / '.commit').read_text()[:10]}` (this branch's base); after: this worktree.",
        "",
        "Each page is the host's (one trusted address of 100 cases; 1,000 addresses in all), signed in "
        "(a session started as the login starts it, second factor done; no TOTP step spent per process). "
        "**page** is the median wall time of the whole request through the WSGI app "
        "(Flask test client: session lookup, access check, queries, decryption, audit event, rendering, "
        "commit). **floor** is the page's own SELECT statements, captured from that very request and replayed "
        "on a bare DBAPI connection (rows fetched), plus its own decryptions (data keys unwrapped, fields "
        "decrypted) replayed with the same functions; the page's writes (its audit event) are not in the floor "
        "(they cannot be replayed) and are counted in the last column. Before and after run in separate "
        "processes on the same database, their requests alternating in rounds; **÷ floor** divides each "
        "page by its own floor, **÷ floor after** divides by the new code's floor, so both rows of a page "
        "share one denominator.",
        "",
    ]
    for run in runs:
        lines += [f"## {run['title']}", "",
                  f"Load average before / after the run: {run['load_before']} / {run['load_after']}. "
                  f"{run['requests']} requests per page and version.", "",
                  "| page | code | page ms (median) | p95 ms | SELECTs | SQL replay ms | decrypt ms | floor ms "
                  "| ÷ floor | ÷ floor after | writes |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        after = run["after"]
        for page in PAGES:
            for label in ("before", "after"):
                r = run[label][page]
                floor = r["sql_ms"] + r["decrypt_ms"]
                floor_after = after[page]["sql_ms"] + after[page]["decrypt_ms"]
                lines.append(f"| {page} | {label} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {r['selects']} | "
                             f"{r['sql_ms']:.2f} | {r['decrypt_ms']:.2f} | {floor:.2f} | "
                             f"{r['median_ms'] / floor:.1f}× | {r['median_ms'] / floor_after:.1f}× | {r['writes']} |")
        lines.append("")
        for page in PAGES:
            b, a = run["before"][page]["median_ms"], after[page]["median_ms"]
            lines.append(f"- {page}: after ÷ before = {a / b:.2f}")
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2, help="before/after alternations")
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL of a database of your own (recreated)")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--profile", choices=("before", "after"), help="print a cProfile of the pages and stop")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--append", action="store_true", help="add this run's section to an existing --out")
    args = parser.parse_args(argv)
    db_url = args.postgres or None
    instance = TMP / (f"pages-{args.size}" + ("-pg" if db_url else ""))
    print(f"== data: {instance}", flush=True)
    info = ensure_data(instance, args.size, db_url, args.rebuild)
    main_code = _export_main(TMP / "main-src")
    codes = {"before": main_code, "after": ROOT}
    if args.profile:
        result = run_worker(codes[args.profile], instance, info, args.requests, db_url, profile=True)
        print(result["profile"])
        return 0
    load_before = _load()
    merged: dict[str, dict[str, dict]] = {"before": {}, "after": {}}
    samples: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    per_round = max(1, args.requests // args.rounds)
    for rnd in range(args.rounds):
        for label in (("before", "after") if rnd % 2 == 0 else ("after", "before")):
            print(f"== round {rnd + 1}: {label}", flush=True)
            result = run_worker(codes[label], instance, info, per_round, db_url)
            for page, r in result.items():
                samples[label].setdefault(page, []).extend(r.pop("samples"))
                merged[label].setdefault(page, r)
    for label in merged:
        for page, r in merged[label].items():
            ordered = sorted(samples[label][page])
            r["median_ms"] = statistics.median(ordered)
            r["p95_ms"] = p95(ordered)
    title = f"{args.size:,} cases, " + ("PostgreSQL" if db_url else "SQLite")
    run = {"title": title, "load_before": load_before, "load_after": _load(), "requests": per_round * args.rounds,
           **merged}
    command = ("python -m bench.pages " + " ".join(a if "postgresql" not in a else "<url>" for a in argv)).strip()
    previous = args.out.read_text(encoding="utf-8") if args.append and args.out.exists() else ""
    text = report([run], command)
    if previous:
        text = previous.rstrip("\n") + "\n\n" + text.split("\n", 2)[2].replace("Command:", "Command (this section):", 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
