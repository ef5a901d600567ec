"""Benchmark of the case lists (issue 4): the host's list and the commune officer's list at 100,000 and
1,000,000 cases, through Flask's test client and through gunicorn with two workers, each with the ratio
to the bare ``/api/v1/health`` endpoint measured in the same run. Writes bench/results/cases_list.md.

    python -m bench.cases_list                     # both sizes; about 10 minutes on 2 cores
    python -m bench.cases_list --sizes 20000       # a quick try
    python -m bench.cases_list --no-gunicorn       # test client only

How the data is built: a fresh SQLite database per size in bench/tmp/ (migrated with the real
migrations), 1,000 trusted addresses in 200 communes of 10 provinces, and N cases spread evenly over
them (so the benchmark host's one address holds N/1,000 cases and her commune's five addresses N/200).
Each case has its own person with a real data key (wrapped by the master key) and real AES-GCM
ciphertexts of name, phone and year of birth, computed with the functions the ORM uses
(``crypto.wrap_data_key``/``encrypt_value``), plus one to three acts; rows are inserted with
executemany because the ORM would take hours at 1,000,000. Not built: blind-index rows, consents,
timelines (the lists do not read them). Risk, status and intake time are random, so the "most urgent
first" order and the keyset cursor work on a realistic mix.

What is measured: ``GET /cases`` (the first page, 50 rows, names decrypted, one audit event written per
request) and ``GET /cases?after=<cursor>`` (a page from the middle of the list), as the host and as the
commune officer, signed in through the real login with TOTP; and ``GET /api/v1/health``. Requests are
sequential from one client; median and 95th percentile of the wall time per request.
"""

from __future__ import annotations

import http.client
import logging
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from bench import load, p95, sizes_parser

ROOT = Path(__file__).resolve().parent.parent
TMP = ROOT / "bench" / "tmp"
RESULTS = ROOT / "bench" / "results" / "cases_list.md"
PASSWORD = "bench password for cases"  # noqa: S105 - a throwaway benchmark database
BATCH = 20_000


def _app(instance: Path):
    os.environ["TINCAY_INSTANCE_PATH"] = str(instance)
    from casework import create_app

    app = create_app({"environment": "development", "RATELIMIT_ENABLED": False})
    logging.getLogger("casework").setLevel(logging.WARNING)  # no request lines in the timings
    return app


def build(instance: Path, size: int, seed: int = 4) -> dict:
    """A migrated database with ``size`` cases; returns the ids and TOTP secrets the measurement needs."""
    from flask_migrate import upgrade

    from casework.protect.keys import init_keys

    if instance.exists():
        shutil.rmtree(instance)
    instance.mkdir(parents=True)
    init_keys(instance / "keys")
    app = _app(instance)
    with app.app_context():
        upgrade()
        info = _fill(size, seed)
    return info


