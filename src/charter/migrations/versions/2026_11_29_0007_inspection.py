"""inspection: the scan queue and scan results per blob, per version file and per version

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-29 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None


def _result_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("globals", sa.JSON(), nullable=False),
        sa.Column("dangerous", sa.JSON(), nullable=False),
        sa.Column("suspicious", sa.JSON(), nullable=False),
        sa.Column("scanned_at", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "scan_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name=op.f("fk_scan_jobs_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_jobs")),
    )
    with op.batch_alter_table("scan_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_scan_jobs_status", ["status", "id"], unique=False)
        batch_op.create_index("ix_scan_jobs_version", ["version_id", "id"], unique=False)

    op.create_table(
        "blob_scans",
        *_result_columns(),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("engine", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "kind", name=op.f("pk_blob_scans")),
    )

    op.create_table(
        "version_file_scans",
        *_result_columns(),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name=op.f("fk_version_file_scans_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "path", name=op.f("pk_version_file_scans")),
    )

    op.create_table(
        "version_scans",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("signature", sa.JSON(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("scanned_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name=op.f("fk_version_scans_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_version_scans")),
    )
    with op.batch_alter_table("version_scans", schema=None) as batch_op:
        batch_op.create_index("ix_version_scans_verdict", ["verdict"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("version_scans", schema=None) as batch_op:
        batch_op.drop_index("ix_version_scans_verdict")
    op.drop_table("version_scans")
    op.drop_table("version_file_scans")
    op.drop_table("blob_scans")
    with op.batch_alter_table("scan_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_jobs_version")
        batch_op.drop_index("ix_scan_jobs_status")
    op.drop_table("scan_jobs")
