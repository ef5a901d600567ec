"""The migrations build exactly the schema the models describe (``flask db check``)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from casework.extensions import db


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
