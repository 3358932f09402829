"""`hooks --json`: one object per delivery attempt, with its delivery's current status."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from monitor.store.outbox import attempt_rows
from monitor.views.runs import iso


def attempts(
    session: Session, *, monitor: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Delivery attempts, oldest first (the newest `limit`), in the `hooks --json` shape."""
    return [
        {
            "attempt_id": row.id,
            "delivery_id": row.delivery_id,
            "monitor": row.monitor,
            "rule": row.rule,
            "hook": row.hook,
            "event": row.event,
            "attempt": row.attempt,
            "outcome": row.outcome,
            "status_code": row.status_code,
            "exit_status": row.exit_status,
            "duration_seconds": round(row.duration_seconds, 4),
            "started_at": iso(row.started_at),
            "detail": row.detail,
            "delivery_status": status,
        }
        for row, status in attempt_rows(session, monitor=monitor, limit=limit)
    ]
