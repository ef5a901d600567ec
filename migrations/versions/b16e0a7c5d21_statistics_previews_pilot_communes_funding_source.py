"""statistics previews, pilot communes, funding source of budgets (issue 16)

Revision ID: b16e0a7c5d21
Revises: 57ee4fe768b6
Create Date: 2026-12-04 03:20:00

"""
from alembic import op
import sqlalchemy as sa

import casework.models


# revision identifiers, used by Alembic.
revision = 'b16e0a7c5d21'
down_revision = '57ee4fe768b6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stat_preview',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('created_at', casework.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', casework.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', casework.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.String(length=22), nullable=True),
    sa.Column('runner', sa.String(length=10), nullable=False),
    sa.Column('claimed_at', casework.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ledger', sa.String(length=400), nullable=True),
    sa.Column('release_created_at', casework.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('method', sa.String(length=32), nullable=True),
    sa.Column('parameters', sa.Text(), nullable=True),
    sa.Column('manifest', sa.Text(), nullable=True),
    sa.Column('snapshot_hash', sa.String(length=80), nullable=True),
    sa.Column('cells', sa.Text(), nullable=True),
    sa.Column('error', sa.String(length=400), nullable=True),
    sa.Column('release_id', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_stat_preview_created_by_id_user')),
    sa.ForeignKeyConstraint(['release_id'], ['stat_release.id'], name=op.f('fk_stat_preview_release_id_stat_release'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stat_preview'))
    )
    with op.batch_alter_table('stat_preview', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stat_preview_period'), ['period'], unique=False)

    op.create_table('stat_preview_file',
    sa.Column('preview_id', sa.String(length=32), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['preview_id'], ['stat_preview.id'],
                            name=op.f('fk_stat_preview_file_preview_id_stat_preview'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('preview_id', 'format', name=op.f('pk_stat_preview_file'))
    )
    op.create_table('stat_pilot_commune',
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('added_at', casework.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('added_by_id', sa.String(length=22), nullable=True),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], name=op.f('fk_stat_pilot_commune_added_by_id_user')),
    sa.PrimaryKeyConstraint('commune_code', name=op.f('pk_stat_pilot_commune'))
    )
    with op.batch_alter_table('stat_pilot_commune', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stat_pilot_commune_province_code'), ['province_code'], unique=False)

    with op.batch_alter_table('budget', schema=None) as batch_op:
        batch_op.add_column(sa.Column('funding_source', sa.String(length=16), server_default='central',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('budget', schema=None) as batch_op:
        batch_op.drop_column('funding_source')
    with op.batch_alter_table('stat_pilot_commune', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stat_pilot_commune_province_code'))
    op.drop_table('stat_pilot_commune')
    op.drop_table('stat_preview_file')
    with op.batch_alter_table('stat_preview', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stat_preview_period'))
    op.drop_table('stat_preview')
