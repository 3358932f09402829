"""The rows cycles set aside (`driftwarden quarantine`), read back with their reasons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.schema import MonitorRow, QuarantinedRow


def quarantined_rows(
    session: Session,
    *,
    monitor: str | None = None,
    run_id: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Quarantined rows, oldest first (the newest `limit` when given), as plain dicts.

    `run_id` is the run whose window set the row aside (None when that run was deleted).
    """
    query = select(QuarantinedRow, MonitorRow.name).join(
        MonitorRow, MonitorRow.id == QuarantinedRow.monitor_id
    )
    if monitor is not None:
        query = query.where(MonitorRow.name == monitor)
    if run_id is not None:
        query = query.where(QuarantinedRow.run_id == run_id)
    query = query.order_by(QuarantinedRow.id.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = list(reversed(session.execute(query).all()))
    return [
        {
            "monitor": name,
            "run_id": row.run_id,
            "kind": row.kind,
            "row_id": row.row_id,
            "reason": row.reason,
            "raw": row.raw,
            "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
        }
        for row, name in rows
    ]
