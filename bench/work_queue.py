"""Benchmark of the work queue (issue 13): one page of "Việc cần làm" against one page of the case list for
the same user in the same run, as a host, a commune officer and a province officer, at 100,000 and 1,000,000
cases. Writes bench/results/work_queue.md.

    python -m bench.work_queue                           # SQLite, both sizes
    python -m bench.work_queue --sizes 20000             # a quick try
    python -m bench.work_queue --postgres URL            # the same on PostgreSQL (creates and drops the
                                                         # database; writes bench/results/work_queue-postgres.md)

How the data is built (``build``): a fresh database per size (bench/tmp/ for SQLite), migrated with the real
migrations; 1,000 trusted addresses in 200 communes of 10 provinces, cases spread evenly over them (so the
benchmark host's address holds N/1,000 cases, her commune N/200, her province N/10), inserted in batches of
20,000 rows with executemany. People of the benchmark commune get real data keys and AES-GCM ciphertexts (the
lists decrypt their names); everyone else gets one pre-encrypted placeholder (same length, never decrypted:
no measured page shows them). 40 % of the cases are closed. Work the queue must find, on the open cases:
2 % commune notice not sent, 1 % shelter stay running, 0.5 % contact-ban decision pending, 0.2 % granted ban
ending within 24 hours, 1 % closure requested, 0.5 % referral sent and unanswered past its deadline. History
the queue must skip, on every case: 10 % an ended shelter stay, 3 % a decided contact ban, 8 % a completed
referral, 30 % a follow-up. Livelihood: one survivor per 20 cases with one proposal each (5 % draft,
3 % submitted, 1 % under appraisal, 1 % first-approved by the other province officer, 2 % returned, the rest
approved, rejected, disbursing or completed). Not built: consents, timelines, blind-index rows, audit history.

What is measured, interleaved in one loop so that load on the shared machine hits every figure alike:
``GET /cases`` and ``GET /work/`` (whole requests through the Flask test client: sign-in session, menu,
template, audit), ``GET /api/v1/cases`` and ``GET /api/v1/work`` (bearer token), and in process:
``work.work_for(user)`` (the queries of one queue page), ``work.count_for(user)`` (the number in the menu,
which every page renders) and ``cases.services.list_cases(user)`` (the floor: the case-list page's query and
ORM load, nothing else).
"""

from __future__ import annotations

import os
import platform
import random
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import p95, sizes_parser
from bench.cases_list import PASSWORD, STEPS, TMP, _csrf, _expect, _totp

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "work_queue.md"
BATCH = 20_000
ROLES = (("host", "bench_host"), ("commune officer", "bench_officer"), ("province officer", "bench_province"))


def _app(instance: Path, database_url: str | None):
    import logging

    os.environ["TINCAY_INSTANCE_PATH"] = str(instance)
    if database_url:
        os.environ["TINCAY_DATABASE_URL"] = database_url
    else:
        os.environ.pop("TINCAY_DATABASE_URL", None)
    from casework import create_app

    app = create_app({"environment": "development", "RATELIMIT_ENABLED": False})
    logging.getLogger("casework").setLevel(logging.WARNING)  # no request lines in the timings
    return app


def recreate_postgres(url: str) -> None:
    from sqlalchemy import create_engine, make_url, text

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def drop_postgres(url: str) -> None:
    from sqlalchemy import create_engine, make_url, text

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


def build(instance: Path, size: int, database_url: str | None = None, seed: int = 13) -> dict:
    """A migrated database with ``size`` cases and their open work; returns what the measurement needs."""
    from flask_migrate import upgrade

    from casework.protect.keys import init_keys

    if instance.exists():
        shutil.rmtree(instance)
    instance.mkdir(parents=True)
    init_keys(instance / "keys")
    if database_url:
        recreate_postgres(database_url)
    app = _app(instance, database_url)
    with app.app_context():
        upgrade()
        return _fill(size, seed)


