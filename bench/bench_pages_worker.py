"""The measuring side of ``bench.pages``, run in a process of its own with one code tree on ``sys.path``
(git ``main`` exported, or this worktree): it must import only what both trees have.

For each page: one traced request captures the SELECT statements (with their parameters) and the
decryptions the page does; then ``requests`` timed requests, and the same number of replays of the
captured SELECTs on a bare DBAPI connection and of the captured decryptions. Prints one JSON line.
"""

from __future__ import annotations

import cProfile
import io
import json
import logging
import os
import pstats
import re
import statistics
import sys
import time


def _app():
    from casework import create_app

    app = create_app({"environment": "development", "RATELIMIT_ENABLED": False})
    logging.getLogger("casework").setLevel(logging.WARNING)
    return app


def _signed_in_client(app):
    """A session started the way the login does (second factor done), without spending a TOTP step."""
    from sqlalchemy import select

    from casework.auth import services
    from casework.auth.models import User
    from casework.extensions import db

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "bench_host"))
        token = services.start_session(user, second_factor_done=True, client="bench")
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["sid"] = token
    return client


def _csrf(client) -> str:
    html = client.get("/cases").text
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


class Trace:
    """SQL statements and decryptions of one request."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[tuple[str, object]] = []
        self.unwraps: list[tuple] = []
        self.decrypts: list[tuple] = []
        self.on = False

    def __enter__(self):
        from sqlalchemy import event

        from casework.protect import crypto, fields

        event.listen(self.engine, "before_cursor_execute", self._sql)
        self._orig = (crypto.unwrap_data_key, crypto.decrypt_value, fields.unwrap_data_key, fields.decrypt_value)

        def unwrap(keys, wrapped, version, where):
            self.unwraps.append((keys, wrapped, version, where))
            return self._orig[0](keys, wrapped, version, where)

        def decrypt(dek, blob, aad, where):
            self.decrypts.append((dek, blob, aad, where))
            return self._orig[1](dek, blob, aad, where)

        crypto.unwrap_data_key = fields.unwrap_data_key = unwrap
        crypto.decrypt_value = fields.decrypt_value = decrypt
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        from casework.protect import crypto, fields

        event.remove(self.engine, "before_cursor_execute", self._sql)
        crypto.unwrap_data_key, crypto.decrypt_value, fields.unwrap_data_key, fields.decrypt_value = self._orig

    def _sql(self, _conn, _cursor, statement, parameters, _context, executemany):
        self.statements.append((statement, parameters, executemany))

    @property
    def selects(self):
        return [(s, p) for s, p, many in self.statements
                if s.lstrip().upper().startswith(("SELECT", "WITH")) and not many]

    @property
    def writes(self) -> list[str]:
        out = []
        for s, _p, _many in self.statements:
            word = s.lstrip().split(None, 1)[0].upper()
            if word in ("INSERT", "UPDATE", "DELETE"):
                table = re.search(r"(?:INTO|UPDATE|FROM)\s+\"?(\w+)", s, re.I)
                out.append(f"{word} {table.group(1) if table else '?'}")
        return out


def _replay_sql(engine, selects, n: int) -> float:
    raw = engine.raw_connection()
    try:
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            cur = raw.cursor()
            for statement, params in selects:
                cur.execute(statement, params)
                cur.fetchall()
            cur.close()
            samples.append(time.perf_counter() - t0)
            raw.commit()  # as the page ends: psycopg forgets prepared statements on ROLLBACK
        return statistics.median(samples) * 1000
    finally:
        raw.close()


def _replay_crypto(trace: Trace, n: int) -> float:
    from casework.protect import crypto

    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        for args in trace.unwraps:
            crypto.unwrap_data_key(*args)
        for args in trace.decrypts:
            crypto.decrypt_value(*args)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def main(options: dict) -> None:
    info, n = options["info"], options["requests"]
    app = _app()
    client = _signed_in_client(app)
    token = _csrf(client)
    requests = {
        "case list": lambda: client.get("/cases"),
        "case view": lambda: client.get(f"/cases/{info['view_case_id']}"),
        "case search": lambda: client.post("/cases/search", data={"q": info["search"], "csrf_token": token}),
    }
    for page, call in requests.items():  # warm up: templates compiled, caches filled
        for _ in range(3):
            response = call()
            if response.status_code != 200:
                raise SystemExit(f"{page}: HTTP {response.status_code}")
        if page == "case search" and "/cases/" + "" not in response.text:
            raise SystemExit("search found nothing")
    if options.get("profile"):
        profiler = cProfile.Profile()
        for call in requests.values():
            profiler.enable()
            for _ in range(n):
                call()
            profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        print(json.dumps({"profile": out.getvalue()}))
        return
    from casework.extensions import db

    with app.app_context():
        engine = db.engine
    result: dict[str, dict] = {}
    for page, call in requests.items():
        with Trace(engine) as trace:
            text = call().text
        if page == "case search" and text.count('class="case-row') != 1:
            raise SystemExit(f"search shows {text.count('class=\"case-row')} rows, expected 1")
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            call()
            samples.append((time.perf_counter() - t0) * 1000)
        with app.app_context():
            sql_ms = _replay_sql(engine, trace.selects, n)
        result[page] = {"samples": samples, "selects": len(trace.selects), "sql_ms": sql_ms,
                        "decrypt_ms": _replay_crypto(trace, n), "unwraps": len(trace.unwraps),
                        "decrypts": len(trace.decrypts),
                        "writes": ", ".join(sorted(set(trace.writes))) or "none",
                        "statements": [s for s, _p in trace.selects] if os.environ.get("BENCH_SQL") else []}
    print(json.dumps(result))


if __name__ == "__main__":  # pragma: no cover
    main(json.loads(sys.argv[1]))
