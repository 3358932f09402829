"""strings that come from the data (row ids, class names, feature names) become unbounded

SQLite never enforced the VARCHAR lengths, so a long row id from a stream's id column was
kept there and refused by PostgreSQL. Only servers that enforce lengths are altered; on
SQLite the declared length is a comment and copying the prediction log would be costly.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# (table, column, nullable)
_COLUMNS = (
    ("predictions", "row_id", False),
    ("predictions", "predicted_name", False),
    ("predictions", "target", True),
    ("quarantined_rows", "row_id", False),
    ("metric_values", "feature", False),
)


def _enforces_lengths() -> bool:
    return op.get_bind().dialect.name != "sqlite"


def upgrade() -> None:
    if not _enforces_lengths():
        return
    for table, column, nullable in _COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.Text(),
            existing_type=sa.String(length=200),
            existing_nullable=nullable,
        )


def downgrade() -> None:
    if not _enforces_lengths():
        return
    for table, column, nullable in _COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.String(length=200),
            existing_type=sa.Text(),
            existing_nullable=nullable,
        )
