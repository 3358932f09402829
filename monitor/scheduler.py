"""APScheduler wiring: one job per monitor, catch-up after downtime, backoff, isolation.

Each monitor runs in its own executor thread, so a slow or failing monitor delays no other.
A wake-up runs the due window and then up to `catch_up` missed complete windows, in order,
stopping early when the monitor is waiting for data; a longer backlog drains over the next
wake-ups (rows are never skipped). After the n-th failure in a row a monitor sits out
2^(n-1) - 1 wake-ups, at most `MAX_BACKOFF` worth.
"""

from __future__ import annotations

import ctypes
import glob
import logging
import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.clock import Clock, SystemClock
from monitor.config import MonitorConfig, ScheduleConfig
from monitor.cycle import CycleOutcome, MonitorRuntime, run_cycle
from monitor.errors import ConfigError, DriftwardenError
from monitor.sources.files import FileSource
from monitor.store import RunRecord, Store
from monitor.store.repository import record_run

log = logging.getLogger("driftwarden.scheduler")

MAX_BACKOFF = timedelta(minutes=15)
_EVENTS = {
    EVENT_JOB_MISSED: "missed",
    EVENT_JOB_MAX_INSTANCES: "max_instances",
    EVENT_JOB_ERROR: "error",
}
Builder = Callable[[MonitorConfig], MonitorRuntime]

# APScheduler's own log lines repeat what `_on_event` counts and logs in our words
# (a "maximum number of running instances" warning every period while a model loads).
_APSCHEDULER_LOG = logging.getLogger("driftwarden.apscheduler")
_APSCHEDULER_LOG.setLevel(logging.ERROR)


def _timezone(schedule: ScheduleConfig) -> ZoneInfo:
    try:
        return ZoneInfo(schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"schedule.timezone: unknown time zone {schedule.timezone!r}") from None


def build_trigger(schedule: ScheduleConfig) -> BaseTrigger:
    """An interval trigger for `every:`, a crontab trigger for `cron:`, in the schedule's zone."""
    zone = _timezone(schedule)
    if schedule.every is not None:
        return IntervalTrigger(seconds=schedule.every.total_seconds(), timezone=zone)
    assert schedule.cron is not None
    try:
        return CronTrigger.from_crontab(schedule.cron, timezone=zone)
    except ValueError as exc:
        raise ConfigError(f"schedule.cron: {schedule.cron!r} is not valid: {exc}") from None


def schedule_period(schedule: ScheduleConfig, now: datetime) -> timedelta:
    """Time between wake-ups: the interval, or the gap between a cron's next two fire times."""
    if schedule.every is not None:
        return schedule.every
    trigger = build_trigger(schedule)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first) if first else None
    if first is None or second is None:
        return timedelta(days=1)
    return second - first


