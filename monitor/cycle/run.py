"""`run_cycle`: one monitoring cycle, the entry point of the daemon, `once` and `replay`.

The swap to the store's live model version, then the pure part (read, score, metrics),
then one store transaction; then, on a monitor with a `labels:` source, the label join
(monitor.cycle.labels). The cycle takes its clock as an argument and knows no CLI or
scheduler.
"""

from __future__ import annotations

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
from monitor.versions.switch import activate_live_version


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
    except DriftwardenError as exc:  # an unusable live version, or the store is down
        start = CycleStart(None, None, started)
        version = runtime.model.version
        failed = error_record(config.name, version, start, clock, watch, None, str(exc))
        return store_failure(store, failed)
    start = CycleStart(mark[0] if mark else None, mark[1] if mark else None, started)
    # one Scoring for the whole window: a swap can only happen before the next cycle
    record = compute_window(config, runtime.source, runtime.scoring, start, clock, watch)
    if record is None:
        # files set aside while the stream waits are recorded now, not with a later window
        return record_waiting(store, config.name, runtime.source.unreadable_files(), clock)
    if record.status == "error":
        return store_failure(store, record)
    return store_window(store, config, record, watch)
