"""Benchmark: a year of national statistics released with the full disclosure-control audit.

Synthesises 200,000 intakes over 34 provinces and 3,321 communes (``casework.geo.data``) in a temporary
SQLite file, then for each quarter of the year:

1. counting: reads the intakes from SQLite and counts every cell of the catalogue in Python
   (``casework.stats.counting``), timed against bare SQL ``GROUP BY`` queries that compute the same
   person counts on the same data (and must agree with them);
2. release: primary and complementary suppression and the full audit (LP loop, insider and
   reconstruction checks, integer final audit), with the earlier quarters in the ledger.

Wall time and peak memory (resident set, ``resource.getrusage``) go to ``bench/results/stats_release.md``.

    python -m bench.stats_release            # the full year: 200,000 intakes
    python -m bench.stats_release --cases 20000 --no-write   # a quick look
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from casework.stats.catalogue import ACT_FORM, AGE_GROUP, ETHNICITY, SEX, Category, CategoryList, TableDef
from casework.stats.cells import CellKey, Geography
from casework.stats.counting import Record, count_cells
from casework.stats.release import Diagnostics, compute_release

RESULTS = Path(__file__).resolve().parent / "results" / "stats_release.md"
YEAR = 2026
QUARTERS = tuple(f"{YEAR}Q{q}" for q in range(1, 5))

REFERRAL = CategoryList(
    variable="referral_service", version="bench.1", label_vi="Dịch vụ", label_en="Service",
    categories=(Category("POLICE", "Công an", "Police"), Category("HEALTH", "Y tế", "Health"),
                Category("LEGAL_AID", "Trợ giúp pháp lý", "Legal aid"),
                Category("SOCIAL", "Trợ giúp xã hội", "Social assistance")),
    multi_valued=True, sensitive=True,
)


def catalogue() -> list[TableDef]:
    """The tables of disclosure-control §2.3 for trusted-address casework (G1–G5) and the consent count."""
    def t(table_id: str, **kw) -> TableDef:
        base = dict(domain="bench", title_vi=table_id, title_en=table_id, measure="survivors",
                    geo_levels=("national", "province"), periods=("quarter", "year"))
        return TableDef(id=table_id, **{**base, **kw})

    return [
        t("G1"),
        t("G2-act", dimensions=(ACT_FORM,)),
        t("G2-age", dimensions=(AGE_GROUP,)),
        t("G2-ref", dimensions=(REFERRAL,)),
        t("G3", geo_levels=("national",), periods=("year",), dimensions=(ACT_FORM, AGE_GROUP)),
        t("G4", geo_levels=("commune",), periods=("year",)),
        t("G5-sex", periods=("year",), dimensions=(SEX,)),
        t("G5-eth", periods=("year",), dimensions=(ETHNICITY,)),
        t("X1", measure="survivors_excluded", geo_levels=("national",), kind="excluded", source="survivors"),
        # Referrals as the referral domain declares them (issue 16): persons by service (a person may be
        # referred to several services) and referrals by service (one service per referral, and never
        # fewer referrals than referred persons in a cell).
        t("REF-p", measure="referred_persons", dimensions=(REFERRAL,)),
        t("REF-e", measure="referrals", kind="events", unit="referrals", dimensions=(REFERRAL,),
          pattern_of="referred_persons", single_valued=("referral_service",), events_of="referred_persons"),
    ]


# --- synthetic data ----------------------------------------------------------------------------------

ACT_RATES = {"PHYS": 0.55, "MENT": 0.70, "SEXU": 0.04, "ECON": 0.18, "OTHER": 0.01}
REF_RATES = {"POLICE": 0.35, "HEALTH": 0.20, "LEGAL_AID": 0.08, "SOCIAL": 0.05}


def synthesise(cases: int, geography: Geography, seed: int = 2026) -> list[tuple]:
    """Intakes as rows: (id, person, date, province, commune, consent, elsewhere, age, sex, ethnicity, act…, ref…).

    Provinces and communes get log-normal weights, so that a few places carry much of the caseload and
    many communes see only a handful of women a year, as in the pilot. About one woman in twelve
    comes back a second time in the year; one in thirty does not consent to be counted."""
    rng = random.Random(seed)
    communes = list(geography.communes)
    weights = [math.exp(rng.gauss(0, 1.0)) for _ in communes]
    persons = int(cases / 1.08)
    chosen = rng.choices(range(len(communes)), weights=weights, k=persons)
    start = date(YEAR, 1, 1)
    rows = []
    for pid in range(persons):
        code, _, province = communes[chosen[pid]]
        visits = 1 if rng.random() > 0.08 or len(rows) + 2 > cases else 2
        consent = rng.random() > 1 / 30
        elsewhere = rng.random() < 0.01
        age = rng.choices(["U16", "A16_59", "A60", "UNK"], [8, 80, 10, 2])[0]
        sex = rng.choices(["F", "M", "UNK"], [96, 3, 1])[0]
        eth = rng.choices(["KINH", "MINORITY", "UNK"], [85, 14, 1])[0]
        first = start + timedelta(days=rng.randrange(365))
        for v in range(visits):
            on = first if v == 0 else min(first + timedelta(days=rng.randrange(1, 120)), date(YEAR, 12, 31))
            acts = [a for a, p in ACT_RATES.items() if rng.random() < p] or ["MENT"]
            refs = [r for r, p in REF_RATES.items() if rng.random() < p]
            rows.append((len(rows), f"p{pid}", on.isoformat(), province, code, int(consent), int(elsewhere), age,
                         sex, eth, *[int(a in acts) for a in ACT_RATES], *[int(r in refs) for r in REF_RATES]))
        if len(rows) >= cases:
            break
    return rows


def create_database(path: str, rows: list[tuple]) -> sqlite3.Connection:
    con = sqlite3.connect(path)
    acts = ", ".join(f"act_{a.lower()} INTEGER" for a in ACT_RATES)
    refs = ", ".join(f"ref_{r.lower()} INTEGER" for r in REF_RATES)
    con.execute(f"CREATE TABLE intake (id INTEGER PRIMARY KEY, person TEXT, on_date TEXT, province TEXT, "
                f"commune TEXT, consent INTEGER, elsewhere INTEGER, age TEXT, sex TEXT, ethnicity TEXT, {acts}, "
                f"{refs})")
    marks = ", ".join("?" * len(rows[0]))
    con.executemany(f"INSERT INTO intake VALUES ({marks})", rows)  # noqa: S608 - column count only
    con.execute("CREATE INDEX intake_date ON intake (on_date)")
    con.commit()
    return con


# --- counting: the engine against bare SQL --------------------------------------------------------

def records_until(con: sqlite3.Connection, period: str) -> list[Record]:
    """The rows the release service would hand the engine: every intake of the year up to the quarter."""
    end = {"1": "03-31", "2": "06-30", "3": "09-30", "4": "12-31"}[period[-1]]
    out = []
    cur = con.execute("SELECT * FROM intake WHERE on_date <= ? ORDER BY id", (f"{YEAR}-{end}",))
    for row in cur:
        acts = frozenset(a for a, flag in zip(ACT_RATES, row[10:15], strict=True) if flag)
        refs = frozenset(r for r, flag in zip(REF_RATES, row[15:19], strict=True) if flag)
        on = date.fromisoformat(row[2])
        out.append(Record("survivors", row[1], on, row[3], row[4],
                          {"age_group": row[7], "sex": row[8], "ethnicity": row[9], "act_form": acts,
                           "referral_service": refs},
                          consent=bool(row[5]), reported_elsewhere=bool(row[6])))
        out += referral_records(row[0], row[1], on, row[3], row[4], refs, bool(row[5]))
    return out


def referral_records(intake: int, person: str, on: date, province: str, commune: str, refs: frozenset[str],
                     consent: bool) -> list[Record]:
    """Each service of an intake is one referral, or two for one intake in three: records of the referred
    person and of each referral, one service each."""
    out = []
    for service in sorted(refs):
        for _ in range(1 + (intake % 3 == 0)):
            attrs = {"referral_service": frozenset({service})}
            out.append(Record("referred_persons", person, on, province, commune, attrs, consent=consent))
            out.append(Record("referrals", person, on, province, commune, attrs, consent=consent))
    return out


FIRST = """
WITH counted AS (
  SELECT * FROM intake WHERE consent = 1 AND elsewhere = 0 AND on_date <= :end),
