"""scan extents

- `scan_extents`: one row per monitor, what its last scan read past the stored watermark
  (kept apart from it), so a restarted process can tell rows that no window stored and a
  rewrite took away.

Revision ID: 0010_t2
Revises: 0009_q1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_t2"
down_revision = "0009_q1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scan_extents",
        sa.Column(
            "monitor_id",
            sa.Integer(),
            sa.ForeignKey("monitors.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("extents", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scan_extents")
