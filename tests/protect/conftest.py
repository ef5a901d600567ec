"""Fixtures of the protected-data tests.

The protected model here is a throwaway one on its own metadata (``ScratchBase``): it never joins the
application's metadata, so ``tests/test_schema.py`` still compares the migrations with the real models.
Its table is created in the test database for the test and dropped after it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import MetaData, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casework import create_app
from casework.extensions import NAMING_CONVENTION, db
from casework.models import IdMixin
from casework.protect.fields import Protected, ProtectedMixin
from tests.conftest import ON_POSTGRES, PG_URL  # noqa: F401  (re-exported: this worker's database under -n)

NAME = "Nguyễn Thị Xuyến"
PHONE = "0912 345 678"


class ScratchBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Person(ProtectedMixin, IdMixin, ScratchBase):
    __tablename__ = "protect_test_person"

    province_code: Mapped[str] = mapped_column(String(2), nullable=False)
    full_name = Protected(index="name")
    phone = Protected(index="phone")
    note = Protected()


@pytest.fixture
def person_table(app):
    ScratchBase.metadata.create_all(db.engine)
    yield Person
    db.session.rollback()
    db.session.remove()
    ScratchBase.metadata.drop_all(db.engine)


def add_person(full_name: str = NAME, phone: str | None = PHONE, province: str = "01",
               note: str | None = None) -> Person:
    p = Person(province_code=province)
    p.full_name = full_name
    p.phone = phone
    p.note = note
    db.session.add(p)
    db.session.commit()
    return p


@pytest.fixture
def make_person(person_table):
    return add_person


@pytest.fixture
def own_keys(tmp_path, keys_dir) -> Path:
    """A copy of the session's key folder that a test may rotate, replace or delete files in."""
    target = tmp_path / "own-keys"
    shutil.copytree(keys_dir, target)
    return target


@pytest.fixture
def keyed_app(app_config, own_keys):
    """An application on the test database whose key folder the test owns (pushed like ``app``)."""
    extra = create_app({**app_config, "keys_dir": str(own_keys)})
    with extra.app_context():
        ScratchBase.metadata.create_all(db.engine)
        yield extra
        db.session.rollback()
        db.session.remove()
        ScratchBase.metadata.drop_all(db.engine)
        db.engine.dispose()


def tamper(sql: str, **params) -> None:
    """Change rows as a database administrator would, around the PostgreSQL append-only trigger."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in sql.split(";"):
            conn.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
    db.session.expire_all()
