"""lineage: shared entities, version edges (to entities and parent versions), key/values

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-29 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lineage_entities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("revision", sa.String(length=256), nullable=False),
        sa.Column("namespace", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_entities")),
        sa.UniqueConstraint(
            "kind", "name", "revision", "namespace", name=op.f("uq_lineage_entities_kind")
        ),
    )
    with op.batch_alter_table("lineage_entities", schema=None) as batch_op:
        batch_op.create_index("ix_lineage_entities_revision", ["kind", "revision"], unique=False)

    op.create_table(
        "lineage_edges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("parent_version_id", sa.Integer(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.CheckConstraint(
            "(entity_id IS NULL) <> (parent_version_id IS NULL)",
            name=op.f("ck_lineage_edges_one_target"),
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["lineage_entities.id"],
            name=op.f("fk_lineage_edges_entity_id_lineage_entities"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["parent_version_id"],
            ["model_versions.id"],
            name=op.f("fk_lineage_edges_parent_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name=op.f("fk_lineage_edges_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_edges")),
        sa.UniqueConstraint(
            "version_id", "role", "entity_id", name=op.f("uq_lineage_edges_version_id")
        ),
        sa.UniqueConstraint(
            "version_id", "role", "parent_version_id", name="uq_lineage_edges_version_parent"
        ),
    )
    with op.batch_alter_table("lineage_edges", schema=None) as batch_op:
        batch_op.create_index("ix_lineage_edges_entity", ["entity_id", "version_id"], unique=False)
        batch_op.create_index(
            "ix_lineage_edges_parent", ["parent_version_id", "version_id"], unique=False
        )

    op.create_table(
        "lineage_values",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name=op.f("fk_lineage_values_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "section", "key", name=op.f("pk_lineage_values")),
    )


def downgrade() -> None:
    op.drop_table("lineage_values")
    with op.batch_alter_table("lineage_edges", schema=None) as batch_op:
        batch_op.drop_index("ix_lineage_edges_parent")
        batch_op.drop_index("ix_lineage_edges_entity")

    op.drop_table("lineage_edges")
    with op.batch_alter_table("lineage_entities", schema=None) as batch_op:
        batch_op.drop_index("ix_lineage_entities_revision")

    op.drop_table("lineage_entities")