def _fill(size: int, seed: int) -> dict:
    from sqlalchemy import insert

    from casework.auth import services as auth
    from casework.cases import codes
    from casework.cases.models import Address, Case, CaseAct, Person, new_reference, priority_of
    from casework.extensions import db
    from casework.geo import data as geo
    from casework.models import new_id
    from casework.protect.crypto import associated_data, encrypt_value, new_data_key, wrap_data_key
    from casework.protect.ring import current_keys

    rng = random.Random(seed)  # noqa: S311 - synthetic data
    keys = current_keys()
    provinces = [p.code for p in geo.provinces()][:10]
    communes = [c for p in provinces for c in geo.communes(p)[:20]]
    now = datetime.now(UTC)
    addresses = []
    for i, commune in enumerate(communes):
        for j in range(5):
            addresses.append({"id": new_id(), "name": f"ĐCTC bench {i}.{j}", "kind": "household",
                              "province_code": commune.province_code, "commune_code": commune.code,
                              "geo_scheme": "2025", "active": True, "created_at": now, "updated_at": now})
    db.session.execute(insert(Address.__table__), addresses)
    db.session.commit()
    host_address = addresses[0]
    host, host_secret = auth.create_user(None, auth.NewUser(username="bench_host", role="host", password=PASSWORD,
                                                            address_ids=(host_address["id"],)))
    officer, officer_secret = auth.create_user(None, auth.NewUser(
        username="bench_officer", role="commune_officer", password=PASSWORD, scope=host_address["commune_code"]))
    db.session.commit()

    acts = list(codes.ACT_CODES)
    references: set[str] = set()

    def unique_reference() -> str:
        while True:
            reference = new_reference()
            if reference not in references:
                references.add(reference)
                return reference

    risks = ["low"] * 6 + ["medium"] * 3 + ["high"]
    started = time.monotonic()
    made = 0
    while made < size:
        n = min(BATCH, size - made)
        people, cases, case_acts = [], [], []
        for k in range(n):
            address = addresses[(made + k) % len(addresses)]
            person_id, case_id = new_id(), new_id()
            dek = new_data_key()
            wrapped, kek_version = wrap_data_key(keys, dek)

            def ct(column: str, value: str, pid=person_id, key=dek) -> bytes:
                return encrypt_value(key, value.encode(), associated_data("case_person", column, pid, 1))

            people.append({"id": person_id, "province_code": address["province_code"], "sex": "female",
                           "age_band": "30_44", "ethnicity_code": "01", "home_commune_code": address["commune_code"],
                           "geo_scheme": "2025", "dek_wrapped": wrapped, "kek_version": kek_version, "dek_version": 1,
                           "full_name_ct": ct("full_name_ct", f"Bench Thị {made + k}"),
                           "phone_ct": ct("phone_ct", f"09{made + k:08d}"),
                           "birth_year_ct": ct("birth_year_ct", "1990"),
                           "created_at": now, "updated_at": now})
            status = "closed" if rng.random() < 0.4 else "open"
            risk = rng.choice(risks)
            chosen = sorted(set(rng.sample(acts, rng.randint(1, 3))), key=acts.index)
            forms = codes.forms_of(chosen)
            intake = now - timedelta(minutes=rng.randint(60, 3 * 365 * 24 * 60))
            cases.append({"id": case_id, "reference": unique_reference(), "address_id": address["id"],
                          "person_id": person_id, "province_code": address["province_code"],
                          "commune_code": address["commune_code"], "geo_scheme": "2025", "intake_at": intake,
                          "arrival": "came_alone", "children_count": 0, "children_ages": "", "relationship": "spouse",
                          "perpetrator_sex": "male", "perpetrator_age_band": "30_44",
                          **{f"form_{f}": f in forms for f in codes.FORMS}, "first_aid_given": False,
                          **{f"risk_{f}": False for f in codes.RISK_FACTORS}, "risk_judged_high": risk == "high",
                          "risk_level": risk, "risk_assessed_at": intake,
                          "commune_notified_at": intake + timedelta(hours=2), "status": status,
                          "priority": priority_of(status, risk), "closed_at": intake + timedelta(days=30)
                          if status == "closed" else None, "version": 1, "dek_version": 1,
                          "created_at": intake, "updated_at": intake})
            case_acts += [{"case_id": case_id, "code": a, "position": i} for i, a in enumerate(chosen)]
        db.session.execute(insert(Person.__table__), people)
        db.session.execute(insert(Case.__table__), cases)
        db.session.execute(insert(CaseAct.__table__), case_acts)
        db.session.commit()
        made += n
        print(f"  built {made:,} cases in {time.monotonic() - started:.0f} s", flush=True)
    db.session.execute(db.text("ANALYZE"))
    db.session.commit()
    return {"host_secret": host_secret, "officer_secret": officer_secret,
            "host_cases": size // len(addresses), "commune_cases": size * 5 // len(addresses),
            "build_seconds": time.monotonic() - started}


# --- measuring ------------------------------------------------------------------------------------------


def _expect(got: int, wanted: int, what: str) -> None:
    if got != wanted:
        raise RuntimeError(f"{what}: HTTP {got}, expected {wanted}")


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), p95(ordered)


def _totp(secret: str, last: dict) -> str:
    import pyotp

    totp = pyotp.TOTP(secret)
    while True:  # each login needs a code of a step the server has not seen yet
        step = totp.timecode(datetime.now())
        if step > last.get(secret, 0):
            last[secret] = step
            return totp.now()
        time.sleep(1)


STEPS: dict[str, int] = {}


def measure_test_client(instance: Path, info: dict, requests: int) -> dict[str, tuple[float, float]]:
    app = _app(instance)
    out: dict[str, tuple[float, float]] = {}
    # No application context is held across requests: each request gets its own, as in production.
    for who, secret in (("host", info["host_secret"]), ("commune", info["officer_secret"])):
        client = app.test_client()
        token = _csrf(client.get("/login").text)
        r = client.post("/login", data={"username": f"bench_{'host' if who == 'host' else 'officer'}",
                                        "password": PASSWORD, "totp": _totp(secret, STEPS), "csrf_token": token})
        _expect(r.status_code, 302, "login")
        middle = _middle_cursor(lambda path, client=client: client.get(path).text)
        paths = {f"{who} list, first page": "/cases", f"{who} list, middle page": f"/cases?{middle}"}
        timings: dict[str, list[float]] = {k: [] for k in [*paths, "health"]}
        for _ in range(requests):
            for label, path in [*paths.items(), ("health", "/api/v1/health")]:
                t0 = time.perf_counter()
                response = client.get(path)
                timings[label].append(time.perf_counter() - t0)
                _expect(response.status_code, 200, label)
        for label, samples in timings.items():
            out[label if label != "health" else f"health ({who} run)"] = _stats(samples)
    return out


