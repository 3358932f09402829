"""sequential pool

- `sequential_pool`: each window's share of the sequential test's pool (its rows' keys and
  novelty scores), kept with its run, so a restarted daemon or another fleet worker pools
  the same windows.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sequential_pool",
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "monitor_id",
            sa.Integer(),
            sa.ForeignKey("monitors.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("pool_key", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=20), nullable=False),
        sa.Column("keys", sa.LargeBinary(), nullable=False),
        sa.Column("scores", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_sequential_pool_monitor_id", "sequential_pool", ["monitor_id"])


def downgrade() -> None:
    op.drop_index("ix_sequential_pool_monitor_id", table_name="sequential_pool")
    op.drop_table("sequential_pool")
