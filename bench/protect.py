"""Benchmark of the protected-data core (issue 3): field encryption, record creation, blind-index search
and audit verification. Writes bench/results/protect.md.

    python -m bench.protect                 # SQLite in a temporary folder; about 8 minutes on 2 cores
    python -m bench.protect --quick         # 10,000 / 50,000 persons, to try the script
    python -m bench.protect --postgres URL  # instead: search at 100,000 and audit at 1,000,000 on PostgreSQL

How the data is built: persons of the search benchmark are inserted with executemany, with data keys,
ciphertexts and blind-index values computed by the same functions the ORM uses
(``crypto.wrap_data_key``/``encrypt_value``, ``blind.index_value``) but without the ORM, which would take
far longer than the 10-minute budget at 1,000,000 persons; the audit chain of 1,000,000 events is
likewise computed with ``audit.compute_mac`` and bulk-inserted. Record creation is measured through the
ORM and the audit writer, one commit per record, as a request does.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Boolean, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casework.extensions import NAMING_CONVENTION, db
from casework.models import IdMixin
from casework.protect.fields import Protected, ProtectedMixin

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "protect.md"

SURNAMES = [("Nguyễn", 380), ("Trần", 110), ("Lê", 95), ("Phạm", 70), ("Hoàng", 51), ("Huỳnh", 50), ("Phan", 45),
            ("Vũ", 39), ("Võ", 30), ("Đặng", 21), ("Bùi", 20), ("Đỗ", 14), ("Hồ", 13), ("Ngô", 13), ("Dương", 10),
            ("Lý", 5), ("Lò", 4), ("Vàng", 4), ("Giàng", 3), ("Hà", 6), ("Sùng", 2), ("Lường", 2), ("Đinh", 8),
            ("Trương", 7), ("Cao", 5), ("Mai", 4), ("Lương", 5), ("Tạ", 3), ("Quách", 2), ("Thào", 2)]
MIDDLES = [("Thị", 85), ("Ngọc", 4), ("Thu", 3), ("Hồng", 2), ("Kim", 2), ("Mỹ", 2), ("Thanh", 2)]
GIVEN = ("Lan Hoa Hương Mai Hạnh Hằng Hà Hiền Huyền Linh Loan Ly Nga Ngân Nhung Oanh Phương Quyên Quỳnh Sen "
         "Thảo Thắm Thoa Thơm Thu Thủy Thúy Trang Trinh Tuyết Uyên Vân Xuân Yến Dung Duyên Giang Hậu Hồng "
         "Huệ Khánh Liên Liễu Lụa Mận Mây Minh My Nguyệt Nhàn Nhi Nương Phượng Quế Sim Tâm Thanh Thêu Thìn "
         "Thương Tình Trâm Tú Vi Xuyến Dợ Mỷ Chúa Pà Sua Dính Súa Mai Bích Châu Diệp Đào Gấm Hảo Hiên Hoài "
         "Hợi Lài Lệ Lý Nụ Nhụy Quyên Son Thẩm Thư Tươi Vui").split()


def _weighted(pairs):
    words = [w for w, n in pairs for _ in range(n)]
    return lambda rng: rng.choice(words)


def make_names(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    surname, middle = _weighted(SURNAMES), _weighted(MIDDLES)
    return [f"{surname(rng)} {middle(rng)} {rng.choice(GIVEN)}" for _ in range(n)]


def check(condition: bool, message: str) -> None:
    if not condition:
        raise RuntimeError(message)


def timed(fn, repeat: int) -> float:
    """Seconds per call, best of three runs of ``repeat`` calls."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


class BenchBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class BenchPerson(ProtectedMixin, IdMixin, BenchBase):
    """A case-like person: four protected fields, two of them searchable."""

    __tablename__ = "bench_person"
    province_code: Mapped[str] = mapped_column(String(2), nullable=False, index=True)
    sex: Mapped[str] = mapped_column(String(8), nullable=False, default="female")
    full_name = Protected(index="name")
    phone = Protected(index="phone")
    birth_date = Protected()
    narrative = Protected()


