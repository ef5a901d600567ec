"""shelter stays and contact bans carry their case's address and commune (issue 13: the work queue per scope)

Revision ID: d7e2a4c91f30
Revises: c3a9e1f4b7d2
Create Date: 2026-12-04 08:55:00

bench/results/work_queue.md: the queue's running stays, pending ban decisions and bans ending were found by
probing every open case of the user's scope, so a commune officer's queue grew with her commune's caseload. A
copy of the case's place on the row (kept by the model and on a move) puts one scope's items in one range of a
partial index.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7e2a4c91f30'
down_revision = 'c3a9e1f4b7d2'
branch_labels = None
depends_on = None

RUNNING = sa.text('end_on IS NULL')
PENDING = sa.text('decision IS NULL')
GRANTED = sa.text("decision = 'granted' AND revoked_on IS NULL")


def upgrade():
    for table in ('shelter_stay', 'contact_ban'):
        op.add_column(table, sa.Column('address_id', sa.String(length=22), nullable=True))
        op.add_column(table, sa.Column('commune_code', sa.String(length=5), nullable=True))
        op.execute(f'UPDATE {table} SET address_id = (SELECT "case".address_id FROM "case" '
                   f'WHERE "case".id = {table}.case_id), commune_code = (SELECT "case".commune_code FROM "case" '
                   f'WHERE "case".id = {table}.case_id)')
    op.create_index('ix_shelter_stay_running_address', 'shelter_stay', ['address_id', 'start_on', 'id'],
                    unique=False, sqlite_where=RUNNING, postgresql_where=RUNNING)
    op.create_index('ix_shelter_stay_running_commune', 'shelter_stay', ['commune_code', 'start_on', 'id'],
                    unique=False, sqlite_where=RUNNING, postgresql_where=RUNNING)
    op.create_index('ix_contact_ban_pending_address', 'contact_ban', ['address_id', 'decision_due_at', 'id'],
                    unique=False, sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_index('ix_contact_ban_pending_commune', 'contact_ban', ['commune_code', 'decision_due_at', 'id'],
                    unique=False, sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_index('ix_contact_ban_granted_address', 'contact_ban', ['address_id', 'valid_until', 'id'],
                    unique=False, sqlite_where=GRANTED, postgresql_where=GRANTED)
    op.create_index('ix_contact_ban_granted_commune', 'contact_ban', ['commune_code', 'valid_until', 'id'],
                    unique=False, sqlite_where=GRANTED, postgresql_where=GRANTED)


def downgrade():
    for name in ('ix_contact_ban_granted_commune', 'ix_contact_ban_granted_address', 'ix_contact_ban_pending_commune',
                 'ix_contact_ban_pending_address'):
        op.drop_index(name, table_name='contact_ban')
    op.drop_index('ix_shelter_stay_running_commune', table_name='shelter_stay')
    op.drop_index('ix_shelter_stay_running_address', table_name='shelter_stay')
    for table in ('contact_ban', 'shelter_stay'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('commune_code')
            batch.drop_column('address_id')
