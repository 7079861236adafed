"""approvals: versioned promotion policies, promotion requests and their decisions

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-29 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["registered_models.id"],
            name=op.f("fk_approval_policies_model_id_registered_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_policies")),
        sa.UniqueConstraint("model_id", "version", name=op.f("uq_approval_policies_model_id")),
    )
    with op.batch_alter_table("approval_policies", schema=None) as batch_op:
        batch_op.create_index(
            "uq_approval_policies_global_version",
            ["version"],
            unique=True,
            sqlite_where=sa.text("model_id IS NULL"),
            postgresql_where=sa.text("model_id IS NULL"),
        )

    op.create_table(
        "promotion_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("archive_existing", sa.Boolean(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=256), nullable=False),
        sa.Column("requested_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=True),
        sa.Column("policy_scope", sa.String(length=8), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("evaluation", sa.JSON(), nullable=False),
        sa.Column("evaluated_at", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.Column("closed_by", sa.String(length=256), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("force_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["registered_models.id"],
            name=op.f("fk_promotion_requests_model_id_registered_models"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["approval_policies.id"],
            name=op.f("fk_promotion_requests_policy_id_approval_policies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name=op.f("fk_promotion_requests_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_requests")),
    )
    with op.batch_alter_table("promotion_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_promotion_requests_model", ["model_id", "requested_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_promotion_requests_requested", ["requested_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_promotion_requests_status", ["status", "expires_at"], unique=False
        )
        batch_op.create_index("ix_promotion_requests_version", ["version_id"], unique=False)

    op.create_table(
        "promotion_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("decided_by", sa.String(length=256), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["promotion_requests.id"],
            name=op.f("fk_promotion_decisions_request_id_promotion_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_decisions")),
        sa.UniqueConstraint(
            "request_id",
            "decided_by",
            "decision",
            name=op.f("uq_promotion_decisions_request_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("promotion_decisions")
    with op.batch_alter_table("promotion_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_promotion_requests_version")
        batch_op.drop_index("ix_promotion_requests_status")
        batch_op.drop_index("ix_promotion_requests_requested")
        batch_op.drop_index("ix_promotion_requests_model")

    op.drop_table("promotion_requests")
    with op.batch_alter_table("approval_policies", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_approval_policies_global_version",
            sqlite_where=sa.text("model_id IS NULL"),
            postgresql_where=sa.text("model_id IS NULL"),
        )

    op.drop_table("approval_policies")