class ClearPerson(IdMixin, BenchBase):
    """The same record in clear columns: the baseline without encryption."""

    __tablename__ = "bench_person_clear"
    province_code: Mapped[str] = mapped_column(String(2), nullable=False)
    sex: Mapped[str] = mapped_column(String(8), nullable=False, default="female")
    full_name: Mapped[str] = mapped_column(String(200), nullable=False)
    name_folded: Mapped[str] = mapped_column(String(200), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(20))
    birth_date: Mapped[str | None] = mapped_column(String(10))
    narrative: Mapped[str | None] = mapped_column(Text)
    flag: Mapped[bool] = mapped_column(Boolean, default=False)
    n: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (db.Index("ix_bench_clear_name", "province_code", "name_folded"),
                      db.Index("ix_bench_clear_phone", "province_code", "phone"))


class Bench:
    def __init__(self, url: str, tmp: Path):
        os.environ["TINCAY_INSTANCE_PATH"] = str(tmp)
        from flask_migrate import upgrade

        from casework import create_app
        from casework.protect.keys import init_keys

        keys = tmp / "keys"
        if not keys.exists():
            init_keys(keys)
        self.app = create_app({"environment": "testing", "database_url": url, "keys_dir": str(keys),
                               "checkpoint_dir": str(tmp / "checkpoints"), "attachments_dir": str(tmp / "att")})
        self.ctx = self.app.app_context()
        self.ctx.push()
        upgrade()

        self.db, self.Base, self.Person, self.Clear = db, BenchBase, BenchPerson, ClearPerson
        BenchBase.metadata.drop_all(db.engine)
        BenchBase.metadata.create_all(db.engine)

    def close(self) -> None:
        self.db.session.remove()
        self.Base.metadata.drop_all(self.db.engine)
        self.db.engine.dispose()
        self.ctx.pop()

    def empty(self) -> None:
        from casework.protect.audit import AuditAnchor, AuditChainHead, AuditEvent
        from casework.protect.fields import BlindIndex

        db = self.db
        db.session.remove()
        tables = (self.Person.__table__, self.Clear.__table__, BlindIndex.__table__, AuditEvent.__table__,
                  AuditChainHead.__table__, AuditAnchor.__table__)
        if db.engine.dialect.name == "sqlite":
            for t in tables:
                db.session.execute(t.delete())
            db.session.commit()
            db.session.execute(db.text("VACUUM"))
        else:  # TRUNCATE: the append-only trigger refuses DELETE of audit events (the app role may not either)
            db.session.execute(db.text("TRUNCATE " + ", ".join(t.name for t in tables)))
            db.session.commit()


# --- 1. per field --------------------------------------------------------------------------------


def bench_fields(b: Bench) -> list[tuple[str, float]]:
    from casework.protect import blind, crypto
    from casework.protect.ring import current_keys
    from casework.text import nfc

    # Bound once here, so that the timed lambdas call the functions and look nothing up.
    associated_data, decrypt_value, encrypt_value = crypto.associated_data, crypto.decrypt_value, crypto.encrypt_value
    new_data_key, unwrap_data_key, wrap_data_key = crypto.new_data_key, crypto.unwrap_data_key, crypto.wrap_data_key

    keys = current_keys()
    dek = new_data_key()
    name = "Nguyễn Thị Xuyến".encode()
    narrative = ("Chị bị chồng đánh nhiều lần, bỏ chạy sang nhà hàng xóm lúc nửa đêm. " * 15).encode()[:1000]
    aad = associated_data("bench_person", "full_name_ct", "AbCdEfGhIjKlMnOpQrStUv", 1)
    ct_name, ct_long = encrypt_value(dek, name, aad), encrypt_value(dek, narrative, aad)
    wrapped, version = wrap_data_key(keys, dek)
    person = b.Person(province_code="01")
    person.full_name = "Nguyễn Thị Xuyến"

    def descriptor_get():
        person.__dict__.pop("_plain", None)
        return person.full_name

    rows = [
        ("encrypt a name (AES-256-GCM, 21 bytes)", timed(lambda: encrypt_value(dek, name, aad), 20000)),
        ("decrypt a name", timed(lambda: decrypt_value(dek, ct_name, aad, "x"), 20000)),
        ("encrypt a 1,000-byte narrative", timed(lambda: encrypt_value(dek, narrative, aad), 20000)),
        ("decrypt a 1,000-byte narrative", timed(lambda: decrypt_value(dek, ct_long, aad, "x"), 20000)),
        ("build the associated data", timed(lambda: associated_data("bench_person", "full_name_ct", "x" * 22, 1),
                                           20000)),
        ("unwrap a record's data key (AES key wrap)", timed(lambda: unwrap_data_key(keys, wrapped, version, "x"),
                                                            20000)),
        ("set a protected attribute (NFC + AAD + encrypt)", timed(
            lambda: setattr(person, "narrative", "Chị bị chồng đánh"), 5000)),
        ("read a protected attribute (AAD + decrypt, key cached)", timed(descriptor_get, 5000)),
        ("one blind-index value (HKDF cached + HMAC + truncation)", timed(
            lambda: blind.index_value(keys, "bench_person", "full_name", "01", "xuyen"), 20000)),
        ("NFC normalisation of a name", timed(lambda: nfc("Nguyễn Thị Xuyến"), 20000)),
    ]
    b.db.session.expunge_all()
    return rows


