"""Load test (issue 8): hosts working at once on gunicorn with 2 workers on PostgreSQL holding 1,000,000 cases.
Writes bench/results/load.md.

    python -m bench.load                                  # 1,000,000 cases, 50 users, two runs of 2 minutes
    python -m bench.load --cases 20000 --duration 20      # a quick try (its own database, tincay_load_20000)
    python -m bench.load --rebuild                        # seed again although the database is there
    python -m bench.load --seed-only                      # seed (or find) the database and stop
    python -m bench.load --workers 4                      # gunicorn workers (default 2, as the first runs)
    python -m bench.load --workers 2 --threads 4          # gthread workers of 4 threads each (default: sync)

What runs: a dedicated PostgreSQL database (``tincay_load`` for 1,000,000 cases, ``tincay_load_<N>`` for
another size) created, given keys (``flask keys init``) and migrated (``flask db upgrade``) by this script,
then seeded; gunicorn with 2 sync workers (``--workers``) on 127.0.0.1 in the production configuration (keys outside the
instance folder, rate limits in Redis; the sign-in limit is raised to 1000 per minute because every user
signs in from 127.0.0.1); and Locust (``bench/_load_locust.py``, in its own process) with one host account
per simulated user. The seeded database, its keys and the accounts are kept in bench/tmp/ and reused by
the next run when the case count matches (seeding 1,000,000 cases took 15 minutes on 2 shared cores);
each run adds its intakes to it.

The data: 1,000,000 cases at 1,020 trusted addresses (34 provinces × 6 communes × 5 addresses, so about
980 cases per address and 29,400 persons per province, the national case the blind index was sized for),
each with its own person: a real data key wrapped by the master key, AES-GCM ciphertexts of a realistic
Vietnamese name (the generator of bench/protect.py), phone and year of birth, blind-index rows of the name
and the phone, and one to three acts; the case rows are those of bench/cases_list.py (random risk, status
and intake time). Rows go in with COPY, without the ORM. No consents, timelines or audit events are
seeded. Each simulated user is a host of one address (spread over the provinces), signed in through the
real login form with her TOTP code.

What each user does, in a loop with a think time between actions (``--think``, one run per value; by
default a run with 3–10 s, the pace of a busy host, and a run with none, which saturates the server): her
case list (first page, or the next page from the cursor of her last list), a case view of a
case she has seen in a list, a name or phone search through the blind index (a full name, a given name
alone, a phone number, or a name that is not at her address) and an intake (the empty form, then the
completed form saved: a redirect to the new case). Weights 4 : 4 : 2 : 1. Measured: requests started in
the window of ``--duration`` seconds that opens once every user has signed in; sign-in is reported on
its own. "No lost write": every intake answered by a redirect to a new case is looked up in the database
afterwards, and the number of new case rows must equal the number of such answers; then
``flask audit verify`` must pass.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import p95

ROOT = Path(__file__).resolve().parent.parent
TMP = ROOT / "bench" / "tmp"
RESULTS = ROOT / "bench" / "results" / "load.md"
SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/14"
PASSWORD = "bench password for load"  # noqa: S105 - a throwaway benchmark database
ADDRESSES_PER_COMMUNE, COMMUNES_PER_PROVINCE = 5, 6
SAMPLES_PER_HOST = 40
BATCH = 20_000
KINDS = ("list, first page", "list, next page", "case view", "search", "intake form", "intake save")


def _database(cases: int) -> str:
    return "tincay_load" if cases == 1_000_000 else f"tincay_load_{cases}"


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# --- environment ----------------------------------------------------------------------------------------


def _redis_ok(url: str) -> bool:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no Redis here"
        return False


def app_env(state: Path, url: str, redis_url: str | None) -> dict[str, str]:
    """The settings of a production host (docs/operations.md §3), pointed at the bench's database."""
    env = {**os.environ, "TINCAY_ENVIRONMENT": "production", "TINCAY_DATABASE_URL": url,
           "TINCAY_INSTANCE_PATH": str(state / "instance"), "TINCAY_KEYS_DIR": str(state / "keys"),
           "TINCAY_LOGIN_RATE_LIMIT": "1000 per minute"}
    if redis_url:
        env["TINCAY_RATELIMIT_STORAGE_URI"] = redis_url
    else:  # no Redis: the in-memory limiter, accepted knowingly (each worker counts on its own)
        env["TINCAY_ALLOW_EMBEDDED_DEFAULTS"] = "true"
    return env


def flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,  # noqa: S603
                            input=stdin, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def _admin_connect():
    import psycopg

    return psycopg.connect(_plain(f"{SERVER}/postgres"), autocommit=True)


def _count_cases(url: str) -> int:
    import psycopg

    with psycopg.connect(_plain(url)) as conn:
        row = conn.execute('SELECT count(*) FROM "case"').fetchone()
    return int(row[0]) if row else 0


def _reusable(state: Path, url: str, cases: int) -> dict | None:
    plan_file = state / "plan.json"
    if not plan_file.exists() or not (state / "keys").exists():
        return None
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    if plan.get("cases") != cases:
        return None
    try:
        if _count_cases(url) < cases:
            return None
    except Exception:  # noqa: BLE001 - no database, no table: build it
        return None
    return plan


def _refuse_foreign_database(state: Path, url: str, cases: int) -> None:
    """Stop instead of seeding over a database another checkout seeded: its keys and accounts are in that
    checkout's ``bench/tmp``, not in this one's, and seeding drops it (WITH FORCE) under whoever is using it.
    Two worktrees benchmarking at once each did so once, each destroying the other's data set."""
    if (state / "plan.json").exists():
        return
    try:
        present = _count_cases(url)
    except Exception:  # noqa: BLE001 - no database, no table: nothing to lose
        return
    if present >= cases:
        database = url.rsplit("/", 1)[1]
        raise SystemExit(f"{database} already holds {present:,} cases, seeded from another checkout; this one has no "
                         f"{state}/ (its keys and accounts). Link or copy that folder from the "
                         f"checkout that seeded it, or reseed on purpose: python -m bench.load --cases {cases} "
                         f"--seed-only --rebuild")


def data_set_plan(state: Path, url: str, cases: int, users: int, env: dict[str, str],
                  rebuild: bool = False) -> tuple[dict, bool]:
    """The plan of the data set of ``cases`` cases for ``users`` users, seeded now when this checkout has none
    (never over another checkout's, unless ``rebuild``); and whether it was seeded now."""
    database = url.rsplit("/", 1)[1]
    plan = None if rebuild else _reusable(state, url, cases)
    if plan is not None and len(plan["accounts"]) >= users:
        print(f"== reusing {database} (seeded earlier)", flush=True)
        return plan, False
    if not rebuild:
        _refuse_foreign_database(state, url, cases)
    print(f"== seeding {cases:,} cases into {database}", flush=True)
    return seed(state, url, cases, max(users, 50), env), True


# --- seeding --------------------------------------------------------------------------------------------


def seed(state: Path, url: str, cases: int, users: int, env: dict[str, str], seed_value: int = 8) -> dict:
    """Create, migrate and fill the database; returns the plan (accounts, their addresses, search samples)."""
    database = url.rsplit("/", 1)[1]
    if state.exists():
        shutil.rmtree(state)
    (state / "instance").mkdir(parents=True)
    with _admin_connect() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    started = time.monotonic()
    flask(env, "keys", "init")
    flask(env, "db", "upgrade")
    migrated = time.monotonic()
    os.environ.update({k: v for k, v in env.items() if k.startswith("TINCAY_")})
    from casework import create_app

    app = create_app()
    with app.app_context():
        plan = _fill(url, cases, users, seed_value)
    plan["seconds"] = {"migrate": migrated - started, "fill": time.monotonic() - migrated}
    (state / "plan.json").write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    return plan


def _copy(conn, table, rows: list[dict]) -> None:
    """COPY rows (dicts of column values) into a table; columns left out take their scalar default or NULL
    (or the sequence, for an integer key)."""
    if not rows:
        return
    given = rows[0].keys()
    columns = [c for c in table.columns if c.name in given
               or (c.default is not None and c.default.is_scalar and not c.primary_key)]
    defaults = {c.name: c.default.arg if c.default is not None and c.default.is_scalar else None for c in columns}
    names = ", ".join(f'"{c.name}"' for c in columns)
    with conn.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row.get(c.name, defaults[c.name]) for c in columns])


