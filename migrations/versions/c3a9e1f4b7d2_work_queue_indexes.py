"""indexes of the work queue (issue 13): a page of "Việc cần làm" reads a few small index ranges

Revision ID: c3a9e1f4b7d2
Revises: b16e0a7c5d21
Create Date: 2026-12-04 08:10:00

Measured in bench/results/work_queue.md: without them each provider of the queue walked every case of the
user's scope, so at 1,000,000 cases the queue (and the count in the menu of every page) cost several times a
page of the case list.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3a9e1f4b7d2'
down_revision = 'b16e0a7c5d21'
branch_labels = None
depends_on = None

UNNOTIFIED = sa.text('commune_notified_at IS NULL')


def upgrade():
    op.create_index('ix_case_unnotified_address', 'case', ['address_id', 'intake_at', 'id'], unique=False,
                    sqlite_where=UNNOTIFIED, postgresql_where=UNNOTIFIED)
    op.create_index('ix_case_unnotified_commune', 'case', ['commune_code', 'intake_at', 'id'], unique=False,
                    sqlite_where=UNNOTIFIED, postgresql_where=UNNOTIFIED)
    op.create_index('ix_case_commune_status', 'case', ['commune_code', 'status', 'closure_requested_at', 'id'],
                    unique=False)
    op.create_index('ix_shelter_stay_running', 'shelter_stay', ['case_id', 'start_on'], unique=False,
                    sqlite_where=sa.text('end_on IS NULL'), postgresql_where=sa.text('end_on IS NULL'))
    op.create_index('ix_contact_ban_work', 'contact_ban', ['case_id', 'decision', 'valid_until'], unique=False)
    op.create_index('ix_referral_case_state', 'referral', ['case_id', 'state', 'ack_due_at'], unique=False)
    op.create_index('ix_proposal_province_state', 'proposal', ['province_code', 'state', 'state_changed_at', 'id'],
                    unique=False)
    op.create_index('ix_proposal_commune_state', 'proposal', ['commune_code', 'state', 'state_changed_at', 'id'],
                    unique=False)
    op.create_index('ix_disbursement_state_order', 'disbursement', ['state', 'recorded_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_disbursement_state_order', table_name='disbursement')
    op.drop_index('ix_proposal_commune_state', table_name='proposal')
    op.drop_index('ix_proposal_province_state', table_name='proposal')
    op.drop_index('ix_referral_case_state', table_name='referral')
    op.drop_index('ix_contact_ban_work', table_name='contact_ban')
    op.drop_index('ix_shelter_stay_running', table_name='shelter_stay')
    op.drop_index('ix_case_commune_status', table_name='case')
    op.drop_index('ix_case_unnotified_commune', table_name='case')
    op.drop_index('ix_case_unnotified_address', table_name='case')