class DaemonCounters:
    """Thread-safe counts of what the store cannot hold: scheduler events, unrecorded failures."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: Counter[tuple[str, str]] = Counter()
        self._unrecorded: Counter[str] = Counter()

    def count_event(self, monitor: str, event: str) -> None:
        with self._lock:
            self._events[(monitor, event)] += 1

    def count_unrecorded(self, monitor: str) -> None:
        with self._lock:
            self._unrecorded[monitor] += 1

    def scheduler_events(self) -> Mapping[tuple[str, str], int]:
        with self._lock:
            return dict(self._events)

    def unrecorded_failures(self) -> Mapping[str, int]:
        with self._lock:
            return dict(self._unrecorded)


class MonitorJob:
    """One monitor's wake-up: build its runtime once, run its due windows, back off on failure."""

    def __init__(
        self,
        config: MonitorConfig,
        store: Store,
        *,
        build: Builder,
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
        self.build = build
        self.clock = clock
        self.period = period
        self.counters = counters
        self.stopping = stopping
        self.max_cycles = max_cycles
        self.on_done = on_done
        self.on_recorded = on_recorded
        self.before_cycle = before_cycle
        self.runtime: MonitorRuntime | None = None
        self.cycles = 0
        self.failures = 0  # consecutive failed cycles
        self.skip = 0  # wake-ups still to sit out
        self.idle = threading.Event()
        self.idle.set()
        self._warned_no_files = False
        self._lock = threading.Lock()

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
            if self.skip > 0:
                self.skip -= 1
                log.debug("monitor %s: backing off (%d wake-ups to skip)", self.name, self.skip)
                return []
            return self._run_due()
        finally:
            self.idle.set()
            self._lock.release()
            if self.done and self.on_done is not None:
                self.on_done(self.name)

    def _run_due(self) -> list[CycleOutcome]:
        runtime = self._ensure_runtime()
        if runtime is None:
            return []
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
                self._failed()
                break
            self.failures = 0
            if outcome.status == "waiting":
                self._explain_waiting(runtime)
                break
        return outcomes

    def _one_cycle(self, runtime: MonitorRuntime) -> CycleOutcome | None:
        started = time.perf_counter()
        try:
            outcome = run_cycle(runtime, self.store, self.clock, self.on_recorded)
        except Exception as exc:  # the store refused the run itself: nothing could record it
            message = describe(exc)
            log.error(
                "monitor %s: cycle failed and could not be recorded: %s",
                self.name,
                message,
                extra={"monitor": self.name, "status": "error", "error": message},
            )
            self.counters.count_unrecorded(self.name)
            self._failed()
            return None
        log_outcome(outcome, time.perf_counter() - started)
        return_free_memory()
        return outcome

    def _prepare(self, runtime: MonitorRuntime) -> bool:
        """Run `before_cycle` (e.g. switch to a newly promoted model); False when it failed."""
        if self.before_cycle is None:
            return True
        try:
            self.before_cycle(runtime)
        except Exception as exc:  # recorded like any failed cycle; the monitor carries on
            self._record_failure("cannot prepare the cycle", describe(exc))
            self._failed()
            return False
        return True

    def _explain_waiting(self, runtime: MonitorRuntime) -> None:
        """Say once when a file stream waits because its glob matches nothing at all."""
        pattern = runtime.config.stream.path
        if not isinstance(runtime.source, FileSource) or glob.glob(pattern):
            self._warned_no_files = False
            return
        if not self._warned_no_files:
            self._warned_no_files = True
            log.warning(
                "monitor %s: no stream files match %s yet; waiting for them",
                self.name,
                pattern,
                extra={"monitor": self.name, "status": "waiting"},
            )

    def _ensure_runtime(self) -> MonitorRuntime | None:
        if self.runtime is not None:
            return self.runtime
        started = time.perf_counter()
        try:
            self.runtime = self.build(self.config)
        except Exception as exc:  # a broken monitor is recorded and retried, never fatal
            message = describe(exc)
            if not isinstance(exc, DriftwardenError):
                log.exception("monitor %s: unexpected failure while loading", self.name)
            self._record_failure("cannot load the monitor", message)
            self.cycles += 1
            self._failed()
            return None
        log.info(
            "monitor %s: loaded model %s in %.1fs",
            self.name,
            getattr(self.runtime.model, "version", "?"),
            time.perf_counter() - started,
        )
        return self.runtime

    def _record_failure(self, what: str, message: str) -> None:
        """An error run for a failure outside `run_cycle`, so `runs_total` counts it too."""
        now = self.clock.now()
        record = RunRecord(
            monitor=self.name,
            window_start=now,
            window_end=now,
            started_at=now,
            finished_at=now,
            status="error",
            error=f"{what}: {message}",
        )
        try:
            with self.store.transaction() as session:
                record_run(session, record)
        except DriftwardenError as exc:
            log.error("monitor %s: could not record the failure: %s", self.name, exc)
            self.counters.count_unrecorded(self.name)
        log.error(
            "monitor %s: %s: %s (retrying with backoff)",
            self.name,
            what,
            message,
            extra={"monitor": self.name, "status": "error", "error": message},
        )

    def _failed(self) -> None:
        self.failures += 1
        limit = max(0, math.ceil(MAX_BACKOFF / self.period) - 1) if self.period else 0
        self.skip = min(2 ** (self.failures - 1) - 1, limit)
        if self.skip:
            log.warning(
                "monitor %s: %d failures in a row; skipping the next %d wake-ups",
                self.name,
                self.failures,
                self.skip,
            )


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, where the process has one (not on macOS or musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None


def return_free_memory() -> None:
    """Hand the memory a cycle freed back to the OS.

    Scoring allocates tensors of new shapes every window (each batch is padded to its own
    longest text), and glibc keeps what they free in its heaps: measured here, a demo
    daemon's RSS crept up by about 1 MB a cycle without this and stayed flat with it. The
    trim itself takes well under a millisecond.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


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


class MonitorScheduler:
    """Every monitor's job on one APScheduler, each on its own executor thread."""

    def __init__(
        self,
        monitors: Sequence[MonitorConfig],
        store: Store,
        *,
        build: Builder = MonitorRuntime.build,
        clock: Clock | None = None,
        max_cycles: int | None = None,
        scheduler: BaseScheduler | None = None,
        counters: DaemonCounters | None = None,
        on_recorded: Callable[[CycleOutcome], None] | None = None,
        before_cycle: Callable[[MonitorRuntime], object] | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
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
                build=build,
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
            executors={"default": ThreadPoolExecutor(max_workers=max(2, len(self.jobs)))},
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
        return [name for name, job in self.jobs.items() if job.runtime is None]

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
