"""shelter stays: the essentials given in one column

A stay kept one yes/no column per essential (food, water, clothes, personal items, first aid, money) though
every reader and writer treated them as one list of codes. They are now one column of codes, comma-separated
in the catalogue's order (``casework.models.CodeList``), as an act's parts and a consent's fields are kept.

Revision ID: c3e9a7d1f5b2
Revises: b5d1e8f2a6c3
Create Date: 2026-12-06 03:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3e9a7d1f5b2'
down_revision = 'b5d1e8f2a6c3'
branch_labels = None
depends_on = None

# The columns in the catalogue's order (casework.cases.codes.ESSENTIALS), as the list keeps them.
ESSENTIALS = ("food", "water", "clothes", "personal_items", "first_aid", "money")


def upgrade():
    with op.batch_alter_table('shelter_stay', schema=None) as batch_op:
        batch_op.add_column(sa.Column('essentials', sa.String(length=80), server_default='', nullable=False))
    # ",food,water" without its leading comma; both databases read a boolean column as a condition.
    ticked = " || ".join(f"CASE WHEN {name} THEN ',{name}' ELSE '' END" for name in ESSENTIALS)
    op.execute(f"UPDATE shelter_stay SET essentials = substr({ticked}, 2)")
    with op.batch_alter_table('shelter_stay', schema=None) as batch_op:
        for name in ESSENTIALS:
            batch_op.drop_column(name)


def downgrade():
    with op.batch_alter_table('shelter_stay', schema=None) as batch_op:
        for name in ESSENTIALS:
            batch_op.add_column(sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False))
    for name in ESSENTIALS:
        op.execute(f"UPDATE shelter_stay SET {name} = TRUE WHERE ',' || essentials || ',' LIKE '%,{name},%'")
    with op.batch_alter_table('shelter_stay', schema=None) as batch_op:
        batch_op.drop_column('essentials')
        for name in ESSENTIALS:  # as they were made: no default in the database
            batch_op.alter_column(name, existing_type=sa.Boolean(), server_default=None, existing_nullable=False)
