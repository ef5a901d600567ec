"""key canaries: one check value per key version, so a wrong key file stops start-up

Revision ID: 9e8922399234
Revises: 94699bf932da
Create Date: 2026-11-29 07:02:51.279599

"""
from alembic import op
import sqlalchemy as sa

import casework.models


# revision identifiers, used by Alembic.
revision = '9e8922399234'
down_revision = '94699bf932da'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('key_canary',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('check_value', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', casework.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'version', name=op.f('pk_key_canary'))
    )


def downgrade():
    op.drop_table('key_canary')