def _middle_cursor(get) -> str:
    """Follow the pages to the middle of the list; return the query string of that page."""
    query, pages = "", []
    while True:
        html = get(f"/cases?{query}" if query else "/cases")
        found = re.search(r'href="/cases\?after=([A-Za-z0-9_-]+)"', html)
        if not found:
            break
        query = urlencode({"after": found.group(1)})
        pages.append(query)
    return pages[len(pages) // 2] if pages else ""


def measure_gunicorn(instance: Path, info: dict, requests: int, port: int = 8765) -> dict[str, tuple[float, float]]:
    env = {**os.environ, "TINCAY_INSTANCE_PATH": str(instance), "TINCAY_ENVIRONMENT": "development"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",  # noqa: S603
                               "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        load._wait_for(port, server)
        out: dict[str, tuple[float, float]] = {}
        for who, user, secret in (("host", "bench_host", info["host_secret"]),
                                  ("commune", "bench_officer", info["officer_secret"])):
            cookie = _http_login(port, user, secret)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

            def get(path: str, conn=conn, cookie=cookie) -> str:
                conn.request("GET", path, headers={"Cookie": cookie})
                response = conn.getresponse()
                body = response.read().decode()
                _expect(response.status, 200, path)
                return body

            middle = _middle_cursor(get)
            paths = {f"{who} list, first page": "/cases", f"{who} list, middle page": f"/cases?{middle}"}
            timings: dict[str, list[float]] = {k: [] for k in [*paths, "health"]}
            for _ in range(requests):
                for label, path in [*paths.items(), ("health", "/api/v1/health")]:
                    t0 = time.perf_counter()
                    get(path)
                    timings[label].append(time.perf_counter() - t0)
            conn.close()
            for label, samples in timings.items():
                out[label if label != "health" else f"health ({who} run)"] = _stats(samples)
        return out
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def _http_login(port: int, username: str, secret: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    page = conn.getresponse()
    first_cookie = page.getheader("Set-Cookie", "").split(";")[0]
    token = _csrf(page.read().decode())
    body = urlencode({"username": username, "password": PASSWORD, "totp": _totp(secret, STEPS), "csrf_token": token})
    conn.request("POST", "/login", body=body, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                        "Cookie": first_cookie})
    response = conn.getresponse()
    response.read()
    _expect(response.status, 302, "login")
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    conn.close()
    return cookie


# --- report ---------------------------------------------------------------------------------------------


def _row(label: str, stats: tuple[float, float], health: tuple[float, float]) -> str:
    median, p95 = stats
    return (f"| {label} | {median * 1000:.1f} | {p95 * 1000:.1f} | {median / health[0]:.1f}× |")


def report(results: list[dict], command: str, requests: int) -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    lines = [
        "# Case lists: host and commune officer at 100,000 and 1,000,000 cases",
        "",
        f"Command: `{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, SQLite "
        f"{__import__('sqlite3').sqlite_version}, Linux {platform.release()}. Other engineers' jobs shared the "
        "machine, so the absolute figures are noisy; the ratios to the health endpoint (same run, interleaved "
        "requests) are the figures to compare.",
        "",
        "Data: see the docstring of `bench/cases_list.py` (real per-person data keys and AES-GCM ciphertexts, "
        "1,000 addresses in 200 communes, cases spread evenly; no blind-index rows, consents or timelines). "
        f"Each figure is over {requests} sequential requests from one client, interleaved with the health "
        "requests. A list page is 50 rows with names decrypted and one audit event written (a commit) per "
        "request; the health endpoint touches no database.",
        "",
    ]
    for r in results:
        lines += [f"## {r['size']:,} cases", "",
                  f"Built in {r['info']['build_seconds']:.0f} s. The host's address holds "
                  f"{r['info']['host_cases']:,} cases, her commune {r['info']['commune_cases']:,}.", ""]
        for where, data in (("Flask test client (one process)", r.get("client")),
                            ("gunicorn, 2 workers, HTTP on 127.0.0.1", r.get("gunicorn"))):
            if not data:
                lines += [f"### {where}", "", f"Not measured: {r.get('gunicorn_note', 'skipped')}.", ""]
                continue
            lines += [f"### {where}", "", "| request | median ms | p95 ms | median ÷ health median |",
                      "|---|---:|---:|---:|"]
            for who in ("host", "commune"):
                health = data[f"health ({who} run)"]
                for page in ("first page", "middle page"):
                    lines.append(_row(f"{who} list, {page}", data[f"{who} list, {page}"], health))
                lines.append(f"| health ({who} run) | {health[0] * 1000:.2f} | {health[1] * 1000:.2f} | 1× |")
            lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = sizes_parser(__doc__, requests=100)
    parser.add_argument("--no-gunicorn", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the databases in bench/tmp/")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = []
    for size in args.sizes:
        instance = TMP / f"cases-{size}"
        print(f"== {size:,} cases: building", flush=True)
        info = build(instance, size)
        result: dict = {"size": size, "info": info}
        print(f"== {size:,} cases: test client", flush=True)
        result["client"] = measure_test_client(instance, info, args.requests)
        if args.no_gunicorn:
            result["gunicorn_note"] = "run with --no-gunicorn"
        else:
            print(f"== {size:,} cases: gunicorn", flush=True)
            result["gunicorn"] = measure_gunicorn(instance, info, args.requests)
        results.append(result)
        if not args.keep:
            shutil.rmtree(instance, ignore_errors=True)
        # Written after each size, so a run stopped at 1,000,000 keeps what it measured.
        command = "python -m bench.cases_list " + " ".join(argv)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report(results, command.strip(), args.requests), encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
