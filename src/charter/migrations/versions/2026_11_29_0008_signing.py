"""signing and model cards: version signatures, editable model card texts

Revision ID: 0008
Revises: 0001
Create Date: 2026-11-29 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "version_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("bundle", sa.Text(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=80), nullable=False),
        sa.Column("manifest_digest", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name=op.f("fk_version_signatures_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_signatures")),
        sa.UniqueConstraint(
            "version_id", "key_fingerprint", name=op.f("uq_version_signatures_version_id")
        ),
    )
    with op.batch_alter_table("version_signatures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_version_signatures_fingerprint", ["key_fingerprint"], unique=False
        )

    for table, owner, owner_table in (
        ("model_card_fields", "model_id", "registered_models"),
        ("version_card_fields", "version_id", "model_versions"),
    ):
        op.create_table(
            table,
            sa.Column(owner, sa.Integer(), nullable=False),
            sa.Column("field", sa.String(length=64), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("updated_at", sa.BigInteger(), nullable=False),
            sa.Column("updated_by", sa.String(length=256), nullable=False),
            sa.ForeignKeyConstraint(
                [owner],
                [f"{owner_table}.id"],
                name=op.f(f"fk_{table}_{owner}_{owner_table}"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint(owner, "field", name=op.f(f"pk_{table}")),
        )


def downgrade() -> None:
    op.drop_table("version_card_fields")
    op.drop_table("model_card_fields")
    with op.batch_alter_table("version_signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_version_signatures_fingerprint")
    op.drop_table("version_signatures")
