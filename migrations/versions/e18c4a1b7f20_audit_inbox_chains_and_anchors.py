"""audit trail: an inbox sealed by the chainer, chains per province, their heads and signed anchors (issue 18)

``audit_event`` keeps every event (callers still query it by action and object): a request inserts an
unsealed row (``seq``, ``prev_mac``, ``mac``, ``sealed_at`` empty) with no lock; the chainer fills them in.
``id`` is the inbox order, ``chain`` the partition, ``xid`` the inserting transaction on PostgreSQL.
Existing events keep their ``seq`` and MAC as the national chain (``id`` = their ``seq``), and the national
chain's head row is written from the newest of them.

PostgreSQL: the append-only trigger now lets through exactly one UPDATE of an event, the chainer's, which
fills the seal columns of an unsealed row and changes nothing else; sealed rows and deletes are refused as
before. The head rows may only move forward, and anchors never change.

Revision ID: e18c4a1b7f20
Revises: c15a2b7d9e01
Create Date: 2026-12-04 11:30:00

"""
import sqlalchemy as sa
from alembic import op

import casework.models

# revision identifiers, used by Alembic.
revision = 'e18c4a1b7f20'
down_revision = 'c15a2b7d9e01'
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_PAYLOAD = ("ts", "actor_id", "actor_role", "action", "object_type", "object_id", "fields", "outcome", "detail",
            "request_id", "client_ip", "key_version")