def _fill(url: str, size: int, users: int, seed_value: int) -> dict:
    import psycopg

    from bench.protect import make_names
    from casework.auth import services as auth
    from casework.cases import codes
    from casework.cases.models import Address, Case, CaseAct, Person, new_reference, priority_of
    from casework.extensions import db
    from casework.geo import data as geo
    from casework.models import new_id
    from casework.protect import blind
    from casework.protect.crypto import associated_data, encrypt_value, new_data_key, wrap_data_key
    from casework.protect.fields import BlindIndex
    from casework.protect.ring import current_keys

    rng = random.Random(seed_value)  # noqa: S311 - synthetic data
    keys = current_keys()
    index_version = keys.current_index_version
    now = datetime.now(UTC)
    addresses: list[dict[str, Any]] = []
    for area in geo.provinces():
        for c, commune in enumerate(geo.communes(area.code)[:COMMUNES_PER_PROVINCE]):
            for j in range(ADDRESSES_PER_COMMUNE):
                addresses.append({"id": new_id(), "name": f"ĐCTC tải {area.code}.{c}.{j}", "kind": "household",
                                  "province_code": commune.province_code, "commune_code": commune.code,
                                  "geo_scheme": "2025", "active": True, "created_at": now, "updated_at": now})
    if users > len(addresses):
        raise SystemExit(f"at most {len(addresses)} users (one host per address)")
    step = len(addresses) // users
    host_index = {i * step: n for n, i in enumerate(range(users))}
    accounts: list[dict] = []
    conn = psycopg.connect(_plain(url))
    try:
        _copy(conn, Address.__table__, addresses)
        conn.commit()
        for position, n in sorted(host_index.items(), key=lambda kv: kv[1]):
            address = addresses[position]
            user, secret = auth.create_user(None, auth.NewUser(
                username=f"load_host_{n:03d}", role="host", password=PASSWORD, address_ids=(address["id"],)))
            accounts.append({"username": user.username, "password": PASSWORD, "secret": secret,
                             "address_id": address["id"], "commune_code": address["commune_code"],
                             "province_code": address["province_code"], "samples": []})
        db.session.commit()

        acts = list(codes.ACT_CODES)
        risks = ["low"] * 6 + ["medium"] * 3 + ["high"]
        references: set[str] = set()
        names = make_names(size, seed=seed_value)
        made = 0
        started = time.monotonic()
        while made < size:
            n = min(BATCH, size - made)
            people, case_rows, case_acts, indexes = [], [], [], []
            for k in range(made, made + n):
                position = k % len(addresses)
                address = addresses[position]
                province = address["province_code"]
                person_id, case_id = new_id(), new_id()
                name, phone, birth_year = names[k], f"09{rng.randrange(10**8):08d}", str(rng.randint(1960, 2006))
                dek = new_data_key()
                wrapped, kek_version = wrap_data_key(keys, dek)

                def ct(column: str, value: str, pid=person_id, key=dek) -> bytes:
                    return encrypt_value(key, value.encode(), associated_data("case_person", column, pid, 1))

                people.append({"id": person_id, "province_code": province, "sex": "female", "age_band": "30_44",
                               "ethnicity_code": "01", "home_commune_code": address["commune_code"],
                               "geo_scheme": "2025", "dek_wrapped": wrapped, "kek_version": kek_version,
                               "dek_version": 1, "full_name_ct": ct("full_name_ct", name),
                               "phone_ct": ct("phone_ct", phone), "birth_year_ct": ct("birth_year_ct", birth_year),
                               "created_at": now, "updated_at": now})
                for field, tokens in (("full_name", blind.name_tokens(name)), ("phone", blind.phone_token(phone))):
                    for value in sorted({blind.index_value(keys, "case_person", field, province, t) for t in tokens}):
                        indexes.append({"record_type": "case_person", "record_id": person_id, "field": field,
                                        "province_code": province, "index_version": index_version, "value": value})
                # The case row of bench/cases_list.py.
                status = "closed" if rng.random() < 0.4 else "open"
                risk = rng.choice(risks)
                chosen = sorted(set(rng.sample(acts, rng.randint(1, 3))), key=acts.index)
                forms = codes.forms_of(chosen)
                intake = now - timedelta(minutes=rng.randint(60, 3 * 365 * 24 * 60))
                while (reference := new_reference()) in references:
                    pass
                references.add(reference)
                case_rows.append({
                    "id": case_id, "reference": reference, "address_id": address["id"], "person_id": person_id,
                    "province_code": province, "commune_code": address["commune_code"], "geo_scheme": "2025",
                    "intake_at": intake, "arrival": "came_alone", "children_count": 0, "children_ages": "",
                    "relationship": "spouse", "perpetrator_sex": "male", "perpetrator_age_band": "30_44",
                    **{f"form_{f}": f in forms for f in codes.FORMS}, "first_aid_given": False,
                    **{f"risk_{f}": False for f in codes.RISK_FACTORS}, "risk_judged_high": risk == "high",
                    "risk_level": risk, "risk_assessed_at": intake, "commune_notified_at": intake + timedelta(hours=2),
                    "status": status, "priority": priority_of(status, risk),
                    "closed_at": intake + timedelta(days=30) if status == "closed" else None, "version": 1,
                    "dek_version": 1, "created_at": intake, "updated_at": intake})
                case_acts += [{"case_id": case_id, "code": a, "position": i} for i, a in enumerate(chosen)]
                host = host_index.get(position)
                if host is not None and len(accounts[host]["samples"]) < SAMPLES_PER_HOST:
                    accounts[host]["samples"].append({"name": name, "phone": phone})
            _copy(conn, Person.__table__, people)
            _copy(conn, Case.__table__, case_rows)
            _copy(conn, CaseAct.__table__, case_acts)
            _copy(conn, BlindIndex.__table__, indexes)
            conn.commit()
            made += n
            if made % 100_000 == 0 or made == size:
                print(f"  seeded {made:,} cases in {time.monotonic() - started:.0f} s", flush=True)
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    finally:
        conn.close()
    return {"cases": size, "addresses": len(addresses), "accounts": accounts,
            "cases_per_address": size / len(addresses), "provinces": len({a["province_code"] for a in addresses})}


