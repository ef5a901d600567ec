"""notifications for every object, not only referrals (issue 13)

Revision ID: 7a1c0e5d2b90
Revises: 2c91ac7e6479
Create Date: 2026-12-04 03:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7a1c0e5d2b90'
down_revision = '2c91ac7e6479'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('object_type', sa.String(length=32), nullable=False, server_default='referral'))
        batch_op.add_column(sa.Column('object_id', sa.String(length=22), nullable=True))
        batch_op.alter_column('kind', existing_type=sa.String(length=32), type_=sa.String(length=48),
                              existing_nullable=False)
    op.execute("UPDATE notification SET object_id = referral_id, object_type = 'referral'")
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.alter_column('object_type', server_default=None)
        batch_op.drop_index('ix_notification_referral_id')
        batch_op.drop_constraint('fk_notification_referral_id_referral', type_='foreignkey')
        batch_op.drop_column('referral_id')
        batch_op.create_index('ix_notification_object', ['object_type', 'object_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_id', sa.String(length=22), nullable=True))
    op.execute("UPDATE notification SET referral_id = object_id WHERE object_type = 'referral'")
    op.execute("DELETE FROM notification WHERE object_type <> 'referral'")
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_object')
        batch_op.create_foreign_key('fk_notification_referral_id_referral', 'referral', ['referral_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_index('ix_notification_referral_id', ['referral_id'], unique=False)
        batch_op.drop_column('object_id')
        batch_op.drop_column('object_type')
        batch_op.alter_column('kind', existing_type=sa.String(length=48), type_=sa.String(length=32),
                              existing_nullable=False)