# --- 2. record creation --------------------------------------------------------------------------


def bench_creation(b: Bench, n: int) -> dict[str, float]:
    from casework.protect import audit
    from casework.text import fold

    db = b.db
    names = make_names(n, seed=11)
    rng = random.Random(3)
    story = "Chị bị chồng đánh nhiều lần, bỏ chạy sang nhà hàng xóm lúc nửa đêm. " * 4

    def clear(i: int) -> None:
        db.session.add(b.Clear(province_code="01", full_name=names[i], name_folded=fold(names[i]),
                               phone=f"09{rng.randrange(10**8):08d}", birth_date="1990-05-01", narrative=story))
        db.session.commit()

    def protected(i: int, with_audit: bool) -> None:
        p = b.Person(province_code="01")
        p.full_name = names[i]
        p.phone = f"09{rng.randrange(10**8):08d}"
        p.birth_date = "1990-05-01"
        p.narrative = story
        db.session.add(p)
        if with_audit:
            audit.record("case_create", object_type="case", object_id=p.id, fields=["full_name", "phone"])
        db.session.commit()

    # The three variants take turns in rounds of 100 records, so that a burst of load from other processes
    # hits all of them alike; the figure is the median round.
    variants = (("clear columns, no audit", clear),
                ("encrypted + blind indexes, no audit", lambda i: protected(i, False)),
                ("encrypted + blind indexes + audit event", lambda i: protected(i, True)))
    rounds: dict[str, list[float]] = {label: [] for label, _fn in variants}
    b.empty()
    size = 100
    for start in range(0, n, size):
        for label, fn in variants:
            began = time.perf_counter()
            for i in range(start, min(n, start + size)):
                fn(i)
            rounds[label].append((time.perf_counter() - began) / size)
            db.session.expunge_all()
    b.empty()
    return {label: statistics.median(times) for label, times in rounds.items()}


# --- 3. search -----------------------------------------------------------------------------------


def build_persons(b: Bench, n: int, provinces: list[str], seed: int) -> list[tuple[str, str, str, str]]:
    """Insert n protected persons and their clear twins; returns (id, province, name, phone) of each."""
    from casework.models import new_id
    from casework.protect import blind
    from casework.protect.crypto import associated_data, encrypt_value, new_data_key, wrap_data_key
    from casework.protect.fields import BlindIndex
    from casework.protect.ring import current_keys
    from casework.text import fold

    db = b.db
    keys = current_keys()
    index_version = keys.current_index_version
    rng = random.Random(seed)
    names = make_names(n, seed=seed)
    people = []
    person_t, clear_t, index_t = b.Person.__table__, b.Clear.__table__, BlindIndex.__table__
    chunk = 20000
    for start in range(0, n, chunk):
        persons, clears, indexes = [], [], []
        for i in range(start, min(n, start + chunk)):
            pid = new_id()
            province = provinces[i % len(provinces)]
            name = names[i]
            phone = f"09{rng.randrange(10**8):08d}"
            dek = new_data_key()
            wrapped, kek_version = wrap_data_key(keys, dek)
            persons.append({
                "id": pid, "province_code": province, "sex": "female", "dek_wrapped": wrapped,
                "kek_version": kek_version, "dek_version": 1,
                "full_name_ct": encrypt_value(dek, name.encode(),
                                              associated_data("bench_person", "full_name_ct", pid, 1)),
                "phone_ct": encrypt_value(dek, phone.encode(), associated_data("bench_person", "phone_ct", pid, 1)),
                "birth_date_ct": None, "narrative_ct": None})
            clears.append({"id": pid, "province_code": province, "sex": "female", "full_name": name,
                           "name_folded": fold(name), "phone": phone, "flag": False, "n": 0})
            for field, tokens in (("full_name", blind.name_tokens(name)), ("phone", blind.phone_token(phone))):
                for value in sorted({blind.index_value(keys, "bench_person", field, province, t) for t in tokens}):
                    indexes.append({"record_type": "bench_person", "record_id": pid, "field": field,
                                    "province_code": province, "index_version": index_version, "value": value})
            people.append((pid, province, name, phone))
        db.session.execute(person_t.insert(), persons)
        db.session.execute(clear_t.insert(), clears)
        db.session.execute(index_t.insert(), indexes)
        db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    return people


