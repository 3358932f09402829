"""One monitor's wake-up: load it once, run its due windows, back off on failure.

A wake-up runs the due window and then up to `catch_up` missed complete windows, in order,
stopping early when the monitor is waiting for data; a longer backlog drains over the next
wake-ups (rows are never skipped). Wake-ups run on the scheduler's bounded thread pool and
their cycles on the configured executor (`monitor.executors`): in this process, or on Dask
workers.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from monitor.clock import Clock
from monitor.config import MonitorConfig
from monitor.cycle import CycleOutcome, MonitorRuntime
from monitor.cycle.recording import record_outside_failure
from monitor.errors import DriftwardenError
from monitor.executors.base import CycleExecutor
from monitor.executors.in_process import Builder
from monitor.scheduler.backoff import Backoff
from monitor.scheduler.counters import DaemonCounters
from monitor.scheduler.cycle_log import describe, log_outcome
from monitor.scheduler.memory import return_free_memory
from monitor.store import Store

log = logging.getLogger("driftwarden.scheduler")

__all__ = ["Builder", "MonitorJob"]


class MonitorJob:
    """One monitor's wake-up: load it once, run its due windows, back off on failure."""

    def __init__(
        self,
        config: MonitorConfig,
        store: Store,
        *,
        executor: CycleExecutor,
        clock: Clock,
        period: timedelta,
        counters: DaemonCounters,
        stopping: threading.Event,
        max_cycles: int | None = None,
        on_done: Callable[[str], None] | None = None,
        on_recorded: Callable[[CycleOutcome], None] | None = None,
        before_cycle: Callable[[MonitorRuntime], object] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.executor = executor
        self.clock = clock
        self.period = period
        self.counters = counters
        self.stopping = stopping
        self.max_cycles = max_cycles
        self.on_done = on_done
        self.on_recorded = on_recorded
        self.before_cycle = before_cycle
        #: the monitor's runtime when the executor loads it in this process
        self.runtime: MonitorRuntime | None = None
        self.loaded = False
        self.cycles = 0
        self.backoff = Backoff(period)
        self.idle = threading.Event()
        self.idle.set()
        self._warned_waiting = False
        self._lock = threading.Lock()
        #: cycles failed in a row, and the last one's error (readiness reads them)
        self.failed_cycles = 0
        self.last_error: str | None = None
        self._store_down = False
        self._probe_name = f"{socket.gethostname()}:{os.getpid()}:{config.name}"

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def done(self) -> bool:
        return self.max_cycles is not None and self.cycles >= self.max_cycles

    def wake(self) -> list[CycleOutcome]:
        """Run the due window and missed ones; never raises (the scheduler thread is shared)."""
        if not self._lock.acquire(blocking=False):
            return []
        # busy before looking at `stopping`: a stop that saw this job idle must not see it
        # start a cycle afterwards
        self.idle.clear()
        try:
            if self.done or self.stopping.is_set():
                return []
            if not self._store_writable():
                return []
            if self.backoff.sit_out():
                log.debug(
                    "monitor %s: backing off (%d wake-ups to skip)", self.name, self.backoff.skip
                )
                return []
            return self._run_due()
        finally:
            self.idle.set()
            self._lock.release()
            if self.done and self.on_done is not None:
                self.on_done(self.name)

    def _store_writable(self) -> bool:
        """Prove the store takes a write before a cycle: while it does not, a cycle would
        score a window only to lose it, so the wake-up is a failure without backoff; once it
        does again, the monitor runs at once (failures the outage caused forgotten)."""
        problem = self.store.probe_write(self._probe_name)
        if problem is not None:
            if not self._store_down:
                log.error(
                    "monitor %s: the store cannot be written (%s); cycles wait for it",
                    self.name,
                    problem,
                    extra={"monitor": self.name, "status": "error", "error": problem},
                )
            self._store_down = True
            self._count_failure(f"the store cannot be written: {problem}")
            return False
        if self._store_down:
            log.info("monitor %s: the store takes writes again; resuming", self.name)
            self._store_down = False
            self.backoff.reset()
        return True

    def _count_failure(self, message: str) -> None:
        self.failed_cycles += 1
        self.last_error = message
        self.counters.set_failing(self.name, self.failed_cycles)

    def _count_success(self) -> None:
        if self.failed_cycles:
            self.failed_cycles = 0
            self.last_error = None
            self.counters.set_failing(self.name, 0)

    def _run_due(self) -> list[CycleOutcome]:
        if not self._ensure_loaded():
            return []
        runtime = self.runtime
        outcomes: list[CycleOutcome] = []
        for _ in range(1 + self.config.catch_up):
            if self.stopping.is_set() or self.done:
                break
            if not self._prepare(runtime):
                self.cycles += 1
                break
            outcome = self._one_cycle(runtime)
            self.cycles += 1
            if outcome is None:
                break
            outcomes.append(outcome)
            if outcome.status == "error":
                self._count_failure(outcome.error or "the cycle failed")
                self._failed()
                break
            self._count_success()
            self.backoff.succeeded()
            if outcome.status == "waiting":
                self._explain_waiting(runtime)
                break
        return outcomes

    def _one_cycle(self, runtime: MonitorRuntime | None) -> CycleOutcome | None:
        started = time.perf_counter()
        try:
            outcome = self.executor.cycle(
                self.config, runtime, self.store, self.clock, self.on_recorded
            )
        except Exception as exc:  # the store refused the run itself: nothing could record it
            message = describe(exc)
            log.error(
                "monitor %s: cycle failed and could not be recorded: %s",
                self.name,
                message,
                extra={"monitor": self.name, "status": "error", "error": message},
            )
            self.counters.count_unrecorded(self.name)
            self._count_failure(message)
            self._failed()
            return None
        log_outcome(outcome, time.perf_counter() - started)
        return_free_memory()
        return outcome

    def _prepare(self, runtime: MonitorRuntime | None) -> bool:
        """Run `before_cycle` (e.g. switch to a newly promoted model); False when it failed."""
        if self.before_cycle is None or runtime is None:
            return True
        try:
            self.before_cycle(runtime)
        except Exception as exc:  # recorded like any failed cycle; the monitor carries on
            self._record_failure("cannot prepare the cycle", describe(exc))
            self._count_failure(f"cannot prepare the cycle: {describe(exc)}")
            self._failed()
            return False
        return True

    def _explain_waiting(self, runtime: MonitorRuntime | None) -> None:
        """Say once why a source may wait for good (a glob that matches nothing at all)."""
        reason = self.executor.waiting_reason(self.config, runtime)
        if reason is None:
            self._warned_waiting = False
        elif not self._warned_waiting:
            self._warned_waiting = True
            log.warning(
                "monitor %s: %s",
                self.name,
                reason,
                extra={"monitor": self.name, "status": "waiting"},
            )

    def _ensure_loaded(self) -> bool:
        if self.loaded:
            return True
        started = time.perf_counter()
        try:
            self.runtime = self.executor.load(self.config)
        except Exception as exc:  # a broken monitor is recorded and retried, never fatal
            message = describe(exc)
            if not isinstance(exc, DriftwardenError):
                log.exception("monitor %s: unexpected failure while loading", self.name)
            self._record_failure("cannot load the monitor", message)
            self._count_failure(f"cannot load the monitor: {message}")
            self.cycles += 1
            self._failed()
            return False
        self.loaded = True
        model = (
            f"model {getattr(self.runtime.model, 'version', '?')}"
            if self.runtime is not None
            else "on the executor's workers"
        )
        log.info("monitor %s: loaded %s in %.1fs", self.name, model, time.perf_counter() - started)
        return True

    def _record_failure(self, what: str, message: str) -> None:
        """An error run for a failure outside `run_cycle`, so `runs_total` counts it too."""
        if (
            record_outside_failure(self.store, self.name, self.clock.now(), f"{what}: {message}")
            is None
        ):
            self.counters.count_unrecorded(self.name)
        log.error(
            "monitor %s: %s: %s (retrying with backoff)",
            self.name,
            what,
            message,
            extra={"monitor": self.name, "status": "error", "error": message},
        )

    def _failed(self) -> None:
        skip = self.backoff.failed()
        if skip:
            log.warning(
                "monitor %s: %d failures in a row; skipping the next %d wake-ups",
                self.name,
                self.backoff.failures,
                skip,
            )
