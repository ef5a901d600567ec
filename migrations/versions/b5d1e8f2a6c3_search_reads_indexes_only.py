"""a name search reads indexes only: blind-index buckets hold their record ids, cases their person per scope

bench/results/load.md (fifteenth stop): at 1,000,000 cases a host's name search started from her address's
cases and read each case row, each person row and each person's blind-index rows, thousands of scattered
pages; when they were not in memory a search took seconds and held a worker. With the record id at the end of
the blind-index lookup and an index of cases by place and person (an address for a host, a commune for a
commune officer; a province officer never searches names), the search intersects the name's buckets and the
user's scope inside two indexes and reads the person rows of the few matches only (issue 18).

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


def upgrade():
    op.drop_index('ix_blind_index_lookup', table_name='blind_index')
    op.create_index('ix_blind_index_lookup', 'blind_index', [*LOOKUP, 'index_version', 'record_id'], unique=False)
    for name, column in SCOPES.items():
        op.create_index(name, 'case', [column, 'person_id'], unique=False)


def downgrade():
    for name in SCOPES:
        op.drop_index(name, table_name='case')
    op.drop_index('ix_blind_index_lookup', table_name='blind_index')
    op.create_index('ix_blind_index_lookup', 'blind_index', LOOKUP, unique=False)