def _fill(size: int, seed: int) -> dict:  # noqa: C901, PLR0915 - one linear recipe
    from sqlalchemy import insert

    from casework.auth import services as auth
    from casework.cases import codes
    from casework.cases.models import Address, Case, CaseAct, ContactBan, FollowUp, Person, ShelterStay, priority_of
    from casework.extensions import db
    from casework.geo import data as geo
    from casework.models import new_id
    from casework.protect.crypto import associated_data, encrypt_value, new_data_key, wrap_data_key
    from casework.protect.ring import current_keys
    from livelihood.models import PROPOSAL_KINDS, Proposal, Survivor
    from referral.models import Organisation, Referral

    rng = random.Random(seed)  # noqa: S311 - synthetic data
    keys = current_keys()
    provinces = [p.code for p in geo.provinces()][:10]
    communes = [c for p in provinces for c in geo.communes(p)[:20]]
    now = datetime.now(UTC)
    stamp = {"created_at": now, "updated_at": now}
    addresses = []
    for i, commune in enumerate(communes):
        for j in range(5):
            addresses.append({"id": new_id(), "name": f"ĐCTC bench {i}.{j}", "kind": "household",
                              "province_code": commune.province_code, "commune_code": commune.code,
                              "geo_scheme": "2025", "active": True, **stamp})
    db.session.execute(insert(Address.__table__), addresses)
    organisations = [{"id": new_id(), "name": f"Bench organisation {p}", "kind": "health_station", "province_code": p,
                      "contact": "", "active": True, **stamp} for p in provinces]
    db.session.execute(insert(Organisation.__table__), organisations)
    org_of = {o["province_code"]: o["id"] for o in organisations}
    db.session.commit()
    home = addresses[0]
    secrets_: dict[str, str] = {}
    users: dict[str, str] = {}
    for username, role, scope, address_ids in (
            ("bench_host", "host", None, (home["id"],)),
            ("bench_officer", "commune_officer", home["commune_code"], ()),
            ("bench_province", "province_officer", home["province_code"], ()),
            ("bench_province2", "province_officer", home["province_code"], ())):
        user, secret = auth.create_user(None, auth.NewUser(username=username, role=role, password=PASSWORD,
                                                           scope=scope, address_ids=address_ids))
        db.session.flush()
        secrets_[username], users[username] = secret, user.id
    db.session.commit()

    # One placeholder for everyone the measured pages never decrypt: a wrapped key and ciphertexts of the
    # same length as real ones (the cost of reading the rows is the same; only the encryption is saved).
    placeholder_dek = new_data_key()
    placeholder_wrapped, kek_version = wrap_data_key(keys, placeholder_dek)
    placeholder = {c: encrypt_value(placeholder_dek, v.encode(), associated_data("case_person", c, "x", 1))
                   for c, v in (("full_name_ct", "Bench Thị 0000000"), ("phone_ct", "0900000000"),
                                ("birth_year_ct", "1990"))}

    acts = list(codes.ACT_CODES)
    risks = ["low"] * 6 + ["medium"] * 3 + ["high"]
    planted = dict.fromkeys(("no_notice", "shelter_running", "ban_pending", "ban_ending", "closure_requested",
                             "referral_late", "shelter_ended", "ban_decided", "referral_completed", "follow_up",
                             "encrypted_people"), 0)
    started = time.monotonic()
    made = 0
    while made < size:
        n = min(BATCH, size - made)
        rows: dict[str, list[dict]] = {k: [] for k in ("people", "cases", "acts", "stays", "bans", "refs", "fups")}
        for k in range(n):
            number = made + k
            address = addresses[number % len(addresses)]
            person_id, case_id = new_id(), new_id()
            if address["commune_code"] == home["commune_code"]:
                dek = new_data_key()
                wrapped, _v = wrap_data_key(keys, dek)

                def ct(column: str, value: str, pid=person_id, key=dek) -> bytes:
                    return encrypt_value(key, value.encode(), associated_data("case_person", column, pid, 1))

                secret = {"full_name_ct": ct("full_name_ct", f"Bench Thị {number:07d}"),
                          "phone_ct": ct("phone_ct", f"09{number:08d}"), "birth_year_ct": ct("birth_year_ct", "1990")}
                planted["encrypted_people"] += 1
            else:
                wrapped, secret = placeholder_wrapped, placeholder
            rows["people"].append({"id": person_id, "province_code": address["province_code"], "sex": "female",
                                   "age_band": "30_44", "ethnicity_code": "01",
                                   "home_commune_code": address["commune_code"], "geo_scheme": "2025",
                                   "dek_wrapped": wrapped, "kek_version": kek_version, "dek_version": 1,
                                   **secret, **stamp})
            intake = now - timedelta(minutes=rng.randint(60, 3 * 365 * 24 * 60))
            status = "closed" if rng.random() < 0.4 else "open"
            notified: datetime | None = intake + timedelta(hours=2)
            closure_at = None
            draw = rng.random() if status == "open" else 1.0
            if draw < 0.02:
                notified = None
                planted["no_notice"] += 1
            elif draw < 0.03:
                rows["stays"].append({"id": new_id(), "case_id": case_id, "end_on": None,
                                      "start_on": (now - timedelta(days=rng.randint(0, 20))).date()})
                planted["shelter_running"] += 1
            elif draw < 0.035:
                asked = now - timedelta(hours=rng.randint(0, 30))
                rows["bans"].append({"id": new_id(), "case_id": case_id, "requested_at": asked,
                                     "decision_due_at": asked + timedelta(hours=12), "decision": None,
                                     "decided_at": None, "valid_from": None, "valid_until": None})
                planted["ban_pending"] += 1
            elif draw < 0.037:
                asked = now - timedelta(days=2, hours=rng.randint(0, 20))
                rows["bans"].append({"id": new_id(), "case_id": case_id, "requested_at": asked,
                                     "decision_due_at": asked + timedelta(hours=12), "decision": "granted",
                                     "decided_at": asked + timedelta(hours=3), "valid_from": asked + timedelta(hours=3),
                                     "valid_until": now + timedelta(hours=rng.randint(1, 23))})
                planted["ban_ending"] += 1
            elif draw < 0.047:
                status = "closure_requested"
                closure_at = now - timedelta(hours=rng.randint(1, 100))
                planted["closure_requested"] += 1
            elif draw < 0.052:
                sent = now - timedelta(days=rng.randint(2, 30))
                rows["refs"].append({"case_id": case_id, "address": address, "state": "sent", "open_rank": 2,
                                     "sent_at": sent, "ack_due_at": sent + timedelta(hours=24), "completed_at": None})
                planted["referral_late"] += 1
            # History that the queue must not show.
            if rng.random() < 0.10:
                start = intake.date() + timedelta(days=1)
                rows["stays"].append({"id": new_id(), "case_id": case_id, "start_on": start,
                                      "end_on": start + timedelta(days=rng.randint(1, 7))})
                planted["shelter_ended"] += 1
            if rng.random() < 0.03:
                asked = intake + timedelta(hours=5)
                granted = rng.random() < 0.8
                rows["bans"].append({"id": new_id(), "case_id": case_id, "requested_at": asked,
                                     "decision_due_at": asked + timedelta(hours=12),
                                     "decision": "granted" if granted else "refused",
                                     "decided_at": asked + timedelta(hours=4),
                                     "valid_from": asked + timedelta(hours=4) if granted else None,
                                     "valid_until": asked + timedelta(days=3) if granted else None})
                planted["ban_decided"] += 1
            if rng.random() < 0.08:
                sent = intake + timedelta(days=1)
                rows["refs"].append({"case_id": case_id, "address": address, "state": "completed", "open_rank": 9,
                                     "sent_at": sent, "ack_due_at": sent + timedelta(hours=24),
                                     "completed_at": sent + timedelta(days=5)})
                planted["referral_completed"] += 1
            if rng.random() < 0.30:
                rows["fups"].append({"id": new_id(), "case_id": case_id, "on": (intake + timedelta(days=7)).date(),
                                     "kind": "visit", "situation": "safe", "violence_recurred": False,
                                     "dek_version": 1, **stamp})
                planted["follow_up"] += 1
            risk = rng.choice(risks)
            chosen = sorted(set(rng.sample(acts, rng.randint(1, 3))), key=acts.index)
            forms = codes.forms_of(chosen)
            rows["cases"].append({
                "id": case_id, "reference": f"VV-{number:08X}", "address_id": address["id"], "person_id": person_id,
                "province_code": address["province_code"], "commune_code": address["commune_code"],
                "geo_scheme": "2025", "intake_at": intake, "arrival": "came_alone", "children_count": 0,
                "children_ages": "", "relationship": "spouse", "perpetrator_sex": "male",
                "perpetrator_age_band": "30_44", **{f"form_{f}": f in forms for f in codes.FORMS},
                "first_aid_given": False, **{f"risk_{f}": False for f in codes.RISK_FACTORS},
                "risk_judged_high": risk == "high", "risk_level": risk, "risk_assessed_at": intake,
                "commune_notified_at": notified, "status": status, "priority": priority_of(status, risk),
                "closure_reason": "safe_reintegrated" if closure_at else None, "closure_requested_at": closure_at,
                "closed_at": intake + timedelta(days=30) if status == "closed" else None, "version": 1,
                "dek_version": 1, "created_at": intake, "updated_at": intake})
            rows["acts"] += [{"case_id": case_id, "code": a, "position": i} for i, a in enumerate(chosen)]
        db.session.execute(insert(Person.__table__), rows["people"])
        db.session.execute(insert(Case.__table__), rows["cases"])
        db.session.execute(insert(CaseAct.__table__), rows["acts"])
        # Stays and bans carry their case's place, as the model's insert listener writes it.
        place = {c["id"]: {"address_id": c["address_id"], "commune_code": c["commune_code"]} for c in rows["cases"]}
        if rows["stays"]:
            db.session.execute(insert(ShelterStay.__table__), [
                {**s, "essentials": ["food", "water"], **place[s["case_id"]], **stamp} for s in rows["stays"]])
        if rows["bans"]:
            db.session.execute(insert(ContactBan.__table__), [
                {**b, "kind": "commune", "origin": "request", "requester": "victim", "victim_consented": True,
                 "life_threatened": False, "court_name": "", "decision_ref": "", "dek_version": 1,
                 **place[b["case_id"]], **stamp}
                for b in rows["bans"]])
        if rows["refs"]:
            db.session.execute(insert(Referral.__table__), [
                {"id": new_id(), "reference": f"CG-{made:06X}{i:04X}", "case_id": r["case_id"],
                 "organisation_id": org_of[r["address"]["province_code"]], "service": "health", "urgency": "normal",
                 "province_code": r["address"]["province_code"], "commune_code": r["address"]["commune_code"],
                 "state": r["state"], "open_rank": r["open_rank"], "shared_fields": [], "sent_at": r["sent_at"],
                 "sent_by_id": users["bench_host"], "ack_due_at": r["ack_due_at"],
                 "accepted_at": r["sent_at"] + timedelta(hours=2) if r["completed_at"] else None,
                 "completed_at": r["completed_at"], "override": False, "dek_version": 1, **stamp}
                for i, r in enumerate(rows["refs"])])
        if rows["fups"]:
            db.session.execute(insert(FollowUp.__table__), rows["fups"])
        db.session.commit()
        made += n
        print(f"  built {made:,} cases in {time.monotonic() - started:.0f} s", flush=True)
    cases_seconds = time.monotonic() - started

    # Livelihood: one survivor per 20 cases, one proposal each.
    states = ([("draft", None)] * 5 + [("submitted", None)] * 3 + [("under_appraisal", None)]
              + [("under_appraisal", "other")] + [("returned", None)] * 2 + [("approved", None)] * 10
              + [("rejected", None)] * 8 + [("disbursing", None)] * 20 + [("completed", None)] * 50)
    survivors_n = max(size // 20, 1)
    proposal_states: dict[str, int] = {}
    made_s = 0
    while made_s < survivors_n:
        n = min(BATCH, survivors_n - made_s)
        survivors, proposals = [], []
        for k in range(n):
            number = made_s + k
            commune = communes[number % len(communes)]
            sid = new_id()
            survivors.append({"id": sid, "code": f"ST-{number:08X}", "province_code": commune.province_code,
                              "commune_code": commune.code, "geo_scheme": "2025", "age_band": "30_44",
                              "sex": "female", "status": "identified", "consent_record": True,
                              "consent_statistics": True, "consent_given_by": "self", "consent_at": now,
                              "registered_on": now.date(), "registered_by_id": users["bench_officer"],
                              "dek_version": 1, **stamp})
            state, first = rng.choice(states)
            proposal_states[state if not first else "first_approved"] = \
                proposal_states.get(state if not first else "first_approved", 0) + 1
            approved = 10_000_000 if state in ("approved", "disbursing", "completed") else None
            committed = approved if state in ("disbursing", "completed") else 0
            proposals.append({
                "id": new_id(), "survivor_id": sid, "province_code": commune.province_code,
                "commune_code": commune.code, "kind": rng.choice(PROPOSAL_KINDS), "state": state,
                "state_changed_at": now - timedelta(hours=rng.randint(1, 24 * 400)), "total_vnd": 10_000_000,
                "co_contribution_vnd": 0, "requested_vnd": 10_000_000, "approved_amount_vnd": approved,
                "committed_vnd": committed or 0, "disbursed_vnd": committed if state == "completed" else 0,
                "pending_disbursement_vnd": 0, "drafted_by_id": users["bench_officer"],
                "last_edited_by_id": users["bench_officer"],
                "first_approved_by_id": users["bench_province2"] if first else None,
                "first_approved_amount_vnd": 10_000_000 if first else None, "dek_version": 1, **stamp})
        db.session.execute(insert(Survivor.__table__), survivors)
        db.session.execute(insert(Proposal.__table__), proposals)
        db.session.commit()
        made_s += n
    db.session.execute(db.text("ANALYZE"))
    db.session.commit()
    return {"secrets": secrets_, "users": users, "planted": planted, "proposals": proposal_states,
            "survivors": survivors_n, "build_seconds": time.monotonic() - started, "cases_seconds": cases_seconds,
            "host_cases": size // len(addresses), "commune_cases": size * 5 // len(addresses),
            "province_cases": size // len(provinces)}


# --- measuring ------------------------------------------------------------------------------------------


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def measure(instance: Path, info: dict, requests: int, database_url: str | None) -> dict:
    from sqlalchemy import select

    from casework import work
    from casework.auth.models import User
    from casework.auth.services import issue_api_token
    from casework.cases import services as case_services
    from casework.extensions import db

    app = _app(instance, database_url)
    out: dict = {}
    for who, username in ROLES:
        client = app.test_client()
        token = _csrf(client.get("/login").text)
        r = client.post("/login", data={"username": username, "password": PASSWORD,
                                        "totp": _totp(info["secrets"][username], STEPS), "csrf_token": token})
        _expect(r.status_code, 302, f"login {username}")
        with app.app_context():
            bearer, _expires = issue_api_token(db.session.scalar(select(User).where(User.username == username)))
            db.session.commit()
        api = {"Authorization": f"Bearer {bearer}"}
        uid = info["users"][username]
        found: dict[str, int] = {}

        def in_process(fn, uid=uid):
            with app.app_context():
                user = db.session.get(User, uid)
                t0 = time.perf_counter()
                result = fn(user)
                elapsed = time.perf_counter() - t0
                db.session.rollback()
                return elapsed, result

        steps = {
            "case list page": lambda client=client: client.get("/cases"),
            "queue page": lambda client=client: client.get("/work/"),
            "API case list": lambda api=api, client=client: client.get("/api/v1/cases", headers=api),
            "API queue": lambda api=api, client=client: client.get("/api/v1/work", headers=api),
        }
        fns = {
            "case-list query (floor)": lambda user: len(case_services.list_cases(user).items),
            "queue queries": lambda user: len(work.work_for(user).items),
            "menu count": lambda user: work.count_for(user),
        }
        timings: dict[str, list[float]] = {k: [] for k in [*steps, *fns]}
        for _ in range(requests):
            for label, step in steps.items():
                t0 = time.perf_counter()
                response = step()
                timings[label].append(time.perf_counter() - t0)
                _expect(response.status_code, 200, f"{who}: {label}")
            for label, fn in fns.items():
                elapsed, result = in_process(fn)
                timings[label].append(elapsed)
                found[label] = result
        out[who] = {"timings": {k: (_median(v), p95(v)) for k, v in timings.items()}, "found": found,
                    "load": os.getloadavg()}
    return out


# --- report ---------------------------------------------------------------------------------------------


def _machine(engine: str) -> str:
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), "")
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {engine}, "
            f"Linux {platform.release()}")


