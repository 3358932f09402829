"""late labels: quality versions per run, the labels source's state, quarantined labels, and
the prediction log's label times and row-id index

Revision ID: 0006
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable), which SQLite does in place: the prediction log is the
    # store's largest table and is never copied
    op.add_column("predictions", sa.Column("labelled_at", sa.DateTime(timezone=True)))
    op.add_column("predictions", sa.Column("label_observed_at", sa.DateTime(timezone=True)))
    op.create_index("ix_predictions_row_id", "predictions", ["row_id"])
    op.create_table(
        "quality_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("latest", sa.Boolean(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("final_reason", sa.String(length=16), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("labelled_rows", sa.Integer(), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("new_labels", sa.Integer(), nullable=False),
        sa.Column("label_lag_seconds", sa.Float(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["monitor_id"], ["monitors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "version", name="uq_quality_version"),
    )
    op.create_index("ix_quality_versions_run_id", "quality_versions", ["run_id"])
    op.create_index(
        "ix_quality_versions_open", "quality_versions", ["monitor_id", "latest", "final"]
    )
    op.create_table(
        "label_states",
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Text(), nullable=True),
        sa.Column("opened_through_run_id", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["monitor_id"], ["monitors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("monitor_id"),
    )
    op.create_table(
        "quarantined_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("row_id", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["monitor_id"], ["monitors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_quarantined_labels_kind", "quarantined_labels", ["monitor_id", "kind", "released"]
    )


def downgrade() -> None:
    op.drop_table("quarantined_labels")
    op.drop_table("label_states")
    op.drop_table("quality_versions")
    op.drop_index("ix_predictions_row_id", table_name="predictions")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("label_observed_at")
        batch.drop_column("labelled_at")
