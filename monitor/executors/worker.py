"""What a Dask worker runs: a cycle's pure part, on runtimes it keeps between tasks.

Each worker process builds a monitor's runtime (model, reference scores, metrics engine,
source) at its first task for that monitor and keeps it; models are shared by identity
within the process (`monitor.models.shared`), so a worker loads each distinct model once.
A task reads, scores and computes, and returns the record: it never writes the store, so
running it again (a worker died mid-cycle) is harmless and the daemon records it once.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass

from monitor.clock import Clock
from monitor.config import MonitorConfig
from monitor.cycle.compute import CycleStart, compute_window
from monitor.cycle.outcome import Stopwatch
from monitor.cycle.runtime import MonitorRuntime
from monitor.store import RunRecord
from monitor.versions.switch import LiveVersion, switch_to


@dataclass(frozen=True)
class WorkerResult:
    """A task's answer: the window's record (None: no complete window yet)."""

    record: RunRecord | None
    #: why the source may wait for good, when it waited
    waiting_reason: str | None
    #: which process computed it (tests and logs tell workers apart by it)
    pid: int
    #: the reference this worker scored, as (key, bytes), for the daemon to keep in the
    #: store (workers have none), so `report` and other processes find it
    reference: tuple[str, bytes] | None = None


class WorkerRuntimes:
    """Runtimes by monitor, rebuilt when a monitor's config changes; one build at a time
    per monitor (a worker with several threads may get two monitors' first tasks at once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runtimes: dict[str, tuple[str, MonitorRuntime]] = {}
        self._building: dict[str, threading.Lock] = {}

    def get(self, config: MonitorConfig) -> MonitorRuntime:
        digest = hashlib.sha256(config.model_dump_json().encode()).hexdigest()
        with self._lock:
            building = self._building.setdefault(config.name, threading.Lock())
        with building:
            with self._lock:
                found = self._runtimes.get(config.name)
            if found is not None and found[0] == digest:
                return found[1]
            runtime = MonitorRuntime.build(config)
            with self._lock:
                self._runtimes[config.name] = (digest, runtime)
            if found is not None:
                found[1].close()
            return runtime

    def __len__(self) -> int:
        with self._lock:
            return len(self._runtimes)


#: this worker process's runtimes
RUNTIMES = WorkerRuntimes()


def load_monitor(config: MonitorConfig) -> int:
    """Build the monitor's runtime on this worker now (start-up warms one worker)."""
    RUNTIMES.get(config)
    return os.getpid()


def compute_cycle(
    config: MonitorConfig, start: CycleStart, live: LiveVersion | None, clock: Clock
) -> WorkerResult:
    """Read, score and compute the window after `start.after` under the `live` version."""
    runtime = RUNTIMES.get(config)
    # the daemon read the live version in the cycle's start: the whole window uses it
    switch_to(runtime, live)
    watch = Stopwatch()
    record = compute_window(config, runtime.source, runtime.scoring, start, clock, watch)
    waiting = runtime.source.waiting_reason() if record is None else None
    return WorkerResult(record, waiting, os.getpid(), runtime.take_unkept())
