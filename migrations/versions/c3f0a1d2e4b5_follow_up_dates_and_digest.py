"""next follow-up dates: follow_up.next_on, case.follow_up_due_on and its queue indexes; the daily
digest's address and last day on user; proposal.monitoring_due_on (issue 13)

Revision ID: c3f0a1d2e4b5
Revises: d7a3f1c2e9b4
Create Date: 2026-12-04 08:20:00

"""
from datetime import UTC, date, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3f0a1d2e4b5'
down_revision = 'd7a3f1c2e9b4'
branch_labels = None
depends_on = None

# casework.cases.codes.FOLLOW_UP_DAYS when this migration was written (a migration keeps its own copy).
FOLLOW_UP_DAYS = {"high": 3, "medium": 7, "low": 30}
MONITORING_DAYS = 90  # livelihood.work.MONITORING_DAYS
BATCH = 5000


def _local_day(moment):
    from casework.text import VN_TZ

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VN_TZ).date()


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('digest_sent_on', sa.Date(), nullable=True))
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_on', sa.Date(), nullable=True))
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_up_due_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_case_address_follow_up', ['address_id', 'follow_up_due_on', 'id'], unique=False)
        batch_op.create_index('ix_case_commune_follow_up', ['commune_code', 'follow_up_due_on', 'id'], unique=False)

    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('monitoring_due_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_proposal_commune_monitoring', ['commune_code', 'monitoring_due_on', 'id'],
                              unique=False)
    _backfill_cases()
    _backfill_proposals()


def _backfill_proposals():
    """Proposals being carried out: the next monitoring visit a quarter after the newest visit or the approval."""
    bind = op.get_bind()
    proposal = sa.table('proposal', sa.column('id', sa.String), sa.column('state', sa.String),
                        sa.column('decided_at', sa.DateTime(timezone=True)), sa.column('monitoring_due_on', sa.Date))
    visit = sa.table('monitoring_visit', sa.column('proposal_id', sa.String), sa.column('visited_on', sa.Date))
    newest = (sa.select(visit.c.proposal_id, sa.func.max(visit.c.visited_on).label('on'))
              .group_by(visit.c.proposal_id).subquery())
    rows = bind.execute(
        sa.select(proposal.c.id, proposal.c.decided_at, newest.c.on)
        .select_from(proposal.outerjoin(newest, newest.c.proposal_id == proposal.c.id))
        .where(proposal.c.state.in_(('approved', 'disbursing')))).all()
    for proposal_id, decided_at, last_on in rows:
        start = last_on if isinstance(last_on, date) else (_local_day(decided_at) if decided_at else None)
        if start is not None:
            bind.execute(sa.update(proposal).where(proposal.c.id == proposal_id)
                         .values(monitoring_due_on=start + timedelta(days=MONITORING_DAYS)))


def _backfill_cases():
    # Open cases get the date their next follow-up was due by the rule: the newest follow-up's day (or the
    # intake day) plus the risk level's interval. Late ones show as late in the queue at once.
    bind = op.get_bind()
    case = sa.table('case', sa.column('id', sa.String), sa.column('status', sa.String),
                    sa.column('risk_level', sa.String), sa.column('intake_at', sa.DateTime(timezone=True)),
                    sa.column('follow_up_due_on', sa.Date))
    follow_up = sa.table('follow_up', sa.column('case_id', sa.String), sa.column('on', sa.Date))
    last_id = ''
    while True:  # a batch at a time, in id order: at a million cases no statement holds them all
        rows = bind.execute(
            sa.select(case.c.id, case.c.risk_level, case.c.intake_at)
            .where(case.c.status.in_(('open', 'closure_requested')), case.c.id > last_id)
            .order_by(case.c.id).limit(BATCH)).all()
        if not rows:
            break
        newest = dict(bind.execute(
            sa.select(follow_up.c.case_id, sa.func.max(follow_up.c.on))
            .where(follow_up.c.case_id.in_([r[0] for r in rows])).group_by(follow_up.c.case_id)).all())
        for case_id, risk, intake_at in rows:
            last_on = newest.get(case_id)
            start = last_on if isinstance(last_on, date) else _local_day(intake_at)
            due = start + timedelta(days=FOLLOW_UP_DAYS.get(risk or 'low', 30))
            bind.execute(sa.update(case).where(case.c.id == case_id).values(follow_up_due_on=due))
        last_id = rows[-1][0]


def downgrade():
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.drop_index('ix_proposal_commune_monitoring')
        batch_op.drop_column('monitoring_due_on')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_commune_follow_up')
        batch_op.drop_index('ix_case_address_follow_up')
        batch_op.drop_column('follow_up_due_on')
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_column('next_on')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('digest_sent_on')
        batch_op.drop_column('digest_email')
