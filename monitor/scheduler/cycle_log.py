"""The daemon's log line per cycle, and how a failure is put in words."""

from __future__ import annotations

import logging

from monitor.cycle import CycleOutcome
from monitor.errors import DriftwardenError

log = logging.getLogger("driftwarden.scheduler")


def describe(exc: BaseException) -> str:
    """Our errors speak for themselves; a foreign one needs its type to be understood."""
    return str(exc) if isinstance(exc, DriftwardenError) else f"{type(exc).__name__}: {exc}"


def log_outcome(outcome: CycleOutcome, seconds: float) -> None:
    """One structured line per cycle: monitor, window, rows, key metrics, duration."""
    if outcome.status == "waiting":
        log.debug("monitor %s: waiting for a complete window", outcome.monitor)
        return
    shown = {k: round(v, 4) for k, v in outcome.key_metrics().items()}
    fields = {
        "monitor": outcome.monitor,
        "run_id": outcome.run_id,
        "status": outcome.status,
        "window_start": outcome.window_start.isoformat() if outcome.window_start else None,
        "window_end": outcome.window_end.isoformat() if outcome.window_end else None,
        "rows": outcome.rows,
        "quarantined": outcome.quarantined,
        "metrics": shown,
        "duration_s": round(seconds, 3),
    }
    window = (
        f"{outcome.window_start:%Y-%m-%d %H:%M:%S} -> {outcome.window_end:%H:%M:%S}"
        if outcome.window_start and outcome.window_end
        else "-"
    )
    if outcome.status == "error":
        log.warning(
            "monitor %s: run %s error in %.2fs, window %s: %s",
            outcome.monitor,
            outcome.run_id,
            seconds,
            window,
            outcome.error,
            extra={**fields, "error": outcome.error},
        )
        return
    log.info(
        "monitor %s: run %s ok in %.2fs, window %s, %d rows, %d quarantined; %s",
        outcome.monitor,
        outcome.run_id,
        seconds,
        window,
        outcome.rows,
        outcome.quarantined,
        ", ".join(f"{k} {v:.3f}" for k, v in shown.items()) or "no metrics",
        extra=fields,
    )
