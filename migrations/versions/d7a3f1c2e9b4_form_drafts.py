"""form drafts kept when a session ends, and the session's form token hash (issue 13)

Revision ID: d7a3f1c2e9b4
Revises: d7e2a4c91f30
Create Date: 2026-12-04 08:20:00

"""
from alembic import op
import sqlalchemy as sa

import casework.models


# revision identifiers, used by Alembic.
revision = 'd7a3f1c2e9b4'
down_revision = 'd7e2a4c91f30'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('form_draft',
    sa.Column('user_id', sa.String(length=22), nullable=False),
    sa.Column('endpoint', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('expires_at', casework.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('payload_ct', sa.LargeBinary(), nullable=True),
    sa.Column('dek_wrapped', sa.LargeBinary(length=64), nullable=True),
    sa.Column('kek_version', sa.Integer(), nullable=True),
    sa.Column('dek_version', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=22), nullable=False),
    sa.Column('created_at', casework.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', casework.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_form_draft_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_draft'))
    )
    with op.batch_alter_table('form_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_draft_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('ix_form_draft_user_expires', ['user_id', 'expires_at', 'id'], unique=False)

    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_token_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_session_form_token_hash'), ['form_token_hash'], unique=False)


def downgrade():
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_form_token_hash'))
        batch_op.drop_column('form_token_hash')

    with op.batch_alter_table('form_draft', schema=None) as batch_op:
        batch_op.drop_index('ix_form_draft_user_expires')
        batch_op.drop_index(batch_op.f('ix_form_draft_expires_at'))

    op.drop_table('form_draft')
