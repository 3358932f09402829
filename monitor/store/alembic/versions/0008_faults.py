"""file quarantine, head hashes and write probes

- `quarantined_rows.kind`: `row`, or `file` for a stream file set aside whole (its name in
  `row_id`); `runs.quarantined_files` counts the files a run's read set aside.
- `model_versions.sha256`: the hash of a version's files when it was registered, checked
  before the version scores (a version promoted before has none, and is not checked).
- `store_probes`: one row per process, rewritten to prove the store takes writes.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "quarantined_rows",
        sa.Column("kind", sa.String(length=8), nullable=False, server_default="row"),
    )
    op.add_column(
        "runs", sa.Column("quarantined_files", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("model_versions", sa.Column("sha256", sa.String(length=64), nullable=True))
    op.create_table(
        "store_probes",
        sa.Column("name", sa.String(length=200), primary_key=True),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("store_probes")
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("sha256")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("quarantined_files")
    with op.batch_alter_table("quarantined_rows") as batch:
        batch.drop_column("kind")
