"""pre-2025 units: the commune of its time on an address, a case and a woman's home (issue 15)

Revision ID: c15a2b7d9e01
Revises: c3f0a1d2e4b5
Create Date: 2026-12-04 08:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c15a2b7d9e01'
down_revision = 'c3f0a1d2e4b5'
branch_labels = None
depends_on = None

_TABLES = ("address", "case", "case_person")


def upgrade():
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('legacy_commune_code', sa.String(length=5), nullable=True))


def downgrade():
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('legacy_commune_code')
