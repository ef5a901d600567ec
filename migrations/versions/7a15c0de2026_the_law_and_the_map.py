"""the law and the map (issue 15): Decree 76/2023 acts not counted, contact-ban kinds and revocation,
trafficking status, per-province notice hours

Revision ID: 7a15c0de2026
Revises: 5a9bb9d579e5
Create Date: 2026-12-04 03:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import casework.models


# revision identifiers, used by Alembic.
revision = '7a15c0de2026'
down_revision = '5a9bb9d579e5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dv_counted', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('not_counted_confirmed_at', casework.models.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('not_counted_confirmed_by_id', sa.String(length=22), nullable=True))
    with op.batch_alter_table('case_act', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parts', sa.String(length=120), server_default='', nullable=False))
        batch_op.add_column(sa.Column('counted', sa.Boolean(), server_default=sa.true(), nullable=False))
    # Contact bans: Law 13/2022 Arts. 25(1)(b), 25(4), 26; the revocation reason is encrypted.
    with op.batch_alter_table('contact_ban', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=8), server_default='commune', nullable=False))
        batch_op.add_column(sa.Column('origin', sa.String(length=16), server_default='request', nullable=False))
        batch_op.add_column(sa.Column('life_threatened', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('court_name', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('revoked_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('revoked_by_id', sa.String(length=22), nullable=True))
        batch_op.add_column(sa.Column('dek_wrapped', sa.LargeBinary(length=64), nullable=True))
        batch_op.add_column(sa.Column('kek_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('dek_version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('revoke_reason_ct', sa.LargeBinary(), nullable=True))
        batch_op.alter_column('requester', existing_type=sa.String(length=16), type_=sa.String(length=24),
                              existing_nullable=False)
    # The law's requesters (Art. 25(1)(a)): the old organisation codes, and the host's, become a competent body.
    op.execute("UPDATE contact_ban SET requester = 'competent_body' "
               "WHERE requester IN ('host', 'womens_union', 'police', 'other_body')")

    # The commune-notice hours: a province setting, a project rule (Law 13/2022 Art. 36 sets no hours).
    with op.batch_alter_table('case_province_setting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notice_hours', sa.Integer(), server_default='24', nullable=False))
    # Law 53/2024 Art. 37(2): children under 18 who come with her, with their own a–h items.
    op.create_table('survivor_child',
    sa.Column('survivor_id', sa.String(length=22), nullable=False),
    sa.Column('sex', sa.String(length=8), nullable=False),
    sa.Column('supports', sa.String(length=40), nullable=False),
    sa.Column('recorded_on', sa.Date(), nullable=False),
    sa.Column('recorded_by_id', sa.String(length=22), nullable=False),
    sa.Column('id', sa.String(length=22), nullable=False),
    sa.Column('created_at', casework.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', casework.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('dek_wrapped', sa.LargeBinary(length=64), nullable=True),
    sa.Column('kek_version', sa.Integer(), nullable=True),
    sa.Column('dek_version', sa.Integer(), nullable=False),
    sa.Column('name_ct', sa.LargeBinary(), nullable=True),
    sa.Column('birth_year_ct', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_survivor_child_recorded_by_id_user')),
    sa.ForeignKeyConstraint(['survivor_id'], ['survivor.id'], name=op.f('fk_survivor_child_survivor_id_survivor'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survivor_child'))
    )
    with op.batch_alter_table('survivor_child', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survivor_child_recorded_by_id'), ['recorded_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survivor_child_survivor_id'), ['survivor_id'], unique=False)


def downgrade():
    op.drop_table('survivor_child')
    with op.batch_alter_table('case_province_setting', schema=None) as batch_op:
        batch_op.drop_column('notice_hours')
    with op.batch_alter_table('contact_ban', schema=None) as batch_op:
        batch_op.alter_column('requester', existing_type=sa.String(length=24), type_=sa.String(length=16),
                              existing_nullable=False)
        for column in ('revoke_reason_ct', 'dek_version', 'kek_version', 'dek_wrapped', 'revoked_by_id',
                       'revoked_on', 'court_name', 'life_threatened', 'origin', 'kind'):
            batch_op.drop_column(column)
    with op.batch_alter_table('case_act', schema=None) as batch_op:
        batch_op.drop_column('counted')
        batch_op.drop_column('parts')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('not_counted_confirmed_by_id')
        batch_op.drop_column('not_counted_confirmed_at')
        batch_op.drop_column('dv_counted')
