"""The rows cycles set aside and the late labels not joined (`driftwarden quarantine`), read
back with their reasons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from monitor.store.schema import MonitorRow, QuarantinedLabelRow, QuarantinedRow


def _newest(
    session: Session,
    table: type[QuarantinedRow] | type[QuarantinedLabelRow],
    monitor: str | None,
    limit: int | None,
    *conditions: ColumnElement[bool],
) -> list[tuple[Any, str]]:
    """(row, monitor name) pairs of `table`, oldest first (the newest `limit` when given)."""
    query = select(table, MonitorRow.name).join(MonitorRow, MonitorRow.id == table.monitor_id)
    if monitor is not None:
        query = query.where(MonitorRow.name == monitor)
    query = query.where(*conditions).order_by(table.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [(row, name) for row, name in reversed(session.execute(query).all())]


def _when(row: Any) -> str:
    return row.created_at.isoformat().replace("+00:00", "Z")


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
    by_run = () if run_id is None else (QuarantinedRow.run_id == run_id,)
    rows = _newest(session, QuarantinedRow, monitor, limit, *by_run)
    return [
        {
            "monitor": name,
            "run_id": row.run_id,
            "kind": row.kind,
            "row_id": row.row_id,
            "reason": row.reason,
            "raw": row.raw,
            "created_at": _when(row),
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
    rows = _newest(session, QuarantinedLabelRow, monitor, limit)
    return [
        {
            "monitor": name,
            "row_id": row.row_id,
            "label": row.label,
            "kind": row.kind,
            "reason": row.reason,
            "released": row.released,
            "raw": row.raw,
            "created_at": _when(row),
        }
        for row, name in rows
    ]