# --- one run --------------------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen) -> None:
    import http.client

    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def worker_model(threads: int) -> list[str]:
    """gunicorn's options for ``threads`` per worker: its gthread workers when over 1, its sync workers else."""
    return ["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []


def serving(workers: int, threads: int) -> str:
    """How gunicorn serves, in words for a results file: "2 sync workers", "1 gthread worker × 4 threads"."""
    said = f"{workers} {'gthread' if threads > 1 else 'sync'} worker{'s' if workers > 1 else ''}"
    return f"{said} × {threads} threads" if threads > 1 else said


def run_once(state: Path, url: str, env: dict[str, str], plan: dict, users: int, duration: int,
             think: tuple[float, float], seed_value: int, workers: int = 2, threads: int = 1) -> dict:
    from bench.protect import make_names

    port = _free_port()
    before = _count_cases(url)
    rng = random.Random(seed_value)  # noqa: S311 - synthetic data
    run_plan = {"accounts": plan["accounts"][:users], "intake_names": make_names(4000, seed=seed_value),
                "misses": make_names(200, seed=seed_value + 1), "seed": rng.randrange(10**9)}
    plan_file, out_file = state / "run-plan.json", state / "run-result.json"
    plan_file.write_text(json.dumps(run_plan, ensure_ascii=False), encoding="utf-8")
    out_file.unlink(missing_ok=True)
    log = (state / "gunicorn.log").open("ab")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(workers),  # noqa: S603
                               *worker_model(threads),
                               "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                              cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        _wait_for(port, server)
        command = [sys.executable, "-m", "bench._load_locust", "--host", f"http://127.0.0.1:{port}",
                   "--plan", str(plan_file), "--out", str(out_file), "--users", str(users),
                   "--duration", str(duration), "--think", str(think[0]), str(think[1]),
                   "--server-pid", str(server.pid), "--last-step-file", str(state / "last-step")]
        result = subprocess.run(command, cwd=ROOT, check=False, timeout=duration + 600)  # noqa: S603
        if result.returncode or not out_file.exists():
            raise RuntimeError(f"the load generator failed ({result.returncode})")
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    data = json.loads(out_file.read_text(encoding="utf-8"))
    after = _count_cases(url)
    import psycopg

    with psycopg.connect(_plain(url)) as conn:
        row = conn.execute('SELECT count(*) FROM "case" WHERE id = ANY(%s)', (data["created"],)).fetchone()
    found = int(row[0]) if row else 0
    verify = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "audit", "verify"], cwd=ROOT, env=env,  # noqa: S603
                            capture_output=True, text=True, check=False)
    data.update(before=before, after=after, found=found, think=think, duration=duration, users=users,
                workers=workers, threads=threads,
                verify=(verify.returncode, verify.stdout.strip() or verify.stderr.strip()[-300:]))
    return data


