"""registry: an index on the open period of each alias and stage

Moving an alias closes its current holding; without this index the UPDATE scanned every past
holding of that alias (thousands for an alias moved by every training run).

Revision ID: 0010
Revises: 0001
Create Date: 2026-11-29 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lifecycle_holdings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lifecycle_holdings_open",
            ["model_id", "kind", "label"],
            unique=False,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("lifecycle_holdings", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_lifecycle_holdings_open",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
