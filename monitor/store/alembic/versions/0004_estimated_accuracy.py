"""runs keep their label-free accuracy estimate as a run metric, `estimated_accuracy`

The exporter used to derive it from `mean_confidence` at each scrape; cycles now store it
with the run's other metrics. Runs recorded before get theirs here, with the same value.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO metric_values (run_id, name, feature, value) "
        "SELECT run_id, 'estimated_accuracy', feature, value FROM metric_values "
        "WHERE name = 'mean_confidence' AND feature = ''"
    )


def downgrade() -> None:
    op.execute("DELETE FROM metric_values WHERE name = 'estimated_accuracy'")
