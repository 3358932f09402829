"""`runs --json`: one object per run, with its run-level metrics, every drift signal (score,
threshold or level, flag), the drift family's tests and the run's stage timings; a run that
late labels gave quality versions shows the latest (and says which)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.records.results import EMBEDDING_DRIFT, FAMILY_TEST, FEATURE_DRIFT, PREDICTION_DRIFT
from monitor.store.explanations import explanations
from monitor.store.quality import VERSIONED, version_value
from monitor.store.run_reads import StoredRun, stored_runs


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as every JSON view writes times."""
    return moment.isoformat().replace("+00:00", "Z")


def run_summary(stored: StoredRun, explanation: dict[str, Any] | None = None) -> dict[str, Any]:
    """One run in the `runs --json` shape (README.md, "`runs --json`"); `explanation`: what
    changed in the window (`monitor.metrics.explain`), None where none was stored."""
    run = stored.run
    metrics: dict[str, Any] = {}
    features: dict[str, Any] = {}
    signals: dict[str, Any] = {}
    tests: dict[str, Any] = {}
    for value in stored.values:
        signal = {
            "method": value.method,
            "score": value.value,
            "threshold": value.threshold,
            "drifted": value.drifted,
        }
        if value.name == FEATURE_DRIFT:
            features[value.feature] = signal
        elif value.name in (PREDICTION_DRIFT, EMBEDDING_DRIFT):
            signals[value.feature] = signal
        elif value.name == FAMILY_TEST:
            tests[value.feature] = {
                "method": value.method,
                "statistic": value.value,
                "p_value": value.p_value,
                "level": value.threshold,
                "drifted": value.drifted,
            }
        elif not value.feature:
            metrics[value.name] = value.value
    quality = None
    if stored.quality is not None:
        version = stored.quality
        metrics = {k: v for k, v in metrics.items() if k not in VERSIONED}
        metrics.update({k: v for k in VERSIONED if (v := version_value(version, k)) is not None})
        quality = {
            "version": version.version,
            "final": version.final,
            "final_reason": version.final_reason,
            "updated_at": iso(version.created_at),
        }
    family = None
    # the combination and the sequential test are stored beside the members (drift_test rows)
    combined, sequential = tests.pop("combined", None), tests.pop("sequential", None)
    if tests:
        found = [*tests.values(), *([combined] if combined else [])]
        levels = [test["level"] for test in found if test["level"] is not None]
        family = {
            # Holm's step-down (weighted or not) gives its last test alpha itself: the
            # combination's level where it stands alone, else the largest level; the
            # min-p members' levels are the combination's critical value times a weight
            "alpha": max(levels) if levels else None,
            "correction": "min-p" if combined else "holm",
            "drifted": any(test["drifted"] for test in tests.values()),
            "tests": tests,
            "combined": combined,
            "sequential": sequential,
        }
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
        "quality": quality,
        "signals": signals,
        "drift_family": family,
        "stage_seconds": dict(run.stage_seconds or {}),
        "explanation": explanation,
    }


def run_summaries(
    session: Session,
    monitor: str | None = None,
    limit: int | None = None,
    run_ids: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Runs in the `runs --json` shape, oldest first (the newest `limit` when given)."""
    runs = stored_runs(session, monitor, limit, run_ids)
    found = explanations(session, [stored.run.id for stored in runs])
    return [run_summary(stored, found.get(stored.run.id)) for stored in runs]
