"""Fixtures shared by the whole suite.

The database is migrated once per session (the real migrations, never ``create_all``); each test gets
a copy of the migrated SQLite file, or, when ``TEST_DATABASE_URL`` names PostgreSQL, the same
database with every table emptied.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import create_engine, text

from casework import create_app
from casework.extensions import db
from casework.protect.keys import init_keys

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
PASSWORD = "correct horse battery staple"


def _base_config(tmp: Path, keys_dir: Path, database_url: str) -> dict:
    return {
        "environment": "testing",
        "database_url": database_url,
        "keys_dir": str(keys_dir),
        "checkpoint_dir": str(tmp / "checkpoints"),
        "attachments_dir": str(tmp / "attachments"),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
    }


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("keys") / "keys"
    init_keys(d)
    return d


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory, keys_dir) -> str:
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


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        names = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
        if names:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def app_config(tmp_path, keys_dir, migrated_db) -> dict:
    if PG_URL:
        _empty_postgres(PG_URL)
        url = PG_URL
    else:
        target = tmp_path / "test.db"
        shutil.copy(migrated_db, target)
        url = f"sqlite:///{target}"
    os.environ["TINCAY_INSTANCE_PATH"] = str(tmp_path)
    return _base_config(tmp_path, keys_dir, url)


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
        with extra.app_context():
            db.engine.dispose()


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
