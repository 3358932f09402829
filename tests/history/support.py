"""Stores with a known history, written through the store's own repository functions.

No model scores anything: each window's run-level metrics are given, so a test says
exactly which windows breach a rule, which are gaps and which runs failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from monitor.records.rows import Rejected
from monitor.store import RunRecord, open_store
from monitor.store.repository import record_run

START = datetime(2026, 11, 2, tzinfo=UTC)
STEP = timedelta(minutes=5)
FAILED = "failed"

#: a window: its run-level metrics, or FAILED (a run that measured nothing)
WindowSpec = dict[str, float] | str


def write_history(
    url: str,
    windows: Sequence[WindowSpec],
    *,
    monitor: str = "svc",
    start: datetime = START,
    quarantined: int = 0,
) -> None:
    """Record one run per window, 5 minutes apart, in one transaction."""
    store = open_store(url)
    try:
        with store.transaction() as session:
            for i, spec in enumerate(windows):
                window_start = start + i * STEP
                window_end = window_start + STEP
                failed = spec == FAILED
                rejected = [
                    Rejected(f"w{i}-r{j}", "empty text", {"text": ""}) for j in range(quarantined)
                ]
                record_run(
                    session,
                    RunRecord(
                        monitor,
                        window_start,
                        window_end,
                        window_end,
                        window_end,
                        status="error" if failed else "ok",
                        error="model crashed" if failed else None,
                        rows=0 if failed else 100,
                        metrics={} if isinstance(spec, str) else dict(spec),
                        quarantined=rejected if i == 0 else [],
                    ),
                )
    finally:
        store.close()