# --- report ---------------------------------------------------------------------------------------------


def _row(label: str, samples: list[float], errors: int, duration: float) -> str:
    if not samples:
        return f"| {label} | 0 | — | — | — | {errors} |"
    return (f"| {label} | {len(samples):,} | {len(samples) / duration:.1f} | {statistics.median(samples):.0f} | "
            f"{p95(samples):.0f} | {errors} |")


def _machine() -> str:
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), "")
    return f"{os.cpu_count()} cores ({cpu or platform.processor()}), Linux {platform.release()}"


def _versions(url: str) -> tuple[str, str, str]:
    from importlib.metadata import version  # importing locust here would monkey-patch this process

    import psycopg

    with psycopg.connect(_plain(url)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?", version("gunicorn"), version("locust")


def report(command: str, plan: dict, seeded_now: bool, runs: list[dict], url: str, redis_url: str | None) -> str:
    pg, gunicorn_version, locust_version = _versions(url)
    seconds = plan["seconds"]
    seeding = (f"Seeded by this run in {seconds['fill']:.0f} s (plus {seconds['migrate']:.0f} s for `keys init` "
               f"and `db upgrade`)." if seeded_now else
               f"The database seeded by an earlier run was reused (its seeding took {seconds['fill']:.0f} s, plus "
               f"{seconds['migrate']:.0f} s for `keys init` and `db upgrade`); it also holds the intakes of the "
               "earlier runs.")
    workers = runs[0].get("workers", 2) if runs else 2
    threads = runs[0].get("threads", 1) if runs else 1
    lines = [
        f"# Load: hosts at work on gunicorn ({workers} workers) and PostgreSQL with {plan['cases']:,} cases",
        "",
        f"Command: `{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Machine: {_machine()}, Python {platform.python_version()}, PostgreSQL {pg} (local, 127.0.0.1), "
        f"gunicorn {gunicorn_version} ({serving(workers, threads)}), Locust {locust_version}. **The two cores are "
        "shared** by the load generator, the gunicorn workers and PostgreSQL (and by whatever else ran on the machine: "
        "the CPU line of each run says how the time was spent), so the throughput is what one small machine "
        "does while also generating the load, not what a server would do alone.",
        "",
        f"Data: {plan['cases']:,} cases at {plan['addresses']:,} trusted addresses in {plan['provinces']} provinces "
        f"(about {plan['cases_per_address']:,.0f} per address), each person with her own wrapped data key, "
        "encrypted name, phone and year of birth and blind-index rows; see the docstring of `bench/load.py`. "
        + seeding,
        "",
        "Server settings: `TINCAY_ENVIRONMENT=production`, keys outside the instance folder, "
        + (f"rate limits in Redis (`{redis_url}`)" if redis_url else "in-memory rate limits (no Redis answered)")
        + "; the sign-in limit is raised to 1000 per minute because all users sign in from 127.0.0.1. Every list, "
        "view, search and intake writes its audit event into the inbox, without a lock; each worker's chainer "
        "thread seals them (`TINCAY_AUDIT_CHAINER` left at `thread`).",
        "",
        "Each user is a host of her own address, signed in through the login form with TOTP, then repeats: her "
        "case list (first page, or the next page from her last cursor), the view of a case from her lists, a "
        "search by name or phone (full name, given name alone, phone, or a name not at her address), and an "
        "intake (the form, then the completed form saved), weights 4 : 4 : 2 : 1, with a think time between "
        "actions. Times are measured by the load generator from request to full response (milliseconds); "
        "requests that started in the window after every user had signed in are counted; sign-in is shown "
        "apart and not in the overall line.",
        "",
    ]
    for r in runs:
        samples, errors = r["samples"], r["errors"]
        window = r["window"]
        think = r["think"]
        label = "no think time (saturation)" if think[1] == 0 else f"think time {think[0]:g}–{think[1]:g} s"
        lines += [f"## {r['users']} users, {label}, {window:.0f} s", "",
                  "| request | count | per second | median ms | p95 ms | errors |", "|---|---:|---:|---:|---:|---:|"]
        all_samples: list[float] = []
        all_errors = 0
        for kind in KINDS:
            lines.append(_row(kind, samples.get(kind, []), sum(errors.get(kind, {}).values()), window))
            all_samples += samples.get(kind, [])
            all_errors += sum(errors.get(kind, {}).values())
        lines.append(_row("**overall**", all_samples, all_errors, window))
        lines.append(_row("sign-in (before the window)", r["login"], sum(errors.get("sign-in", {}).values()),
                          r["login_span"] or 1))
        lines.append("")
        detail = "; ".join(f"{k}: {', '.join(f'{s}×{n}' for s, n in v.items())}" for k, v in errors.items() if v)
        cpu = r["cpu"]
        own = cpu["generator"] + cpu["gunicorn"] + cpu["postgres"]
        estimate = (f" At that cost {os.cpu_count()} cores given to this work alone would serve about "
                    f"{(os.cpu_count() or 1) * len(all_samples) / own:.0f} requests per second (an estimate from "
                    "the CPU figures, not a measurement)." if own and all_samples else "")
        expected, new_rows = len(r["created"]), r["after"] - r["before"]
        lines += [
            f"- Errors: {all_errors + sum(errors.get('sign-in', {}).values())}" + (f" ({detail})" if detail else "")
            + ". An error is any answer other than the page (200) or, for a saved intake, the redirect to the "
            "new case (302), and any failed connection.",
            f"- Writes: {expected:,} intakes answered by a redirect to a new case (in and after the window); "
            f"{new_rows:,} new rows in `case` ({r['before']:,} → {r['after']:,}); {r['found']:,} of the returned "
            f"case ids found. {'No write lost.' if expected == new_rows == r['found'] else '**MISMATCH.**'}",
            f"- Audit chain after the run: `flask audit verify` → exit {r['verify'][0]}, `{r['verify'][1]}`.",
            f"- CPU in the window ({window:.0f} s × {os.cpu_count()} cores = {window * (os.cpu_count() or 1):.0f} "
            f"core-seconds): machine busy {cpu['machine_busy']:.0f} %; load generator (Locust, one process) "
            f"{cpu['generator']:.0f} s ({cpu['generator'] / window * 100:.0f} % of one core); gunicorn "
            f"{cpu['gunicorn']:.0f} s; PostgreSQL {cpu['postgres']:.0f} s; the rest (other processes) "
            f"{cpu['other']:.0f} s. Load average at the end {cpu['loadavg']}. Per request of the window: "
            f"gunicorn {cpu['gunicorn'] / max(1, len(all_samples)) * 1000:.0f} ms of CPU, PostgreSQL "
            f"{cpu['postgres'] / max(1, len(all_samples)) * 1000:.0f} ms, the load generator "
            f"{cpu['generator'] / max(1, len(all_samples)) * 1000:.1f} ms." + estimate,
            f"- Sign-in of {len(r['login'])} users took {r['login_span']:.1f} s (argon2id at the production cost).",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=120, help="seconds of measured load per run")
    parser.add_argument("--think", nargs="+", default=["3-10", "0"],
                        help="think time between a user's actions, MIN-MAX seconds, one run per value (0: none)")
    parser.add_argument("--rebuild", action="store_true", help="seed again even if the seeded database is there")
    parser.add_argument("--seed-only", action="store_true", help="seed (or find) the database, then stop")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread workers) when over 1")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    thinks = []
    for value in args.think:
        low, _, high = value.partition("-")
        thinks.append((float(low), float(high or low)))
    try:
        _admin_connect().close()
    except Exception as e:  # noqa: BLE001 - say why and stop: this benchmark is about PostgreSQL
        print(f"PostgreSQL does not answer at {SERVER} ({type(e).__name__}): the load test needs it; not run.")
        return 2
    database = _database(args.cases)
    url = f"{SERVER}/{database}"
    state = TMP / f"load-{database}"
    redis_url = REDIS if _redis_ok(REDIS) else None
    env = app_env(state, url, redis_url)
    plan, seeded_now = data_set_plan(state, url, args.cases, args.users, env, rebuild=args.rebuild)
    if args.seed_only:
        return 0
    runs = []
    for i, think in enumerate(thinks):
        print(f"== run: {args.users} users, think {think}, {args.duration} s", flush=True)
        runs.append(run_once(state, url, env, plan, args.users, args.duration, think, seed_value=100 + i,
                             workers=args.workers, threads=args.threads))
    command = ("python -m bench.load " + " ".join(argv)).strip()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(command, plan, seeded_now, runs, url, redis_url), encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))
    ok = all(len(r["created"]) == r["after"] - r["before"] == r["found"] and r["verify"][0] == 0
             and not any(r["errors"].values()) for r in runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
