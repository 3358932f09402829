"""the drift family's p-values, scored references kept per model version, tabular run inputs

- `metric_values.p_value`: a drift-family test's p-value (its statistic is `value`, its
  Holm level `threshold`);
- `reference_data`: a monitor's reference as a model version scored it, so a starting
  process reuses it and `report` builds a run's report from the store alone;
- `runs.reference_key`: which of those a run was compared with;
- `run_inputs`: a tabular run's feature values (text runs keep their text in `predictions`).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("metric_values") as batch_op:
        batch_op.add_column(sa.Column("p_value", sa.Float(), nullable=True))
    with op.batch_alter_table("runs") as batch_op:
        batch_op.add_column(sa.Column("reference_key", sa.String(length=64), nullable=True))
    op.create_table(
        "reference_data",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["monitor_id"], ["monitors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("monitor_id", "key", name="uq_reference_data_key"),
    )
    op.create_table(
        "run_inputs",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id"),
    )


def downgrade() -> None:
    op.drop_table("run_inputs")
    op.drop_table("reference_data")
    with op.batch_alter_table("runs") as batch_op:
        batch_op.drop_column("reference_key")
    with op.batch_alter_table("metric_values") as batch_op:
        batch_op.drop_column("p_value")
