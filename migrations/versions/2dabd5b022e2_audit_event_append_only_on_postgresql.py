"""audit_event is append-only on PostgreSQL: a trigger rejects UPDATE and DELETE

The application only ever inserts audit events; a row that changes or disappears is tampering (or a
mistake) and is refused by the database itself. TRUNCATE is not covered by a row trigger: the operations
guide revokes it (and UPDATE/DELETE) from the application's role. A superuser can still bypass both,
which is why signed checkpoints outside the database exist (DESIGN §3.4). SQLite has no roles and is
for a single machine only; nothing is created there.

Revision ID: 2dabd5b022e2
Revises: cee1137baec1
Create Date: 2026-11-29 07:11:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '2dabd5b022e2'
down_revision = 'cee1137baec1'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION audit_event_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER audit_event_append_only
        BEFORE UPDATE OR DELETE ON audit_event
        FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
    """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
