"""a name search reads indexes only: blind-index buckets hold their record ids, cases their person per scope

bench/results/load.md (fifteenth stop): at 1,000,000 cases a host's name search started from her address's
cases and read each case row, each person row and each person's blind-index rows, thousands of scattered
pages; when they were not in memory a search took seconds and held a worker. With the record id at the end of
the blind-index lookup and an index of cases by place and person (an address for a host, a commune for a
commune officer; a province officer never searches names), the search intersects the name's buckets and the
user's scope inside two indexes and reads the person rows of the few matches only (issue 18).

On PostgreSQL, statistics over (field, province_code, value) together: a province's buckets differ in size a
hundredfold ("nguyễn" and "thị" against a rare word) and which value holds a common word differs from province to
province, which the columns' own statistics cannot say. Without them the planner took a 10,948-row bucket for
one of 588 and read it whole; with them it starts from the rarest bucket and the host's cases (the search of
bench/pages_gunicorn.py at 1,000,000 cases: 7.8 ms, then 1.4–2.0 ms, warm).

The lookup index grows (its entries are no longer deduplicated: about 320 MB instead of 33 MB for the five
million index rows of 1,000,000 people); each case adds two index entries.

Revision ID: b5d1e8f2a6c3
Revises: a4c7e2d9b1f3
Create Date: 2026-12-06 00:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b5d1e8f2a6c3'
down_revision = 'a4c7e2d9b1f3'
branch_labels = None
depends_on = None

LOOKUP = ['record_type', 'field', 'province_code', 'value']
# The scopes of those who search names: a host's addresses, a commune officer's commune.
SCOPES = {'ix_case_address_person': 'address_id', 'ix_case_commune_person': 'commune_code'}
BUCKET_STATISTICS = 'st_blind_index_bucket'  # PostgreSQL only


def upgrade():
    op.drop_index('ix_blind_index_lookup', table_name='blind_index')
    op.create_index('ix_blind_index_lookup', 'blind_index', [*LOOKUP, 'index_version', 'record_id'], unique=False)
    for name, column in SCOPES.items():
        op.create_index(name, 'case', [column, 'person_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'CREATE STATISTICS {BUCKET_STATISTICS} (mcv) ON field, province_code, value FROM blind_index')
        op.execute('ANALYZE blind_index')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'DROP STATISTICS IF EXISTS {BUCKET_STATISTICS}')
    for name in SCOPES:
        op.drop_index(name, table_name='case')
    op.drop_index('ix_blind_index_lookup', table_name='blind_index')
    op.create_index('ix_blind_index_lookup', 'blind_index', LOOKUP, unique=False)
