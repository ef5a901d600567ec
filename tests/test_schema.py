"""The migrations build exactly the schema the models describe (``flask db check``)."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from casework.extensions import db
from tests.conftest import ON_POSTGRES


def test_migrations_match_the_models(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], diff


def test_constraints_follow_the_naming_convention(app):
    for table in db.metadata.tables.values():
        assert table.primary_key.name == f"pk_{table.name}"
        for fk in table.foreign_key_constraints:
            assert fk.name and fk.name.startswith(f"fk_{table.name}_"), fk.name


def test_flask_db_check_finds_no_model_change_without_a_migration(app):
    # ``flask db check`` exits 1 ("New upgrade operations detected") when a model changed without a
    # migration; Alembic prints its messages outside the runner's capture, so the exit code is the verdict.
    result = app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="extended statistics are PostgreSQL's; set TEST_DATABASE_URL to "
                                            "PostgreSQL (make test-postgres) to run this check")
def test_the_blind_index_buckets_carry_statistics_over_province_and_value(app):
    # Issue 18: a province's common words make a few buckets a hundred times larger than the rest; the planner
    # learns which from statistics over the columns together (migration b5d1e8f2a6c3).
    with db.engine.connect() as conn:
        columns = conn.execute(text(
            "SELECT array_agg(a.attname ORDER BY a.attname) FROM pg_statistic_ext s "
            "JOIN pg_attribute a ON a.attrelid = s.stxrelid AND a.attnum = ANY(s.stxkeys) "
            "WHERE s.stxname = 'st_blind_index_bucket' AND s.stxrelid = 'blind_index'::regclass")).scalar()
    assert columns == ["field", "province_code", "value"]