def decrypt_every_row(b: Bench, province: str | None, wanted: str, limit: int | None = None) -> tuple[int, int]:
    """The search without a blind index: decrypt each name of the province (or of everyone) and compare."""
    from sqlalchemy import select

    from casework.protect import blind
    from casework.protect.crypto import associated_data, decrypt_value, unwrap_data_key
    from casework.protect.ring import current_keys

    keys = current_keys()
    t = b.Person.__table__
    q = select(t.c.id, t.c.dek_wrapped, t.c.kek_version, t.c.dek_version, t.c.full_name_ct)
    if province:
        q = q.where(t.c.province_code == province)
    if limit:
        q = q.limit(limit)
    seen = found = 0
    for row in b.db.session.execute(q).yield_per(5000):
        dek = unwrap_data_key(keys, row.dek_wrapped, row.kek_version, "x")
        name = decrypt_value(dek, row.full_name_ct, associated_data("bench_person", "full_name_ct", row.id,
                                                                    row.dek_version), "x").decode()
        seen += 1
        found += blind.matches("name", name, wanted)
    return seen, found


def bench_search(b: Bench, n: int, provinces: list[str], queries: int, national_sample: int | None,
                 analyze: bool = False) -> dict:
    from sqlalchemy import select

    from casework.protect.fields import candidate_ids, search
    from casework.text import fold

    db = b.db
    b.empty()
    started = time.perf_counter()
    people = build_persons(b, n, provinces, seed=n)
    built = time.perf_counter() - started
    rng = random.Random(5)
    sample = rng.sample(people, queries)
    Person, Clear = b.Person, b.Clear
    out: dict = {"n": n, "build_s": built, "per_province": n // len(provinces)}

    def blind_search(field: str, query: str, pid: str, province: str) -> tuple[float, int]:
        scoped = select(Person).where(Person.province_code == province)
        start = time.perf_counter()
        found = search(Person, field, query, scoped, [province], limit=n)
        elapsed = time.perf_counter() - start
        check(pid in {p.id for p in found}, "the blind index lost a person")
        db.session.expunge_all()  # no decrypted value cached between searches
        candidates = len(db.session.execute(scoped.with_only_columns(Person.id).where(
            Person.id.in_(candidate_ids(Person, field, query, [province])))).all())
        return elapsed, candidates

    def clear_lookup(column, value: str, pid: str, province: str) -> float:
        start = time.perf_counter()
        rows = db.session.execute(select(Clear.id).where(Clear.province_code == province, column == value)).all()
        elapsed = time.perf_counter() - start
        check(pid in {r.id for r in rows}, "the clear lookup lost a person")
        return elapsed

    # Every kind of search runs for each sampled person in turn, so that load from other processes hits
    # all of them alike; times are medians, candidate counts means.
    times: dict[str, list[float]] = {k: [] for k in ("name_blind", "given_blind", "phone_blind", "name_clear",
                                                     "phone_clear", "province_scan")}
    counts: dict[str, list[int]] = {"name": [], "given": [], "phone": []}
    for k, (pid, province, name, phone) in enumerate(sample):
        for key, field, query in (("name", "full_name", fold(name)),
                                  ("given", "full_name", fold(name).split()[-1]),  # the given name alone
                                  ("phone", "phone", f"+84 {phone[1:]}")):
            elapsed, candidates = blind_search(field, query, pid, province)
            times[f"{key}_blind"].append(elapsed)
            counts[key].append(candidates)
        times["name_clear"].append(clear_lookup(Clear.name_folded, fold(name), pid, province))
        times["phone_clear"].append(clear_lookup(Clear.phone, phone, pid, province))
        if k % 10 == 0:  # the search without an index, within the province (a provincial officer's)
            start = time.perf_counter()
            seen, found = decrypt_every_row(b, province, fold(name))
            times["province_scan"].append(time.perf_counter() - start)
            check(found >= 1, "decrypting every row lost a person")
            out["province_rows"] = seen
    out.update({key: statistics.median(values) for key, values in times.items()})
    out.update({f"{key}_candidates": statistics.mean(values) for key, values in counts.items()})
    if analyze and db.engine.dialect.name == "sqlite":  # last size only: the statistics would stay behind
        # Without planner statistics SQLite reads the caller's scoped query (the province) row by row to
        # match the candidate ids; with them (ANALYZE, or PRAGMA optimize) it looks the candidates up by id.
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        db.session.remove()
        after = []
        for pid, province, name, _phone in sample:
            after.append(blind_search("full_name", fold(name), pid, province)[0])
        out["name_blind_analyzed"] = statistics.median(after)
    # …and over every person in the country (a national search), measured or extrapolated.
    start = time.perf_counter()
    seen, _found = decrypt_every_row(b, None, fold(sample[0][2]), limit=national_sample)
    elapsed = time.perf_counter() - start
    out["national_scan"] = elapsed * n / seen
    out["national_measured_rows"] = seen
    db.session.expunge_all()
    return out


# --- 4. audit verification ------------------------------------------------------------------------


def bench_audit(b: Bench, n: int) -> dict:
    from casework.protect import audit
    from casework.protect.audit import GENESIS, AuditEvent, compute_mac, verify_chain
    from casework.protect.ring import current_keys

    db = b.db
    b.empty()
    key = current_keys().audit_key
    t = AuditEvent.__table__
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(9)
    prev = GENESIS
    chunk: list[dict] = []
    start = time.perf_counter()

    class Row:
        __slots__ = audit.PAYLOAD_FIELDS

    actions = ["case_view", "case_update", "person_search", "login", "referral_send", "case_create"]
    for seq in range(1, n + 1):
        r = Row()
        r.seq, r.ts = seq, ts + timedelta(milliseconds=seq * 250)
        r.actor_id, r.actor_role = f"user{rng.randrange(300):03d}xxxxxxxxxxxxxxx", "province_officer"
        r.action, r.object_type, r.object_id = rng.choice(actions), "case", f"case{rng.randrange(10**9):09d}xxxxxxxx"
        r.fields, r.outcome, r.detail = "full_name,phone", "allowed", None
        r.request_id, r.client_ip, r.key_version, r.prev_mac = f"{seq:016x}", "10.0.0.7", 1, prev
        mac = compute_mac(key, r)
        chunk.append({f: getattr(r, f) for f in audit.PAYLOAD_FIELDS} | {"mac": mac})
        prev = mac
        if len(chunk) == 20000:
            db.session.execute(t.insert(), chunk)
            db.session.commit()
            chunk = []
    if chunk:
        db.session.execute(t.insert(), chunk)
    db.session.execute(audit.AuditChainHead.__table__.insert().values(chain=audit.NATIONAL, seq=n, mac=prev))
    db.session.commit()
    built = time.perf_counter() - start
    db.session.remove()
    start = time.perf_counter()
    result = verify_chain()
    elapsed = time.perf_counter() - start
    check(result.ok and result.checked == n, f"the bulk-built chain does not verify: {result}")
    b.empty()
    return {"n": n, "build_s": built, "verify_s": elapsed, "rate": n / elapsed}


# --- report ----------------------------------------------------------------------------------------


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def report(command: str, engine: str, fields, creation, searches, audits, pg_searches, total: float,
           load: tuple) -> str:
    import cryptography
    import sqlalchemy

    from casework.protect.blind import INDEX_BITS

    lines = [
        "# Benchmark: protected data core (issue 3)",
        "",
        f"- Command: `{command}`",
        f"- Machine: 2 cores ({platform.machine()}, {platform.processor() or 'cpu'}), "
        f"Python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}. Other engineers' test suites were running on the same machine: "
        f"load average {load[0][0]:.1f} at the start and {load[1][0]:.1f} at the end (2 = both cores busy), so "
        "absolute times are pessimistic; the ratios compare runs made under the same load.",
        f"- Database: {engine}. Blind indexes of INDEX_BITS = {INDEX_BITS} bits.",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; whole run {total / 60:.1f} min (wall clock).",
        "- How the data was built: the search populations and the audit chain were bulk-inserted (executemany) "
        "with data keys, ciphertexts, blind-index values and MACs computed by the same functions the ORM and "
        "the audit writer use, without the ORM (see the docstring of `bench/protect.py`). Record creation goes "
        "through the ORM, one commit per record.",
        "- Benchmarks are not tests: nothing in `tests/` asserts on time. Variants are interleaved (record "
        "creation in rounds of 100 records, searches person by person) and times are medians, so that bursts of "
        "load from other processes affect every variant alike.",
        "",
        "## 1. Per field",
        "",
        "| Operation | Time per call (best of 3 runs) |",
        "|---|---|",
    ]
    lines += [f"| {label} | {fmt_us(t)} |" for label, t in fields]
    clear = creation.get("clear columns, no audit", 1.0)
    lines += [
        "",
        f"## 2. Creating a case-like record ({creation['n']:,} records, one commit each)",
        "",
        "The protected record has four encrypted fields (name, phone, birth date, a 290-character narrative) and "
        "the blind-index rows of name and phone; the clear record has the same fields in plain columns and two "
        "ordinary indexes.",
        "",
        "| Variant | Time per record (median round) | Ratio to clear |",
        "|---|---|---|",
    ]
    for label in ("clear columns, no audit", "encrypted + blind indexes, no audit",
                  "encrypted + blind indexes + audit event"):
        if label not in creation:
            continue
        lines.append(f"| {label} | {fmt_ms(creation[label])} | {creation[label] / clear:.2f}× |")
    lines += [
        "",
        "## 3. Search by name and phone",
        "",
        "Persons are spread evenly over the 34 provinces; each search is scoped to the person's province, as an "
        "officer's search is. *Blind index* = `casework.protect.fields.search` (index lookup, load the candidate "
        "rows, decrypt, exact filter). *Clear indexed lookup* = equality on an indexed clear column of the folded "
        "full name or the phone (what a database without encryption would do). *Decrypt every row* = read and "
        "decrypt every name of the province (or of the country) and compare, without any index.",
        "",
    ]
    for label, rows in (("SQLite", searches), ("PostgreSQL", pg_searches)):
        if not rows:
            continue
        lines += [f"### {label}", "",
                  "| Persons | per province | Query | Blind index (median) | candidates decrypted (mean) | "
                  "Clear indexed lookup | Blind ÷ clear | Decrypt every row of the province | Decrypt ÷ blind |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for s in rows:
            scan = s["province_scan"]
            for query, key, clear_key in (("full name (folded)", "name", "name_clear"),
                                          ("given name only", "given", None),
                                          ("phone (+84 form)", "phone", "phone_clear")):
                blind_t = s[f"{key}_blind"]
                clear_t = s[clear_key] if clear_key else None
                lines.append(
                    f"| {s['n']:,} | {s['per_province']:,} | {query} | {fmt_ms(blind_t)} | "
                    f"{s[f'{key}_candidates']:.1f} | {fmt_ms(clear_t) if clear_t else '—'} | "
                    f"{f'{blind_t / clear_t:.0f}×' if clear_t else '—'} | "
                    f"{fmt_ms(scan) if key != 'phone' else '—'} | "
                    f"{f'{scan / blind_t:.0f}×' if key != 'phone' else '—'} |")
        analyzed = [s for s in rows if "name_blind_analyzed" in s]
        if analyzed:
            lines += ["", "After `ANALYZE` (SQLite planner statistics; `PRAGMA optimize` keeps them current), the same "
                          "full-name searches:", "",
                      "| Persons | Blind index, no statistics | Blind index after ANALYZE | Clear indexed lookup | "
                      "Blind ÷ clear |", "|---|---|---|---|---|"]
            lines += [f"| {s['n']:,} | {fmt_ms(s['name_blind'])} | {fmt_ms(s['name_blind_analyzed'])} | "
                      f"{fmt_ms(s['name_clear'])} | {s['name_blind_analyzed'] / s['name_clear']:.0f}× |"
                      for s in analyzed]
        lines += ["", "| Persons | Decrypt every row of the country (one search) | Blind index (full name) | Ratio | "
                      "How measured |", "|---|---|---|---|---|"]
        for s in rows:
            how = ("measured over all rows" if s["national_measured_rows"] == s["n"] else
                   f"extrapolated from {s['national_measured_rows']:,} rows decrypted")
            lines.append(f"| {s['n']:,} | {fmt_ms(s['national_scan'])} | {fmt_ms(s['name_blind'])} | "
                         f"{s['national_scan'] / s['name_blind']:,.0f}× | {how} |")
        lines += ["", "Building the data: " + "; ".join(
            f"{s['n']:,} persons in {s['build_s']:.0f} s" for s in rows) + ".", ""]
    lines += ["## 4. Audit verification", "", "| Events | Build the chain (compute MACs + insert) | `verify_chain` | "
              "Rate |", "|---|---|---|---|"]
    for a in audits:
        lines.append(f"| {a['n']:,} | {a['build_s']:.0f} s | {a['verify_s']:.1f} s | {a['rate']:,.0f} events/s |")
    lines += ["", "`verify_chain` is what `flask --app wsgi audit verify` runs: it streams the events in sequence "
              "order and recomputes every HMAC-SHA256 in one process.", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small populations, to try the script")
    parser.add_argument("--postgres", default="", help="instead, run the 100,000-person search and the audit "
                                                       "verification on this PostgreSQL database (it is emptied!) "
                                                       "and write bench/results/protect-postgres.md")
    parser.add_argument("--output", default="")
    args = parser.parse_args(argv)
    sizes = (10_000, 50_000) if args.quick else (100_000, 1_000_000)
    events = 50_000 if args.quick else 1_000_000
    from casework.geo import data as geo

    provinces = sorted(p.code for p in geo.provinces())
    began = time.perf_counter()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-protect-") as tmp:
        if args.postgres:
            return postgres(args, Path(tmp), provinces, sizes[0], events, began, load_before)
        b = Bench(f"sqlite:///{Path(tmp) / 'bench.db'}", Path(tmp))
        print("per field…", flush=True)
        fields = bench_fields(b)
        print("record creation…", flush=True)
        creation = bench_creation(b, 500 if args.quick else 2000)
        creation["n"] = 500 if args.quick else 2000
        searches = []
        for n in sizes:
            print(f"search at {n:,} persons…", flush=True)
            searches.append(bench_search(b, n, provinces, queries=100 if n <= 100_000 else 40,
                                         national_sample=None if n <= 100_000 else 100_000, analyze=n == sizes[-1]))
        print(f"audit verification at {events:,} events…", flush=True)
        audits = [bench_audit(b, events)]
        b.close()
    total = time.perf_counter() - began
    load = (load_before, os.getloadavg())
    command = "python -m bench.protect" + (" --quick" if args.quick else "")
    text_ = report(command, "SQLite 3 (a file in a temporary folder, WAL)", fields, creation, searches, audits, [],
                   total, load)
    Path(args.output or RESULTS).write_text(text_, encoding="utf-8")
    print(text_)
    return 0


def postgres(args, tmp: Path, provinces: list[str], persons: int, events: int, began: float,
             load_before: tuple) -> int:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(args.postgres)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        version = conn.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    pg = Bench(args.postgres, tmp)
    print(f"PostgreSQL: search at {persons:,} persons…", flush=True)
    searches = [bench_search(pg, persons, provinces, queries=100, national_sample=None)]
    print(f"PostgreSQL: audit verification at {events:,} events…", flush=True)
    audits = [bench_audit(pg, events)]
    pg.close()
    total = time.perf_counter() - began
    load = (load_before, os.getloadavg())
    url = make_url(args.postgres)
    command = f"python -m bench.protect --postgres postgresql+psycopg://{url.username}@{url.host}/{url.database}"
    full = report(command, f"PostgreSQL {version} (local, 127.0.0.1)", [], {"n": 0}, [], audits, searches, total,
                  load)
    keep = [full.split("## 1.")[0].rstrip(), "", "## 3. Search by name and phone" + full.split(
        "## 3. Search by name and phone", 1)[1]]
    text_ = "\n".join(keep).replace("# Benchmark: protected data core (issue 3)",
                                    "# Benchmark: protected data core (issue 3) on PostgreSQL", 1)
    Path(args.output or RESULTS.with_name("protect-postgres.md")).write_text(text_, encoding="utf-8")
    print(text_)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