ranked AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY person ORDER BY on_date, id) AS rn,
         CAST((CAST(substr(on_date, 6, 2) AS INTEGER) + 2) / 3 AS INTEGER) AS q FROM counted),
first AS (SELECT person, q, province, commune, age, sex, ethnicity FROM ranked WHERE rn = 1),
flags AS (
  SELECT f.person, MAX(r.act_phys) phys, MAX(r.act_ment) ment, MAX(r.act_sexu) sexu, MAX(r.act_econ) econ,
         MAX(r.act_other) other, MAX(r.ref_police) police, MAX(r.ref_health) health,
         MAX(r.ref_legal_aid) legal_aid, MAX(r.ref_social) social
  FROM first f JOIN ranked r ON r.person = f.person AND r.q = f.q GROUP BY f.person),
persons AS (SELECT * FROM first JOIN flags USING (person))
"""


def sql_counts(con: sqlite3.Connection, period: str) -> dict[CellKey, int]:
    """The person counts of the G1, G2, G4 and G5 tables by bare GROUP BY queries on the same data."""
    end = {"1": "03-31", "2": "06-30", "3": "09-30", "4": "12-31"}[period[-1]]
    params = {"end": f"{YEAR}-{end}"}
    out: dict[CellKey, int] = {}
    flags = [("act_form", a, a.lower()) for a in ACT_RATES] + [("referral_service", r, r.lower()) for r in REF_RATES]
    sums = ", ".join(f"SUM({col})" for _, _, col in flags)
    query = FIRST + f"SELECT province, q, COUNT(*), {sums} FROM persons GROUP BY province, q"  # noqa: S608 - constants
    quarterly = con.execute(query, params).fetchall()
    for province, q, n, *counts in quarterly:
        per = f"{YEAR}Q{q}"
        out[CellKey("survivors", "province", province, per)] = n
        for (variable, code, _), c in zip(flags, counts, strict=True):
            out[CellKey("survivors", "province", province, per, ((variable, code),))] = c
    query = FIRST + "SELECT province, q, age, COUNT(*) FROM persons GROUP BY province, q, age"  # noqa: S608 - constant
    for province, q, age, n in con.execute(query, params):
        out[CellKey("survivors", "province", province, f"{YEAR}Q{q}", (("age_group", age),))] = n
    if period.endswith("Q4"):
        query = FIRST + "SELECT commune, COUNT(*) FROM persons GROUP BY commune"  # noqa: S608 - constant
        for commune, n in con.execute(query, params):
            out[CellKey("survivors", "commune", commune, str(YEAR))] = n
        for column, variable in (("sex", "sex"), ("ethnicity", "ethnicity")):
            query = FIRST + f"SELECT province, {column}, COUNT(*) FROM persons GROUP BY province, {column}"  # noqa: S608
            for province, code, n in con.execute(query, params):
                out[CellKey("survivors", "province", province, str(YEAR), ((variable, code),))] = n
    return out


def compare(counted, sql: dict[CellKey, int]) -> int:
    cells = {**counted.context, **counted.cells}
    wrong = [k for k, n in sql.items() if cells[k].value != n]
    if wrong:
        raise SystemExit(f"counting disagrees with SQL on {len(wrong)} cells, e.g. {wrong[0].label()}")
    return len(sql)


# --- the run ---------------------------------------------------------------------------------------

def peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def run(cases: int, parts: tuple[str, ...] = ("quarters", "sparse", "demo")) -> dict:
    geography = Geography.from_geo_data()
    tables = catalogue()
    t0 = time.perf_counter()
    rows = synthesise(cases if "quarters" in parts else 100, geography)  # a token table for the small cases
    with tempfile.TemporaryDirectory() as tmp:
        con = create_database(os.path.join(tmp, "bench.sqlite"), rows)
        setup = time.perf_counter() - t0
        del rows
        results = {"cases": cases, "persons": con.execute("SELECT COUNT(DISTINCT person) FROM intake").fetchone()[0],
                   "provinces": len(geography.provinces), "communes": len(geography.communes), "setup": setup,
                   "quarters": []}
        earlier: tuple = ()
        for period in QUARTERS if "quarters" in parts else ():
            t = time.perf_counter()
            records = records_until(con, period)
            t_read = time.perf_counter() - t
            t = time.perf_counter()
            counted = count_cells(tables, records, period, geography)
            t_count = time.perf_counter() - t
            t = time.perf_counter()
            sql = sql_counts(con, period)
            t_sql = time.perf_counter() - t
            checked = compare(counted, sql)
            diag = Diagnostics()
            load = os.getloadavg()[0]
            t, cpu = time.perf_counter(), time.process_time()
            release = compute_release(release_id=f"{period}-r1", period=period,
                                      created_at=datetime(YEAR, 12, 31, tzinfo=UTC), tables=tables, counted=counted,
                                      geography=geography, earlier=earlier, diagnostics=diag)
            t_release = time.perf_counter() - t
            cpu_release = time.process_time() - cpu
            earlier += (release,)
            audit = release.manifest["audit"]
            results["quarters"].append({
                "period": period, "records": len(records), "read": t_read, "count": t_count, "sql": t_sql,
                "cells_checked": checked, "release": t_release, "cells": audit["cells"],
                "suppressed": audit["suppressed"], "primary": diag.primary, "steps": diag.steps,
                "programs": diag.linear_programs, "insider": diag.insider_checks,
                "insider_beyond_repair": diag.insider_unrepairable, "reconstruction": diag.reconstruction_checks,
                "smallest_width": audit["smallest_protected_width"], "peak_mb": peak_mb(),
                "load": load, "load_after": os.getloadavg()[0], "cpu": cpu_release,
            })
            print(f"{period}: count {t_count:.2f}s (SQL {t_sql:.2f}s), release {t_release:.1f}s "
                  f"(CPU {cpu_release:.1f}s, load {load:.1f}/{os.getloadavg()[0]:.1f}), "
                  f"{audit['suppressed']}/{audit['cells']} suppressed, {diag.linear_programs} programs, "
                  f"peak {peak_mb():.0f} MB", flush=True)
        con.close()
    results["small"] = [small_case(name, geography, tables, n, provinces) for name, n, provinces in SMALL_CASES
                        if name in parts]
    results["total"] = time.perf_counter() - t0
    results["peak_mb"] = peak_mb()
    return results


# (name, intakes in the quarter, provinces they fall in): the sparse start of a pilot, and the demo data.
SMALL_CASES = (("sparse", 400, 34), ("demo", 60, 2))


def small_case(name: str, geography: Geography, tables: list[TableDef], n: int, provinces: int,
               seed: int = 7) -> dict:
    """A first-quarter release over the national geography from a few hundred records: most provinces
    and nearly every commune have nothing, which the engine must not pay for."""
    rng = random.Random(seed)
    chosen = sorted(rng.sample(sorted(geography.province_codes), provinces))
    communes = [c for c in geography.communes if c[2] in chosen]
    communes = rng.sample(communes, min(len(communes), max(3, n // 6)))
    records: list[Record] = []
    for i in range(n):
        code, _, province = rng.choice(communes)
        on = date(YEAR, 1, 1) + timedelta(days=rng.randrange(90))
        acts = frozenset(a for a, p in ACT_RATES.items() if rng.random() < p) or frozenset({"MENT"})
        refs = frozenset(r for r, p in REF_RATES.items() if rng.random() < p)
        age = rng.choices(["U16", "A16_59", "A60", "UNK"], [8, 80, 10, 2])[0]
        records.append(Record("survivors", f"s{i}", on, province, code,
                              {"age_group": age, "sex": "F", "ethnicity": "KINH", "act_form": acts,
                               "referral_service": refs}))
        records += referral_records(i, f"s{i}", on, province, code, refs, True)
    period = QUARTERS[0]
    load = os.getloadavg()[0]
    t, cpu = time.perf_counter(), time.process_time()
    counted = count_cells(tables, records, period, geography)
    diag = Diagnostics()
    release = compute_release(release_id=f"{name}-r1", period=period, created_at=datetime(YEAR, 4, 1, tzinfo=UTC),
                              tables=tables, counted=counted, geography=geography, diagnostics=diag)
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    audit = release.manifest["audit"]
    print(f"{name}: {len(records)} records, count and release {elapsed:.2f}s (CPU {cpu:.2f}s, load "
          f"{load:.1f}/{os.getloadavg()[0]:.1f}), {audit['suppressed']}/{audit['cells']} suppressed, "
          f"{diag.linear_programs} programs", flush=True)
    return {"name": name, "records": len(records), "intakes": n, "provinces": provinces, "seconds": elapsed,
            "cells": audit["cells"], "suppressed": audit["suppressed"], "programs": diag.linear_programs,
            "load": load, "load_after": os.getloadavg()[0], "cpu": cpu}


def report(r: dict, command: str) -> str:
    lines = [
        "# Benchmark: a year of national statistics with the full disclosure-control audit",
        "",
        f"Recorded {datetime.now(UTC).strftime('%Y-%m-%d')} by `bench/stats_release.py` on "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()}. Rerun:",
        "",
        "```sh",
        command,
        "```",
        "",
        f"Data: {r['cases']:,} intakes of {r['persons']:,} women over {r['provinces']} provinces and "
        f"{r['communes']:,} communes (log-normal caseloads), one year; synthesised into a temporary SQLite "
        f"file in {r['setup']:.1f} s. Catalogue: G1, G2 by form of violence, age group and referral service "
        "(province and national, quarter and year), G3 form × age (national, year), G4 commune totals "
        "(year), G5 sex and ethnicity (province and national, year), the national count of persons who "
        "did not consent, and referred persons and referrals by service as the referral domain declares "
        "them (one service per referral; never more referred persons than referrals in a cell). Each "
        "quarter is released in turn with the earlier ones in the ledger; the "
        "fourth quarter's release is the year-end release and carries the annual tables.",
        "",
        "Targets of issue 16 on 2 cores: a national quarter ≤ 10 s with the full audit, the year-end release "
        "(Q4 with the year's tables) ≤ 30 s, the sparse case ≤ 5 s, the demo data ≤ 3 s. The machine is "
        "shared: the load average (1 minute, as `uptime` shows it) before and after each figure is given "
        "beside it; a load above the 2 cores means the figure is a wall time with the CPU shared.",
        "",
        "| release | records read | counting (Python) | same counts by SQL `GROUP BY` | ratio | cells checked "
        "equal | release and full audit (wall / CPU) | count + release ÷ SQL | target | cells | suppressed | primary | "
        "programs solved | load before/after | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for q in r["quarters"]:
        target = "30 s" if q["period"].endswith("Q4") else "10 s"
        lines.append(
            f"| {q['period']} | {q['records']:,} in {q['read']:.2f} s | {q['count']:.2f} s | {q['sql']:.2f} s | "
            f"{q['count'] / q['sql']:.1f}× | {q['cells_checked']:,} | {q['release']:.1f} s / {q['cpu']:.1f} s | "
            f"{(q['count'] + q['release']) / q['sql']:.1f}× | {target} | {q['cells']:,} | "
            f"{q['suppressed']:,} | {q['primary']:,} | {q['programs']:,} | {q['load']:.1f}/{q['load_after']:.1f} | "
            f"{q['peak_mb']:.0f} MB |")
    lines += [
        "",
        "Small cases over the national geography (first quarter, counting and release together):",
        "",
        "| case | intakes | provinces | records | count + release (wall / CPU) | target | cells | suppressed | "
        "programs | load before/after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in r.get("small", []):
        target = "5 s" if c["name"] == "sparse" else "3 s"
        lines.append(f"| {c['name']} | {c['intakes']} | {c['provinces']} | {c['records']:,} | "
                     f"{c['seconds']:.2f} s / {c['cpu']:.2f} s | "
                     f"{target} | {c['cells']:,} | {c['suppressed']} | {c['programs']} | "
                     f"{c['load']:.1f}/{c['load_after']:.1f} |")
    lines += [
        "",
        f"Whole run: {r['total']:.0f} s; peak resident memory {r['peak_mb']:.0f} MB.",
    ]
    q4 = r["quarters"][-1] if r["quarters"] else None
    lines += [] if q4 is None else [
        "",
        f"Year-end audit detail: {q4['insider']:,} insider checks (T11), {q4['insider_beyond_repair']} of them "
        f"beyond repair by this release, {q4['reconstruction']:,} reconstruction checks (T15), "
        f"{q4['steps']:,} suppression steps; smallest interval width of a protected cell "
        f"{q4['smallest_width']}.",
    ]
    lines += [
        "",
        "Notes:",
        "",
        "- *Counting* is `casework.stats.counting.count_cells` over records already read from SQLite (the "
        "read is timed separately). The SQL side computes the G1/G2 province-quarter cells and the G4/G5 "
        "cells with window functions and `GROUP BY` on the same file; the benchmark stops if any of "
        "those counts differs from the engine's. SQL does not compute the national, year or G3 cells, "
        "the complete grid of zeros or the microdata cubes of the reconstruction check, so the ratio "
        "overstates the engine's cost per cell.",
        "- *Release and full audit* is `casework.stats.release.compute_release`: primary suppression, the "
        "complementary loop with HiGHS (`highspy`, one program per component re-solved for each "
        "question), the insider and reconstruction checks, and the final audit by the integer attacker "
        "(`scipy.optimize.milp` where a relaxation is not integral).",
        "- Peak memory is the process's maximum resident set (`resource.getrusage`), cumulative over the run.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--no-write", action="store_true", help="print only; leave the results file alone")
    parser.add_argument("--only", default="quarters,sparse,demo",
                        help="comma-separated parts to run: quarters (the national year), sparse, demo")
    args = parser.parse_args(argv)
    parts = tuple(p.strip() for p in args.only.split(",") if p.strip())
    unknown = set(parts) - {"quarters", "sparse", "demo"}
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    results = run(args.cases, parts)
    command = "python -m bench.stats_release" + (f" --cases {args.cases}" if args.cases != 200_000 else "") + (
        f" --only {','.join(parts)}" if set(parts) != {"quarters", "sparse", "demo"} else "")
    text = report(results, command)
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
