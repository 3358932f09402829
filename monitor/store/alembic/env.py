"""Alembic environment: driftwarden runs migrations in-process on the store's own connection."""

from __future__ import annotations

from alembic import context

from monitor.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only the in-process path is supported
    raise RuntimeError("driftwarden's migrations run through monitor.store.open_store()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
