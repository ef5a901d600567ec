"""The app's PostgreSQL cursor (casework.dbapi): a description made when read, the same as psycopg's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casework.auth.models import User
from casework.extensions import db
from casework.web import _commit_without_expiring
from tests.conftest import ON_POSTGRES


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="the cursor is psycopg's (PostgreSQL); set TEST_DATABASE_URL to run it")
def test_the_description_is_psycopgs_and_describes_its_own_result(app):
    import psycopg

    from casework.dbapi import Cursor, Description

    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        assert isinstance(cursor, Cursor)  # the engine's connections make the app's cursor
        plain = psycopg.Cursor(raw.driver_connection)
        sql = "SELECT 1 AS one, 'a'::text AS letter, now() AS at"
        plain.execute(sql)
        cursor.execute(sql)
        described = cursor.description
        assert isinstance(described, Description) and len(described) == 3
        expected = [(c.name, c.type_code) for c in plain.description]
        cursor.execute("SELECT 2 AS two")  # the cursor moves on: the first description still describes its result
        assert [(c.name, c.type_code) for c in described] == expected
        assert described[1].name == "letter" and [c.name for c in described[1:]] == ["letter", "at"]
        assert [tuple(c) for c in described] == [tuple(c) for c in plain.description]  # name, type, sizes…
        cursor.execute("CREATE TEMPORARY TABLE t (x int)")
        assert cursor.description is None  # no rows: None, as psycopg says
        cursor.execute("SELECT")
        assert cursor.description is not None and len(cursor.description) == 0  # rows of no column
    finally:
        raw.close()


def test_the_requests_commit_leaves_its_objects_loaded_and_later_commits_as_they_were(app, make_user):
    make_user("admin")
    db.session.commit()
    user = db.session.scalars(select(User).limit(1)).one()
    _commit_without_expiring()
    assert "username" in user.__dict__  # not expired: nothing reads it again in the request
    assert db.session().expire_on_commit is True
    db.session.commit()
    assert "username" not in user.__dict__  # any other commit expires, as SQLAlchemy's default
