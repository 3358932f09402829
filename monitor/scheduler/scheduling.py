"""Every monitor's job on one APScheduler, run on a bounded pool of threads.

A wake-up runs the due window and then up to `catch_up` missed complete windows
(`monitor.scheduler.job`); `max_instances=1` and `coalesce=True` keep one wake-up per
monitor at a time, and a misfire grace of one period keeps a late wake-up. At most
`executor.concurrency` wake-ups run at once (a fleet of 200 monitors does not start 200
threads that fight over the cores); one that waited in the pool's queue for more than a
period is skipped and counted as `missed`, and the next catches up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger

from monitor.clock import Clock, SystemClock
from monitor.config import MonitorConfig
from monitor.cycle import CycleOutcome, MonitorRuntime
from monitor.errors import ConfigError
from monitor.executors.base import CycleExecutor
from monitor.executors.in_process import InProcessExecutor
from monitor.scheduler.counters import DaemonCounters
from monitor.scheduler.job import Builder, MonitorJob
from monitor.scheduler.triggers import build_trigger, schedule_period
from monitor.store import Store

log = logging.getLogger("driftwarden.scheduler")

_EVENTS = {
    EVENT_JOB_MISSED: "missed",
    EVENT_JOB_MAX_INSTANCES: "max_instances",
    EVENT_JOB_ERROR: "error",
}

# APScheduler's own log lines repeat what `_on_event` counts and logs in our words
# (a "maximum number of running instances" warning every period while a model loads).
_APSCHEDULER_LOG = logging.getLogger("driftwarden.apscheduler")
_APSCHEDULER_LOG.setLevel(logging.ERROR)


class MonitorScheduler:
    """Every monitor's job on one APScheduler, on a pool of `executor.concurrency` threads.

    `executor` says where cycles run (default: in this process, built with `build`).
    """

    def __init__(
        self,
        monitors: Sequence[MonitorConfig],
        store: Store,
        *,
        build: Builder = MonitorRuntime.build,
        executor: CycleExecutor | None = None,
        clock: Clock | None = None,
        max_cycles: int | None = None,
        scheduler: BaseScheduler | None = None,
        counters: DaemonCounters | None = None,
        on_recorded: Callable[[CycleOutcome], None] | None = None,
        before_cycle: Callable[[MonitorRuntime], object] | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.executor = executor or InProcessExecutor(build)
        self.counters = counters or DaemonCounters()
        self.stopping = threading.Event()
        self.finished = threading.Event()  # set when every job reached --max-cycles
        self._done: set[str] = set()
        self._done_lock = threading.Lock()
        now = self.clock.now()
        self.triggers: dict[str, BaseTrigger] = {}
        self.jobs: dict[str, MonitorJob] = {}
        for i, config in enumerate(monitors):
            try:
                self.triggers[config.name] = build_trigger(config.schedule)
                period = schedule_period(config.schedule, now)
            except ConfigError as exc:
                raise ConfigError(f"monitors[{i}].{exc}") from None
            self.jobs[config.name] = MonitorJob(
                config,
                store,
                executor=self.executor,
                clock=self.clock,
                period=period,
                counters=self.counters,
                stopping=self.stopping,
                max_cycles=max_cycles,
                on_done=self._job_done,
                on_recorded=on_recorded,
                before_cycle=before_cycle,
            )
        self.scheduler = scheduler or BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=self.executor.concurrency)},
            timezone="UTC",
            logger=_APSCHEDULER_LOG,
        )

    def start(self) -> None:
        self.scheduler.add_listener(
            self._on_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR
        )
        for name, job in self.jobs.items():
            self.scheduler.add_job(
                job.wake,
                trigger=self.triggers[name],
                id=name,
                name=name,
                max_instances=1,
                coalesce=True,
                # a wake-up late by less than a period still runs; later ones coalesce
                misfire_grace_time=max(1, int(job.period.total_seconds())),
                # the first wake-up is at start-up: it catches up on what the downtime missed
                next_run_time=self.clock.now(),
            )
        self.scheduler.start()

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running) and not self.stopping.is_set()

    def runtimes(self) -> dict[str, MonitorRuntime]:
        """The monitors loaded so far, by name."""
        return {name: job.runtime for name, job in self.jobs.items() if job.runtime is not None}

    def unloaded(self) -> list[str]:
        return [name for name, job in self.jobs.items() if not job.loaded]

    def failing(self, at_least: int) -> dict[str, tuple[int, str]]:
        """Monitors whose last `at_least` cycles (or more) failed: (how many, last error)."""
        return {
            name: (job.failed_cycles, job.last_error or "the cycle failed")
            for name, job in self.jobs.items()
            if job.failed_cycles >= at_least
        }

    def stop(self, grace_s: float) -> bool:
        """Start no new cycle; wait up to `grace_s` for running ones. True when none is left."""
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + grace_s
        for job in self.jobs.values():
            if not job.idle.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def _job_done(self, name: str) -> None:
        # the job stays scheduled and returns at once from now on: removing it from inside
        # its own run races the scheduler thread, which updates the job after submitting it
        with self._done_lock:
            self._done.add(name)
            if self._done >= set(self.jobs):
                self.finished.set()

    def _on_event(self, event: JobEvent) -> None:
        kind = _EVENTS.get(event.code)
        if kind is None:
            return
        self.counters.count_event(event.job_id, kind)
        if kind == "missed":
            log.warning(
                "monitor %s: wake-up due at %s was missed; the next one catches up",
                event.job_id,
                getattr(event, "scheduled_run_time", "?"),
            )
        elif kind == "max_instances":
            # expected while a model loads or a cycle outlasts its period
            log.debug("monitor %s: still busy at its next wake-up; skipped", event.job_id)
        else:
            log.error("monitor %s: job raised: %s", event.job_id, getattr(event, "exception", ""))
