"""The rows cycles set aside and the late labels not joined (`driftwarden quarantine`), read
back with their reasons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.schema import MonitorRow, QuarantinedLabelRow, QuarantinedRow


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


def quarantined_label_rows(
    session: Session, *, monitor: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Labels set aside by the label join, oldest first (the newest `limit`), as plain dicts.

    `kind` is unknown_id, duplicate, conflicting, ambiguous or invalid; `released` marks an
    unknown-id label decided again once a window scored its row.
    """
    query = select(QuarantinedLabelRow, MonitorRow.name).join(
        MonitorRow, MonitorRow.id == QuarantinedLabelRow.monitor_id
    )
    if monitor is not None:
        query = query.where(MonitorRow.name == monitor)
    query = query.order_by(QuarantinedLabelRow.id.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = list(reversed(session.execute(query).all()))
    return [
        {
            "monitor": name,
            "row_id": row.row_id,
            "label": row.label,
            "kind": row.kind,
            "reason": row.reason,
            "released": row.released,
            "raw": row.raw,
            "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
        }
        for row, name in rows
    ]
