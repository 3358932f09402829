"""A fleet on a bounded pool: never more cycles at once than `concurrency`, and a monitor
stuck in its cycle holds one slot while the others keep running theirs."""

from __future__ import annotations

import threading
import time
from collections import Counter

from scheduling_fakes import REFERENCE, FakeModel, monitor_config, stream_rows

from monitor.clock import SystemClock
from monitor.cycle import MonitorRuntime
from monitor.executors.in_process import InProcessExecutor
from monitor.models.base import ModelInputs
from monitor.records.scores import Scores
from monitor.scheduler.scheduling import MonitorScheduler
from monitor.sources.memory import MemorySource
from monitor.store import Store

CONCURRENCY = 3


class Gauge:
    """How many models score at once, and the most that ever did."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.active -= 1


class MeasuredModel(FakeModel):
    """The fake model, counted while it scores; `stuck` blocks until released."""

    def __init__(self, gauge: Gauge, stuck: threading.Event | None = None) -> None:
        super().__init__(delay_s=0.02)
        self.gauge = gauge
        self.stuck = stuck

    def _score(self, inputs: ModelInputs) -> Scores:
        with self.gauge:
            if self.stuck is not None and len(inputs) != len(REFERENCE):
                self.stuck.wait(120)
            return super()._score(inputs)


def test_a_stuck_monitor_holds_one_slot_and_the_fleet_runs_on(store: Store) -> None:
    gauge = Gauge()
    release = threading.Event()
    configs = [monitor_config(f"m{i}", schedule={"every": "1s"}, catch_up=0) for i in range(8)]

    def build(config):  # type: ignore[no-untyped-def]
        source = MemorySource(config.columns, config.window, name=config.name)
        source.append(stream_rows(400, seed=len(config.name)))
        stuck = release if config.name == "m0" else None
        return MonitorRuntime(config, source, MeasuredModel(gauge, stuck), REFERENCE)

    executor = InProcessExecutor(build, concurrency=CONCURRENCY)
    monitors = MonitorScheduler(configs, store, executor=executor, clock=SystemClock())
    recorded: Counter[str] = Counter()
    lock = threading.Lock()

    def count(outcome) -> None:  # type: ignore[no-untyped-def]
        with lock:
            recorded[outcome.monitor] += 1

    for job in monitors.jobs.values():
        job.on_recorded = count
    monitors.start()
    try:
        # a liveness bound, not a timing assertion: the others each record 3 windows
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with lock:
                if all(recorded[c.name] >= 3 for c in configs[1:]):
                    break
            time.sleep(0.05)
        with lock:
            progress = dict(recorded)
        assert progress.get("m0", 0) == 0  # still stuck in its first cycle
        assert all(progress.get(c.name, 0) >= 3 for c in configs[1:]), progress
        assert len(threading.enumerate()) < 8 + 10  # no thread per monitor
    finally:
        release.set()
        assert monitors.stop(grace_s=60)
    assert gauge.peak <= CONCURRENCY
    assert gauge.peak >= 2  # the pool does run cycles side by side