def report(results: list[dict], command: str, requests: int, engine: str) -> str:
    lines = [
        f"# Work queue against the case list (issue 13), {engine.split(' ')[0]}",
        "",
        f"Command: `{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"Machine: {_machine(engine)}. Other helpers' test runs shared the 2 cores: the load average (1, 5, 15 "
        "min, `os.getloadavg`) is given beside each table; absolute times are noisy, the ratios measured in "
        "the same interleaved loop are the figures to compare.",
        "",
        f"Data: see the docstring of `bench/work_queue.py`. Each figure is the median over {requests} rounds; "
        "one round runs every row of the table once for the same user, one after the other. \"Queue ÷ list\" "
        "divides by the matching case-list figure of the same round set (page by page, API by API, in-process "
        "queries by the case-list query).",
        "",
    ]
    for r in results:
        info = r["info"]
        lines += [f"## {r['size']:,} cases", "",
                  f"Built in {info['build_seconds']:.0f} s ({info['cases_seconds']:.0f} s for the cases and "
                  f"everything hanging on them, the rest for {info['survivors']:,} survivors and their proposals). "
                  f"The host's address holds {info['host_cases']:,} cases, her commune {info['commune_cases']:,}, "
                  f"her province {info['province_cases']:,}.", "",
                  "Open work planted (all of the database): " + ", ".join(f"{k} {v:,}" for k, v in
                                                                          info["planted"].items()) + ".",
                  "Proposals by state: " + ", ".join(f"{k} {v:,}" for k, v in sorted(info["proposals"].items())) + ".",
                  ""]
        for who, _username in ROLES:
            data = r["measured"][who]
            t = data["timings"]
            load = ", ".join(f"{x:.2f}" for x in data["load"])
            lines += [f"### {who} (load average after the run: {load}; queue page shows "
                      f"{data['found']['queue queries']} items, menu count "
                      f"{data['found']['menu count']})", "",
                      "| measured | median ms | p95 ms | queue ÷ list |", "|---|---:|---:|---:|"]
            pairs = {"queue page": "case list page", "API queue": "API case list",
                     "queue queries": "case-list query (floor)", "menu count": "case-list query (floor)"}
            for label in ("case list page", "queue page", "API case list", "API queue", "case-list query (floor)",
                          "queue queries", "menu count"):
                median, p95 = t[label]
                ratio = f"{median / t[pairs[label]][0]:.2f}" if label in pairs else ""
                lines.append(f"| {label} | {median * 1000:.2f} | {p95 * 1000:.2f} | {ratio} |")
            lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = sizes_parser(__doc__, requests=50)
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL URL of a database to create and drop")
    parser.add_argument("--keep", action="store_true", help="keep the last database")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="measure a database kept by --keep (same size)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    engine = "PostgreSQL" if args.postgres else f"SQLite {__import__('sqlite3').sqlite_version}"
    if args.postgres:
        from sqlalchemy import create_engine, text

        eng = create_engine(args.postgres.rsplit("/", 1)[0] + "/postgres")
        with eng.connect() as conn:
            engine = f"PostgreSQL {conn.execute(text('SHOW server_version')).scalar()}"
        eng.dispose()
    out = args.out or (RESULTS if not args.postgres else RESULTS.with_name("work_queue-postgres.md"))
    results = []
    for size in args.sizes:
        instance = TMP / f"work-{size}"
        info_file = instance / "bench-info.json"
        if args.reuse:
            import json

            info = json.loads(info_file.read_text())
        else:
            print(f"== {size:,} cases: building ({engine})", flush=True)
            info = build(instance, size, args.postgres)
            import json

            info_file.write_text(json.dumps(info))
            print(f"   built in {info['build_seconds']:.0f} s", flush=True)
        if args.build_only:
            continue
        print(f"== {size:,} cases: measuring", flush=True)
        measured = measure(instance, info, args.requests, args.postgres)
        results.append({"size": size, "info": info, "measured": measured})
        if not args.keep:
            shutil.rmtree(instance, ignore_errors=True)
            if args.postgres:
                drop_postgres(args.postgres)
        # Written after each size, so a run stopped at 1,000,000 keeps what it measured.
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report(results, ("python -m bench.work_queue " + " ".join(argv)).strip(), args.requests,
                              engine), encoding="utf-8")
    if results:
        print(out.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
