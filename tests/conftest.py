"""Fixtures shared by the whole suite.

The database is migrated once per session (the real migrations, never ``create_all``); each test gets
a copy of the migrated SQLite file, or, when ``TEST_DATABASE_URL`` names PostgreSQL, its worker's own
database with every table emptied.

Tiers are markers (pyproject.toml): ``browser``, ``national``, ``postgres`` and ``slow``. ``make test`` runs
them all in parallel (pytest-xdist); ``make test-fast`` leaves out browser, national and slow.

- Statistics are counted over :data:`TEST_COMMUNES`, nine real communes of the four provinces the test
  data lives in, so a release in an ordinary test takes a second; a test marked ``national`` gets the
  national geography (34 provinces, 3,321 communes) that production counts over.
- Under xdist every worker has its own PostgreSQL database, ``<TEST_DATABASE_URL's database>_gw0``, …,
  created from the ``postgres`` maintenance database when the worker starts and dropped when it ends, so
  workers never empty each other's tables.
- A test marked ``postgres`` is skipped on SQLite, with the marker and the reason in the report.
"""

from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyotp
import pytest
from flask import Flask, has_app_context
from flask.globals import app_ctx
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from casework import create_app
from casework.extensions import db
from casework.protect.keys import init_keys
from casework.stats import service as stats_service
from tests.browser.chromium import (  # noqa: F401  (fixtures: one Chromium per worker, the served test app)
    _one_chromium_per_worker,
    browser,
    live_server,
    new_page,
    serve,
)

BASE_PG_URL = os.environ.get("TEST_DATABASE_URL", "")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, … under pytest -n; empty otherwise
ON_POSTGRES = BASE_PG_URL.startswith("postgresql")
PASSWORD = "correct horse battery staple"


def _worker_url(url: str, worker: str) -> str:
    """``…/test`` → ``…/test_gw0``: the database of one xdist worker on the same server."""
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


PG_URL = _worker_url(BASE_PG_URL, WORKER) if ON_POSTGRES and WORKER else BASE_PG_URL


@contextmanager
def fresh_globals(app: Flask):
    """A fresh ``g`` for one request, as each request gets in production.

    The ``app`` fixture holds an application context open for the whole test (its database session is the
    test's), and Flask then runs requests inside that context, sharing its ``g``: the signed-in user, the
    session row and the deferred audit events of one request would leak into the next. The application
    context (and its database session) stays shared; only ``g`` is swapped for the request. After it, the
    session's objects are expired: in production the request's session ends with it (its own commit leaves
    them loaded, ``casework.web``), so the next request and the test read the database again.
    """
    if not has_app_context() or app_ctx.app is not app:
        yield
        return
    ctx = app_ctx._get_current_object()
    kept, ctx.g = ctx.g, app.app_ctx_globals_class()
    try:
        yield
    finally:
        ctx.g = kept
        db.session.expire_all()


class OwnGlobalsClient(FlaskClient):
    """The test client: each request with its own ``g`` (``fresh_globals``)."""

    def open(self, *args, **kwargs):
        with fresh_globals(self.application):
            return super().open(*args, **kwargs)


