"""A name search's statement in PostgreSQL, read from disk and from memory (issue 18). Writes
bench/results/search_plan.md.

    python -m bench.search_plan                  # 1,000,000 cases (bench/load.py's database), warm only
    python -m bench.search_plan --cold           # also cold: PostgreSQL restarted and the page cache dropped
    python -m bench.search_plan --cases 100000
    python -m bench.search_plan --cold --label "before" --out F   # e.g. an earlier commit's code and schema

Why: at the fifteenth stop the load test's p95 went to seconds because a host's name search read thousands of
scattered table pages (bench/results/load.md); on a machine that keeps little cache those reads go to the disk.
What it measures: for a host (the data set's first) and a commune officer of her commune (the roles that search
names; a province officer never sees one), four
searches as bench/load.py's users make them (a full name at her address, a given name alone, a phone, and the
full name of someone at another address of her province), the statement the app sends for the matching people
(captured while ``search_case_rows`` runs, then rolled back), under ``EXPLAIN (ANALYZE, BUFFERS)``: execution
time, pages found in PostgreSQL's buffers and pages read. The floor beside each: the rows the search has to read
in any case, the matched people read by their ids. ``--cold`` reads each statement and each floor once right
after ``pg_ctlcluster <version> main restart`` and ``echo 3 > /proc/sys/vm/drop_caches`` (root; Debian's
PostgreSQL), so the figures are the disk's; without it (and after the cold reads) the median of five warm
readings. The officer is a user built for the measurement, never stored.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import _gunicorn as g

RESULTS = Path(__file__).resolve().parent / "results" / "search_plan.md"
HEADER = ("# A name search's statement, cold and warm (issue 18)\n\nEach section is one run of "
          "`python -m bench.search_plan`, in the order they ran. Figures of one section compare; see its uptime.\n")
WARM_READINGS = 5


@dataclass
class Reading:
    ms: float
    hit: int
    read: int


@dataclass
class Search:
    role: str
    kind: str
    results: int
    statement: str
    floor: str


def explain(url: str, sql: str) -> Reading:
    """One ``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` of ``sql`` on a new connection."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql).fetchone()[0][0]
    top = plan["Plan"]
    return Reading(plan["Execution Time"], top.get("Shared Hit Blocks", 0), top.get("Shared Read Blocks", 0))


def go_cold() -> None:
    """PostgreSQL restarted (its buffers emptied) and the kernel's page cache dropped."""
    version = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True,  # noqa: S607
                             check=True).stdout.split()[0]
    subprocess.run(["pg_ctlcluster", version, "main", "restart"], check=True)  # noqa: S603, S607
    subprocess.run(["sync"], check=True)  # noqa: S607
    Path("/proc/sys/vm/drop_caches").write_text("3\n")
    time.sleep(1)


def capture(ds: g.DataSet) -> list[Search]:
    """The people statements of the eight searches, with their parameters written in (psycopg's client-side
    quoting), and the floor of each: its matched people by id."""
    import psycopg
    from sqlalchemy import event, select

    from casework.auth.models import User
    from casework.cases.models import Address, Case, Person
    from casework.cases.services import lists
    from casework.extensions import db
    from casework.models import new_id

    app = g.app_in_process(ds)
    account = ds.plan["accounts"][0]
    found: list[Search] = []
    with app.test_request_context():
        sent: list[tuple[str, Any]] = []

        def keep(_conn, _cursor, statement, params, _context, _many) -> None:
            if "FROM case_person" in statement:
                sent.append((statement, params))

        event.listen(db.engine, "before_cursor_execute", keep)
        host = db.session.scalar(select(User).where(User.username == account["username"]))
        address = db.session.get(Address, account["address_id"])
        hers = db.session.scalars(select(Person).join(Case, Case.person_id == Person.id)
                                  .where(Case.address_id == address.id).order_by(Case.id).limit(2)).all()
        other = db.session.scalars(select(Person).join(Case, Case.person_id == Person.id)
                                   .where(Case.province_code == address.province_code,
                                          Case.address_id != address.id).order_by(Case.id).limit(1)).one()
        terms = {"full name": hers[0].full_name, "given name": hers[1].full_name.split()[-1],
                 "phone": hers[0].phone, "another address's name": other.full_name}
        officer = User(id=new_id(), username="bench-commune", role="commune_officer",
                       commune_code=address.commune_code, province_code=address.province_code)
        for role, user in {"host": host, "commune officer": officer}.items():
            for kind, term in terms.items():
                sent.clear()
                rows = lists.search_case_rows(user, term)
                statement, params = sent[0]
                raw = db.session.connection().connection.dbapi_connection
                written = psycopg.ClientCursor(raw).mogrify(statement, params)
                ids = sorted({r.person_id for r in db.session.scalars(select(Case).where(
                    Case.id.in_([r.id for r in rows])))})
                floor = psycopg.ClientCursor(raw).mogrify(
                    "SELECT id, full_name_ct, dek_wrapped, kek_version, dek_version FROM case_person "
                    "WHERE id = ANY(%s)", [ids])
                found.append(Search(role, kind, len(rows), written, floor))
                db.session.rollback()
        event.remove(db.engine, "before_cursor_execute", keep)
    return found


def measure(ds: g.DataSet, searches: list[Search], cold: bool) -> list[dict[str, Reading]]:
    out: list[dict[str, Reading]] = []
    for search in searches:
        readings: dict[str, Reading] = {}
        for name, sql in (("search", search.statement), ("floor", search.floor)):
            if cold:
                go_cold()
                readings[f"{name} cold"] = explain(ds.url, sql)
            warm = [explain(ds.url, sql) for _ in range(WARM_READINGS)]
            readings[f"{name} warm"] = sorted(warm, key=lambda r: r.ms)[len(warm) // 2]
        out.append(readings)
    return out


def report(args: argparse.Namespace, argv: list[str], ds: g.DataSet, searches: list[Search],
           readings: list[dict[str, Reading]], started: datetime, before: str, after: str) -> str:
    command = "python -m bench.search_plan " + " ".join(argv)
    title = f"{ds.cases:,} cases" + (", cold and warm" if args.cold else ", warm")
    lines = g.section_head(f"{title}: {args.label}" if args.label else title, command, started, ds, before, after)
    kinds = ["cold", "warm"] if args.cold else ["warm"]
    head = ["who", "search", "found"]
    for kind in kinds:
        head += [f"search {kind} ms (pages hit / read)", f"floor {kind} ms", f"÷ floor {kind}"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for search, reading in zip(searches, readings, strict=True):
        cells = [search.role, search.kind, str(search.results)]
        for kind in kinds:
            s, f = reading[f"search {kind}"], reading[f"floor {kind}"]
            cells += [f"{s.ms:.2f} ({s.hit:,} / {s.read:,})", f"{f.ms:.2f}", f"{s.ms / max(f.ms, 0.001):.1f}×"]
        lines.append("| " + " | ".join(cells) + " |")
    worst = {kind: max(r[f"search {kind}"].ms for r in readings) for kind in kinds}
    lines += ["", "Slowest search: " + ", ".join(f"{k} {v:.1f} ms" for k, v in worst.items()) + ".",
              "", "The host's full-name statement as sent (parameters written in):", "", "```sql",
              re.sub(r"'[0-9A-Za-z_-]{22}'", "'…'", searches[0].statement), "```", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--cold", action="store_true", help="restart PostgreSQL and drop the page cache first")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--append", action="store_true", help="add this run's section to an existing --out")
    parser.add_argument("--label", default="", help="what this run measures (e.g. the commit), in its title")
    args = parser.parse_args(argv)
    if args.cold and os.geteuid() != 0:
        raise SystemExit("--cold restarts PostgreSQL and drops the page cache: run it as root.")
    ds = g.data_set(args.cases)
    before, started = g.uptime(), datetime.now(UTC)
    searches = capture(ds)
    readings = measure(ds, searches, args.cold)
    section = report(args, argv, ds, searches, readings, started, before, g.uptime())
    g.write_section(args.out, HEADER, section, args.append)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
