"""`run_cycle`: one monitoring cycle, the entry point of the daemon, `once` and `replay`.

The swap to the store's live model version, then the pure part (read, score, metrics),
then one store transaction; then, on a monitor with a `labels:` source, the label join
(monitor.cycle.labels). The cycle takes its clock as an argument and knows no CLI or
scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from monitor.clock import Clock
from monitor.cycle.compute import CycleStart, compute_window, error_record
from monitor.cycle.labels import join_labels
from monitor.cycle.outcome import CycleOutcome, Stopwatch
from monitor.cycle.recording import record_waiting, store_failure, store_window
from monitor.cycle.runtime import MonitorRuntime
from monitor.errors import DriftwardenError
from monitor.store import Store
from monitor.store.repository import watermark
from monitor.store.scan_extents import keep_scan_extent, kept_scan_extent
from monitor.store.sequential_pool import pooled_windows
from monitor.versions.switch import activate_live_version

log = logging.getLogger("driftwarden.cycle")


def run_cycle(
    runtime: MonitorRuntime,
    store: Store,
    clock: Clock,
    on_recorded: Callable[[CycleOutcome], None] | None = None,
) -> CycleOutcome:
    """Run one cycle: nothing is stored unless the whole window is (watermark included).

    `on_recorded` hears of a cycle that stored a window or raised alert transitions.
    """
    outcome = _window(runtime, store, clock)
    labels = join_labels(runtime, store, clock)
    outcome.labels = labels
    outcome.transitions += labels.transitions
    if on_recorded is not None and (outcome.recorded or outcome.transitions):
        on_recorded(outcome)
    return outcome


def _window(runtime: MonitorRuntime, store: Store, clock: Clock) -> CycleOutcome:
    """The next complete window, scored and recorded (or a failed run, or nothing yet)."""
    config = runtime.config
    watch = Stopwatch()
    started = clock.now()
    try:
        activate_live_version(store, runtime)
        with watch.stage("read"), store.reading() as session:
            mark = watermark(session, config.name)
            runtime.source.recall_extent(kept_scan_extent(session, config.name))
            pooled = pooled_windows(session, config.name, config.drift.sequential.windows)
    except DriftwardenError as exc:  # an unusable live version, or the store is down
        start = CycleStart(None, None, started)
        version = runtime.model.version
        failed = error_record(config.name, version, start, clock, watch, None, str(exc))
        return store_failure(store, failed)
    start = CycleStart(mark[0] if mark else None, mark[1] if mark else None, started, pooled)
    # one Scoring for the whole window: a swap can only happen before the next cycle
    record = compute_window(config, runtime.source, runtime.scoring, start, clock, watch)
    _keep_extent(store, runtime, clock)
    if record is None:
        # files set aside while the stream waits are recorded now, not with a later window
        return record_waiting(store, config.name, runtime.source.unreadable_files(), clock)
    if record.status == "error":
        return store_failure(store, record)
    return store_window(store, config, record, watch)


def _keep_extent(store: Store, runtime: MonitorRuntime, clock: Clock) -> None:
    """Keep what the read took in past the watermark, in a transaction of its own (before
    the window's: a process that dies between them is told its window was not stored)."""
    extent = runtime.source.scan_extent()
    if extent is None:
        return
    try:
        with store.transaction() as session:
            keep_scan_extent(session, runtime.config.name, extent, clock.now())
    except DriftwardenError as exc:  # kept at the next scan; the window's transaction says why
        runtime.source.recall_extent(None)
        log.warning("monitor %s: scan extents not kept: %s", runtime.config.name, exc)
