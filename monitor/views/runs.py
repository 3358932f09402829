"""`runs --json`: one object per run, with its run-level metrics and per-feature drift."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.metrics.result import FEATURE_DRIFT
from monitor.store.repository import StoredRun, stored_runs


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as every JSON view writes times."""
    return moment.isoformat().replace("+00:00", "Z")


def run_summary(stored: StoredRun) -> dict[str, Any]:
    """One run in the `runs --json` shape (README.md, "`runs --json`")."""
    run = stored.run
    metrics: dict[str, Any] = {}
    features: dict[str, Any] = {}
    for value in stored.values:
        if value.name == FEATURE_DRIFT:
            features[value.feature] = {
                "method": value.method,
                "score": value.value,
                "threshold": value.threshold,
                "drifted": value.drifted,
            }
        elif not value.feature:
            metrics[value.name] = value.value
    return {
        "run_id": run.id,
        "monitor": stored.monitor,
        "window_start": iso(run.window_start),
        "window_end": iso(run.window_end),
        "status": run.status,
        "error": run.error,
        "rows": run.rows,
        "quarantined": run.quarantined,
        "quarantined_files": run.quarantined_files or 0,
        "model_version": run.model_version,
        "metrics": metrics,
        "features": features,
    }


def run_summaries(
    session: Session,
    monitor: str | None = None,
    limit: int | None = None,
    run_ids: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Runs in the `runs --json` shape, oldest first (the newest `limit` when given)."""
    return [run_summary(stored) for stored in stored_runs(session, monitor, limit, run_ids)]