class OwnGlobalsApp:
    """The app as a WSGI callable for tools that bring their own client (schemathesis), each request with
    its own ``g`` (``fresh_globals``)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        with fresh_globals(self.app):
            return self.app(environ, start_response)


Flask.test_client_class = OwnGlobalsClient  # every app a test makes

# Where the test data lives: Phường Bá Xuyên, Bách Quang and Bắc Kạn (19, Thái Nguyên); Ba Đình and Bạch Mai
# (01, Hà Nội); Điện Biên Phủ and Mường Lay (11, Điện Biên); Âu Lâu and Cam Đường (15, Lào Cai). The demo
# data uses the first two communes of 19, 11 and 15.
TEST_COMMUNES = ("05533", "05528", "01843", "00004", "00292", "03127", "03151", "04543", "02671")


@cache
def small_geography():
    """The statistics geography of ordinary tests: real codes and names, nine communes in four provinces."""
    from casework.geo import data as geo
    from casework.stats.cells import Geography

    communes = [geo.commune(code) for code in TEST_COMMUNES]
    provinces = sorted({c.province_code for c in communes})
    return Geography(provinces=tuple((p, geo.province(p).name) for p in provinces),
                     communes=tuple((c.code, c.name, c.province_code) for c in communes), scheme=geo.SCHEME)


# The pre-2025 units of ordinary tests (issue 15): two communes of Bình Phước (70, now in Đồng Nai), one of the
# old Đồng Nai (75) and one of Thanh Hóa (38).
TEST_LEGACY_COMMUNES = ("25216", "25237", "26050", "14944")


@cache
def small_legacy_geography():
    """The pre-2025 statistics geography of ordinary tests: real codes and names, four communes."""
    from casework.geo import legacy
    from casework.stats.cells import Geography

    communes = [legacy.commune(code) for code in TEST_LEGACY_COMMUNES]
    provinces = sorted({c.province_code for c in communes})
    return Geography(provinces=tuple((p, legacy.province(p).name) for p in provinces),
                     communes=tuple((c.code, c.name, c.province_code) for c in communes), scheme=legacy.SCHEME)


# Files that take a minute or more of one worker (measured with --durations on 2 cores): started first.
LONG_FILES = ("tests/stats/test_national_acceptance.py", "tests/test_types.py", "tests/test_api_fuzz.py")


def _longest_first(items) -> None:
    """Put the long files at the head of the collection, each file's tests in their own order.

    ``--dist loadfile`` hands files to the workers in collection order; a file of several minutes collected
    last ran alone at the end while the other worker sat idle (the last 6 % of the tests took half of the
    run). Started first, it runs beside the short files instead. Only the order of whole files changes."""
    def rank(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        if path in LONG_FILES:
            return 0
        return 1 if any(item.get_closest_marker(name) for name in ("national", "browser", "slow")) else 2

    first_rank: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        first_rank[path] = min(first_rank.get(path, 2), rank(item))
    items.sort(key=lambda item: first_rank[item.nodeid.split("::", 1)[0]])  # stable: in-file order kept


def pytest_collection_modifyitems(config, items):
    """Long files first (``_longest_first``). On SQLite every ``postgres`` test is skipped, its report line
    naming the marker and why it needs PostgreSQL (the reason of its own ``skipif`` when it has one); never
    silently deselected."""
    _longest_first(items)
    if ON_POSTGRES:
        return
    for item in items:
        if item.get_closest_marker("postgres"):
            why = next((m.kwargs["reason"] for m in item.iter_markers("skipif") if m.kwargs.get("reason")),
                       "needs TEST_DATABASE_URL pointing at PostgreSQL (make test-postgres)")
            item.add_marker(pytest.mark.skipif(True, reason=f"[postgres] {why}"), append=False)


def _base_config(tmp: Path, keys_dir: Path, database_url: str, national: bool = False) -> dict:
    config = {
        "environment": "testing",
        "database_url": database_url,
        "keys_dir": str(keys_dir),
        "checkpoint_dir": str(tmp / "checkpoints"),
        "attachments_dir": str(tmp / "attachments"),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
    }
    if not national:
        config["STATS_GEOGRAPHY"] = small_geography()
        config["STATS_LEGACY_GEOGRAPHY"] = small_legacy_geography()
    return config


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("keys") / "keys"
    init_keys(d)
    return d


def _maintenance(url: str):
    """The server's ``postgres`` database, in autocommit: where databases are created and dropped."""
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def worker_database():
    """This worker's own PostgreSQL database, created for the session and dropped after it (xdist only)."""
    if not (ON_POSTGRES and WORKER):
        yield
        return
    name = make_url(PG_URL).database
    engine = _maintenance(PG_URL)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory, keys_dir, worker_database) -> str:
    """Run every migration once; return the URL (PostgreSQL) or the template file (SQLite)."""
    from flask_migrate import upgrade

    tmp = tmp_path_factory.mktemp("template")
    if PG_URL:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        url = PG_URL
    else:
        url = f"sqlite:///{tmp / 'template.db'}"
    os.environ["TINCAY_INSTANCE_PATH"] = str(tmp)
    app = create_app(_base_config(tmp, keys_dir, url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url if PG_URL else str(tmp / "template.db")


@cache
def _cleaning_engine(url: str):
    return create_engine(url, pool_size=1, max_overflow=0)


def _empty_postgres(url: str) -> None:
    """Empty every table a test wrote to, in one transaction, and restart the sequences.

    Only the tables that hold rows are emptied, with DELETE and the referential and audit triggers off for
    this transaction (``session_replication_role = replica``): TRUNCATE of all 52 tables cost 0.5–1.9 s a
    test on 2 cores, as much as the test itself; one EXISTS probe per table and a few DELETEs cost ~15 ms.
    """
    for attempt in range(5):
        try:
            _empty_postgres_once(url)
            return
        except OperationalError as e:  # a deadlock with a thread a test left behind: PostgreSQL picked us
            if attempt == 4 or "deadlock" not in str(e):
                raise
            time.sleep(0.2)


def _empty_postgres_once(url: str) -> None:
    with _cleaning_engine(url).begin() as conn:
        names = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
        if not names:
            return
        probe = " UNION ALL ".join(f"SELECT '{n}' WHERE EXISTS (SELECT 1 FROM \"{n}\")" for n in names)  # noqa: S608 - names from pg_tables
        written = [r[0] for r in conn.execute(text(probe))]
        if not written:
            return
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for name in written:
            conn.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608 - a name from pg_tables
        conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c "
                          "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"))


