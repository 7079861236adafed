"""audit trail: hash-chained events, their head, signed checkpoints; append-only triggers

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
APPEND_ONLY = ("audit_events", "audit_checkpoints")

# SQLite has no statement to truncate a table: DELETE is the only way, and a table with a
# DELETE trigger never takes the truncate shortcut, so these two triggers per table suffice.
SQLITE_TRIGGERS = [
    *(
        f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb.upper()} refused'); END"
        for table in APPEND_ONLY
        for verb in ("update", "delete")
    ),
    "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
    "BEGIN SELECT RAISE(ABORT, 'audit_head cannot be deleted'); END",
    "CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head "
    "WHEN NEW.id <> OLD.id OR NEW.last_seq <= OLD.last_seq "
    "BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward'); END",
]
POSTGRESQL_FUNCTIONS = [
    """
    CREATE FUNCTION charter_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
    END
    $$
    """,
    """
    CREATE FUNCTION charter_audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.id <> OLD.id OR NEW.last_seq <= OLD.last_seq THEN
            RAISE EXCEPTION 'audit_head only moves forward';
        END IF;
        RETURN NEW;
    END
    $$
    """,
]
POSTGRESQL_TRIGGERS = [
    *(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION charter_audit_append_only()"
        for table in APPEND_ONLY
    ),
    *(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION charter_audit_append_only()"
        for table in (*APPEND_ONLY, "audit_head")
    ),
    "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
    "FOR EACH ROW EXECUTE FUNCTION charter_audit_append_only()",
    "CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head "
    "FOR EACH ROW EXECUTE FUNCTION charter_audit_head_forward()",
]


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("occurred_at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_token_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=256), nullable=True),
        sa.Column("resource_name", sa.String(length=1024), nullable=True),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("before_json", sa.Text(), nullable=True),
        sa.Column("after_json", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_action", ["action", "seq"], unique=False)
        batch_op.create_index("ix_audit_events_actor", ["actor", "seq"], unique=False)
        batch_op.create_index("ix_audit_events_model", ["model", "seq"], unique=False)
        batch_op.create_index("ix_audit_events_resource", ["resource_name", "seq"], unique=False)
        batch_op.create_index("ix_audit_events_time", ["occurred_at", "seq"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=80), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
        sa.UniqueConstraint("seq", "key_fingerprint", name=op.f("uq_audit_checkpoints_seq")),
    )
    # The chain starts empty: no event yet, and the first one links to the genesis hash.
    seed = sa.text("INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, :genesis)")
    op.execute(seed.bindparams(genesis=GENESIS_HASH))
    if op.get_bind().dialect.name == "postgresql":
        for statement in (*POSTGRESQL_FUNCTIONS, *POSTGRESQL_TRIGGERS):
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    # Dropping a table drops its indexes and triggers on both databases (SQLite drops the
    # triggers before its implicit DELETE, so they do not refuse it); the functions remain.
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_head")
    op.drop_table("audit_events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS charter_audit_head_forward()")
        op.execute("DROP FUNCTION IF EXISTS charter_audit_append_only()")
