"""address support packages: the amount a BigInteger, never negative

The service accepts up to 10 billion đồng, but the column was a 32-bit integer: on PostgreSQL an amount above
2,147,483,647 failed with an error (500) instead of being kept. Money is whole đồng in a BigInteger everywhere
else (livelihood); the database now also refuses a negative amount, as it does for livelihood's.

Revision ID: a4c7e2d9b1f3
Revises: e18c4a1b7f20
Create Date: 2026-12-05 19:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4c7e2d9b1f3'
down_revision = 'e18c4a1b7f20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('address_support', schema=None) as batch_op:
        batch_op.alter_column('amount_vnd', existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=True)
        batch_op.create_check_constraint(batch_op.f('ck_address_support_amount_not_negative'),
                                         "amount_vnd IS NULL OR amount_vnd >= 0")


def downgrade():
    with op.batch_alter_table('address_support', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_address_support_amount_not_negative'), type_='check')
        batch_op.alter_column('amount_vnd', existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=True)