@pytest.fixture(autouse=True)
def _national_geography_only_where_marked(request, monkeypatch):
    """Issue 16: no test counts over the national geography (minutes of CPU) unless it is marked ``national``;
    the others count over :data:`TEST_COMMUNES`. A test that would reach it fails and says so."""
    if request.node.get_closest_marker("national") is not None:
        return

    def refused() -> None:
        raise AssertionError("this test would count over the national geography: give it the test geography "
                             "(the app fixture does) or mark it national")

    monkeypatch.setattr(stats_service, "national_geography", refused)
    monkeypatch.setattr(stats_service, "national_legacy_geography", refused)


@pytest.fixture
def app_config(request, tmp_path, keys_dir, migrated_db) -> dict:
    if PG_URL:
        _empty_postgres(PG_URL)
        url = PG_URL
    else:
        target = tmp_path / "test.db"
        shutil.copy(migrated_db, target)
        url = f"sqlite:///{target}"
    os.environ["TINCAY_INSTANCE_PATH"] = str(tmp_path)
    return _base_config(tmp_path, keys_dir, url, national=request.node.get_closest_marker("national") is not None)


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def make_app(app_config):
    """Another application on the same database with some settings changed; its pool is closed after."""
    made = []

    def make(**overrides):
        extra = create_app({**app_config, **overrides})
        made.append(extra)
        return extra

    yield make
    for extra in made:
        _stop_background_threads(extra)
        with extra.app_context():
            db.engine.dispose()


def _stop_background_threads(app) -> None:
    """Stop what an application outside the ``testing`` environment may have started in the background (the
    audit chainer after its first request, a deadline sweep after a request), so that nothing of one test
    seals, writes or holds a connection while the next test's set-up empties the database."""
    started = app.extensions.get("tincay.chainer")
    if started is not None:
        worker, thread = started
        worker.stop.set()
        thread.join(timeout=30)
    sweeper = app.extensions.get("tincay.notify.sweeper")
    if sweeper is not None and sweeper.thread is not None:
        sweeper.thread.join(timeout=30)


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class Account:
    id: str
    username: str
    role: str
    password: str
    secret: str


@pytest.fixture
def make_user(app):
    """``make_user(role, scope=…, address_ids=…, organisation_id=…)`` → an enrolled account."""
    from casework.auth import services

    counter = {"n": 0}

    def make(role: str, scope: str | None = None, address_ids: tuple[str, ...] = (),
             organisation_id: str | None = None, username: str | None = None, **extra) -> Account:
        counter["n"] += 1
        name = username or f"{role}{counter['n']}"
        user, secret = services.create_user(None, services.NewUser(
            username=name, role=role, password=PASSWORD, scope=scope, address_ids=address_ids,
            organisation_id=organisation_id))
        for key, value in extra.items():
            setattr(user, key, value)
        db.session.commit()
        return Account(user.id, user.username, role, PASSWORD, secret)

    return make


def next_code(account: Account) -> str:
    """A TOTP code the server has not seen yet for this account (replays are refused)."""
    from casework.auth.models import User
    from casework.models import utcnow

    db.session.expire_all()
    user = db.session.get(User, account.id)
    totp = pyotp.TOTP(account.secret)
    now = utcnow()
    for offset in (0, 1):  # never the previous step: it may expire before the server checks it
        at = now.timestamp() + 30 * offset
        if totp.timecode(now.fromtimestamp(at)) > user.totp_last_step:
            return totp.at(at)
    raise AssertionError("no unused TOTP step left in the window; wait 30 seconds")


@pytest.fixture
def login():
    def do(client, account: Account, code: str | None = None):
        response = client.post("/login", data={"username": account.username, "password": account.password,
                                               "totp": code if code is not None else next_code(account)})
        assert response.status_code == 302, response.status_code
        return response

    return do


@pytest.fixture
def make_address(app):
    from casework.cases.models import Address

    def make(commune_code: str = "05533", name: str = "ĐCTC thử nghiệm", kind: str = "household") -> Address:
        from casework.geo import data as geo

        commune = geo.commune(commune_code)
        assert commune is not None
        a = Address(name=name, kind=kind, commune_code=commune.code, province_code=commune.province_code)
        db.session.add(a)
        db.session.commit()
        return a

    return make
