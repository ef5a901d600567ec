"""the audit inbox's index in the order the chainer seals: (chain, xid, id) of the unsealed events (issue 18)

The chainer takes each chain's unsealed events by (xid, id), a batch at a time. With the index on (chain, id) the
planner had to find them all and sort them, and when its statistics were taken while events waited unsealed it
chose a parallel scan of the whole trail instead, on every pass.

Revision ID: f4b2c8e6a1d3
Revises: c3e9a7d1f5b2
Create Date: 2026-12-06 09:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f4b2c8e6a1d3'
down_revision = 'c3e9a7d1f5b2'
branch_labels = None
depends_on = None


def _unsealed_index(columns):
    op.drop_index('ix_audit_event_unsealed', table_name='audit_event')
    op.create_index('ix_audit_event_unsealed', 'audit_event', columns, unique=False,
                    postgresql_where=sa.text('mac IS NULL'), sqlite_where=sa.text('mac IS NULL'))


def upgrade():
    _unsealed_index(['chain', 'xid', 'id'])


def downgrade():
    _unsealed_index(['chain', 'id'])
