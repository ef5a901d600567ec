"""encrypted attachments: file metadata and AES-GCM chunks bound to their owner record

Revision ID: cee1137baec1
Revises: 9e8922399234
Create Date: 2026-11-29 07:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

import casework.models


# revision identifiers, used by Alembic.
revision = 'cee1137baec1'
down_revision = '9e8922399234'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attachment',
    sa.Column('owner_type', sa.String(length=32), nullable=False),
    sa.Column('owner_id', sa.String(length=22), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('chunk_count', sa.Integer(), nullable=False),
    sa.Column('filename_ct', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', casework.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=22), nullable=True),
    sa.Column('id', sa.String(length=22), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index('ix_attachment_owner', ['owner_type', 'owner_id'], unique=False)

    op.create_table('attachment_chunk',
    sa.Column('attachment_id', sa.String(length=22), nullable=False),
    sa.Column('n', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'], name=op.f('fk_attachment_chunk_attachment_id_attachment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attachment_id', 'n', name=op.f('pk_attachment_chunk'))
    )


def downgrade():
    op.drop_table('attachment_chunk')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index('ix_attachment_owner')
    op.drop_table('attachment')