def _event_columns():
    return [
        sa.Column('id', _BIG, autoincrement=True, nullable=False),
        sa.Column('chain', sa.String(length=16), server_default='national', nullable=False),
        sa.Column('seq', _BIG, nullable=True),
        sa.Column('ts', casework.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.String(length=32), nullable=True),
        sa.Column('actor_role', sa.String(length=32), nullable=True),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('object_type', sa.String(length=64), nullable=True),
        sa.Column('object_id', sa.String(length=64), nullable=True),
        sa.Column('fields', sa.String(length=512), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.String(length=128), nullable=True),
        sa.Column('request_id', sa.String(length=32), nullable=True),
        sa.Column('client_ip', sa.String(length=64), nullable=True),
        sa.Column('key_version', sa.Integer(), nullable=False),
        sa.Column('xid', sa.BigInteger(), nullable=True),
        sa.Column('prev_mac', sa.String(length=64), nullable=True),
        sa.Column('mac', sa.String(length=64), nullable=True),
        sa.Column('sealed_at', casework.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
        sa.UniqueConstraint('mac', name=op.f('uq_audit_event_mac')),
        sa.UniqueConstraint('chain', 'seq', name='uq_audit_event_chain_seq'),
    ]


def _indexes():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index('ix_audit_event_object', ['object_type', 'object_id'], unique=False)
    op.create_index('ix_audit_event_unsealed', 'audit_event', ['chain', 'id'], unique=False,
                    postgresql_where=sa.text('mac IS NULL'), sqlite_where=sa.text('mac IS NULL'))


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    cols = ", ".join(_PAYLOAD)
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("ALTER TABLE audit_event RENAME TO audit_event_v1")
        op.execute("ALTER TABLE audit_event_v1 RENAME CONSTRAINT pk_audit_event TO pk_audit_event_v1")
        op.execute("ALTER TABLE audit_event_v1 RENAME CONSTRAINT uq_audit_event_mac TO uq_audit_event_v1_mac")
        op.execute("ALTER TABLE audit_event_v1 RENAME CONSTRAINT uq_audit_event_prev_mac TO uq_audit_event_v1_prev")
        for name in ("ix_audit_event_action", "ix_audit_event_actor_id", "ix_audit_event_object"):
            op.execute(f"ALTER INDEX {name} RENAME TO {name}_v1")
    else:
        op.rename_table('audit_event', 'audit_event_v1')
        for name in ("ix_audit_event_action", "ix_audit_event_actor_id", "ix_audit_event_object"):
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.create_table('audit_event', *_event_columns())
    op.execute(f"INSERT INTO audit_event (id, chain, seq, {cols}, prev_mac, mac, sealed_at) "  # noqa: S608 - constant names
               f"SELECT seq, 'national', seq, {cols}, prev_mac, mac, ts FROM audit_event_v1 ORDER BY seq")
    op.drop_table('audit_event_v1')
    _indexes()
    op.create_table('audit_chain_head',
                    sa.Column('chain', sa.String(length=16), nullable=False),
                    sa.Column('seq', _BIG, nullable=False),
                    sa.Column('mac', sa.String(length=64), nullable=False),
                    sa.Column('sealed_at', casework.models.UTCDateTime(timezone=True), nullable=True),
                    sa.PrimaryKeyConstraint('chain', name=op.f('pk_audit_chain_head')))
    op.execute("INSERT INTO audit_chain_head (chain, seq, mac, sealed_at) "
               "SELECT 'national', seq, mac, ts FROM audit_event WHERE seq = (SELECT max(seq) FROM audit_event)")
    op.create_table('audit_anchor',
                    sa.Column('n', _BIG, autoincrement=False, nullable=False),
                    sa.Column('ts', casework.models.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('line', sa.Text(), nullable=False),
                    sa.PrimaryKeyConstraint('n', name=op.f('pk_audit_anchor')))
    if not postgres:
        return
    op.execute("SELECT setval(pg_get_serial_sequence('audit_event', 'id'), "
               "COALESCE((SELECT max(id) FROM audit_event), 0) + 1, false)")
    payload_old = ", ".join(f"OLD.{c}" for c in ("id", "chain", *_PAYLOAD))
    payload_new = ", ".join(f"NEW.{c}" for c in ("id", "chain", *_PAYLOAD))
    op.execute(f"""
        CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            -- The chainer's seal: an unsealed row gets its seq, links and MAC, and nothing else changes.
            IF TG_OP = 'UPDATE' AND OLD.mac IS NULL AND OLD.seq IS NULL AND OLD.prev_mac IS NULL
               AND NEW.mac IS NOT NULL AND NEW.seq IS NOT NULL AND NEW.prev_mac IS NOT NULL
               AND ({payload_new}, NEW.xid) IS NOT DISTINCT FROM ({payload_old}, OLD.xid) THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER audit_event_append_only
        BEFORE UPDATE OR DELETE ON audit_event
        FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
    """)
    op.execute("""
        CREATE FUNCTION audit_chain_head_forward_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND NEW.chain = OLD.chain AND NEW.seq > OLD.seq THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'audit_chain_head only moves forward: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER audit_chain_head_forward_only
        BEFORE UPDATE OR DELETE ON audit_chain_head
        FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward_only()
    """)
    op.execute("""
        CREATE FUNCTION audit_anchor_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_anchor is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER audit_anchor_append_only
        BEFORE UPDATE OR DELETE ON audit_anchor
        FOR EACH ROW EXECUTE FUNCTION audit_anchor_append_only()
    """)


def downgrade():
    """Back to one chain under a writers' lock: only while every event is sealed in the national chain."""
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    other = bind.execute(sa.text("SELECT count(*) FROM audit_event WHERE mac IS NULL OR chain <> 'national'"))
    if other.scalar():
        raise RuntimeError("audit events are unsealed or in province chains: the single-chain schema cannot "
                           "hold them")
    if postgres:
        for name in ("audit_anchor_append_only ON audit_anchor", "audit_chain_head_forward_only ON audit_chain_head",
                     "audit_event_append_only ON audit_event"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP FUNCTION IF EXISTS audit_anchor_append_only()")
        op.execute("DROP FUNCTION IF EXISTS audit_chain_head_forward_only()")
    op.drop_table('audit_anchor')
    op.drop_table('audit_chain_head')
    op.drop_index('ix_audit_event_unsealed', table_name='audit_event')
    with op.batch_alter_table('audit_event', schema=None, recreate='always') as batch_op:
        batch_op.drop_constraint('uq_audit_event_chain_seq', type_='unique')
        batch_op.drop_constraint('pk_audit_event', type_='primary')
        batch_op.drop_column('id')
        batch_op.drop_column('chain')
        batch_op.drop_column('xid')
        batch_op.drop_column('sealed_at')
        batch_op.alter_column('seq', existing_type=_BIG, nullable=False)
        batch_op.alter_column('prev_mac', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('mac', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_primary_key('pk_audit_event', ['seq'])
        batch_op.create_unique_constraint('uq_audit_event_prev_mac', ['prev_mac'])
    if postgres:
        op.execute("""
            CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$
        """)
        op.execute("""
            CREATE TRIGGER audit_event_append_only
            BEFORE UPDATE OR DELETE ON audit_event
            FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
        """)
