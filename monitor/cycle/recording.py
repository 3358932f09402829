"""The store part of a cycle: one transaction records the run, its alert rules' states and
the hook deliveries they raise, and moves the watermark; a window is recorded whole or not
at all."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from monitor.alerts import evaluate_rules
from monitor.clock import Clock
from monitor.config import MonitorConfig
from monitor.cycle.outcome import CycleOutcome, Stopwatch
from monitor.errors import DriftwardenError
from monitor.records.rows import Rejected
from monitor.store import RunRecord, Store
from monitor.store.explanations import save_explanation
from monitor.store.repository import (
    WindowTaken,
    record_run,
    record_set_aside,
    set_stage_seconds,
)

log = logging.getLogger("driftwarden.cycle")


def store_window(
    store: Store,
    config: MonitorConfig,
    record: RunRecord,
    watch: Stopwatch,
) -> CycleOutcome:
    """Record a window's run with its rules in one transaction (another process that took
    the window first makes this a `waiting` outcome that stored nothing)."""
    store_started = time.perf_counter()
    try:
        with store.transaction() as session:
            run_id = record_run(session, record)
            if record.result is not None and record.result.explanation is not None:
                save_explanation(session, run_id, record.result.explanation.to_json())
            # same transaction: the run, its rule states and their outbox rows commit together
            transitions = evaluate_rules(session, config, run_id, record.finished_at)
            # the store stage as far as the commit, and the total, go into the run row itself
            seconds = {**watch.seconds, "store": time.perf_counter() - store_started}
            seconds["total"] = sum(seconds.values())
            set_stage_seconds(session, run_id, seconds)
    except WindowTaken as exc:  # rolled back whole: the other process's run stands
        log.warning("%s", exc)
        return CycleOutcome(config.name, "waiting")
    outcome = CycleOutcome(
        config.name,
        "ok",
        run_id,
        record.rows,
        len(record.quarantined),
        record.window_start,
        record.window_end,
        record.result,
        None,
        seconds,
        transitions,
    )
    return outcome


def store_failure(store: Store, record: RunRecord) -> CycleOutcome:
    """Record a failed run (rules skip it: it measured nothing); a store that is down too
    is logged, and the outcome says the run went unrecorded."""
    run_id = None
    try:
        with store.transaction() as session:
            run_id = record_run(session, record)
    except DriftwardenError as store_exc:  # the store itself is down: log, keep going
        log.error("monitor %s: could not record the failed run: %s", record.monitor, store_exc)
    log.error("monitor %s: cycle failed: %s", record.monitor, record.error)
    return CycleOutcome(
        record.monitor,
        "error",
        run_id,
        0,
        0,
        record.window_start,
        record.window_end,
        None,
        record.error,
        dict(record.stage_seconds),
    )


def record_waiting(
    store: Store, monitor: str, unreadable: list[Rejected], clock: Clock
) -> CycleOutcome:
    """A cycle with no complete window: what it set aside (unreadable files) is stored now,
    with no run, so it shows at once; a store that is down is left to the next cycle."""
    outcome = CycleOutcome(monitor, "waiting")
    if not unreadable:
        return outcome
    try:
        with store.transaction() as session:
            fresh = record_set_aside(session, monitor, unreadable, clock.now())
    except DriftwardenError as exc:
        log.error("monitor %s: could not record unreadable files: %s", monitor, exc)
        return outcome
    for row in fresh:
        log.warning("monitor %s: set aside %s: %s", monitor, row.row_id, row.reason)
    outcome.quarantined = len(fresh)
    return outcome


def record_outside_failure(store: Store, monitor: str, now: datetime, message: str) -> int | None:
    """An error run for a failure outside `run_cycle` (a monitor that cannot load, a cycle
    that cannot be prepared), so `runs_total` counts it; None when the store refused it too
    (logged)."""
    record = RunRecord(
        monitor=monitor,
        window_start=now,
        window_end=now,
        started_at=now,
        finished_at=now,
        status="error",
        error=message,
    )
    try:
        with store.transaction() as session:
            return record_run(session, record)
    except DriftwardenError as exc:
        log.error("monitor %s: could not record the failure: %s", monitor, exc)
        return None
