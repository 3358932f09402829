"""`driftwarden run`: the store, the exporter, the scheduler and the signals that stop them.

Without `--config` it runs the embedded demo. The first signal (SIGTERM or SIGINT) stops the
scheduler and lets running cycles finish within a grace period; a cycle still running after
it is abandoned uncommitted (its window is redone at the next start). A second signal exits
at once.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from monitor.clock import Clock
from monitor.config import Config, MonitorConfig, load_config
from monitor.cycle import CycleOutcome, MonitorRuntime
from monitor.errors import DriftwardenError
from monitor.executors.base import CycleExecutor
from monitor.executors.in_process import build_executor
from monitor.exporter import MetricsServer, MonitorInfo, StoreCollector, build_registry
from monitor.exporter.deadline import STORE_DEADLINE_S, Deadline, StoreTimeout
from monitor.scheduler.job import Builder
from monitor.scheduler.scheduling import MonitorScheduler
from monitor.scheduler.triggers import schedule_period
from monitor.store import Store, open_store
from monitor.store.latest import store_reachable

log = logging.getLogger("driftwarden.daemon")

GRACE_S = 30.0
PROBE_EVERY_S = 5.0
FORCED_EXIT = 1  # a second signal: the running cycle is abandoned uncommitted


@dataclass
class DaemonOptions:
    """The `run` command's options; None means "from the config" (or the demo's default)."""

    config: Path | None = None
    db: str | None = None
    metrics_host: str | None = None
    metrics_port: int | None = None
    max_cycles: int | None = None
    grace_s: float = GRACE_S


def model_label(config: MonitorConfig) -> str:
    """A short model name for `model_info{model=...}`: the encoder, directory or file name."""
    model = config.model
    encoder = getattr(model, "encoder", None)
    if model.type == "embedding-head" and isinstance(encoder, str):
        return (
            encoder.removeprefix("package:")
            if encoder.startswith("package:")
            else Path(encoder).name
        )
    path = getattr(model, "path", None)
    return Path(path).name if path is not None else model.type


def load_settings(options: DaemonOptions) -> tuple[Config, Builder, bool]:
    """The config to run, how to build each monitor, and whether it is the embedded demo."""
    if options.config is not None:
        return load_config(options.config), MonitorRuntime.build, False
    from monitor.demo.app import build_runtime, demo_config
    from monitor.home import data_dir

    home = data_dir()
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DriftwardenError(f"cannot create the data directory {home}: {exc.strerror}") from None
    log.info("no --config: running the embedded demo (data directory %s)", home)
    return demo_config(home), partial(build_runtime, home=home), True


class LoadedRuntimes(Mapping[str, MonitorRuntime]):
    """A live view of the monitors loaded so far: they load in their own job threads."""

    def __init__(self, scheduler: MonitorScheduler) -> None:
        self.scheduler = scheduler

    def __getitem__(self, name: str) -> MonitorRuntime:
        return self.scheduler.runtimes()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scheduler.runtimes())

    def __len__(self) -> int:
        return len(self.scheduler.runtimes())


class Daemon:
    """Everything `driftwarden run` holds while it runs, in start-up order."""

    def __init__(
        self,
        options: DaemonOptions,
        *,
        build: Builder | None = None,
        clock: Clock | None = None,
        settings: Config | None = None,
    ) -> None:
        self.options = options
        if settings is None:
            settings, default_build, self.demo = load_settings(options)
        else:
            default_build, self.demo = MonitorRuntime.build, False
        self.settings = settings
        self.build = build or default_build
        self.clock = clock
        self.stop_requested = threading.Event()
        self.store: Store | None = None
        self.scheduler: MonitorScheduler | None = None
        self.server: MetricsServer | None = None
        self._store_deadline: Deadline[str | None] = Deadline("readiness-store")
        self.dispatcher: Any = None
        self.executor: CycleExecutor | None = None
        self._probed_at = -math.inf

    def start(self) -> None:
        """Open the store, bind the port, start the jobs; undo what was done on failure."""
        settings, options = self.settings, self.options
        url = options.db or settings.storage
        try:
            self.store = open_store(url)
            self.executor = build_executor(settings.executor, self.build)
            self.scheduler = MonitorScheduler(
                settings.monitors,
                self.store,
                executor=self.executor,
                clock=self.clock,
                max_cycles=options.max_cycles,
                on_recorded=self._recorded,
                before_cycle=self._use_live_version,
            )
            now = self.scheduler.clock.now()
            collector = StoreCollector(
                self.store,
                [
                    MonitorInfo.from_config(
                        m, model_label(m), schedule_period(m.schedule, now).total_seconds()
                    )
                    for m in settings.monitors
                ],
                max_features=settings.metrics.max_features,
                counters=self.scheduler.counters,
            )
            host = options.metrics_host or settings.metrics.host
            port = settings.metrics.port if options.metrics_port is None else options.metrics_port
            self.server = MetricsServer(build_registry(collector), host, port, self.readiness)
            self.server.start()
            self._start_dispatcher()
        except BaseException:
            self.close()
            raise
        names = ", ".join(m.name for m in settings.monitors)
        log.info("starting %d monitor(s): %s", len(settings.monitors), names)
        self.scheduler.start()

    def _start_dispatcher(self) -> None:
        """Deliver alert events through the configured hooks, off the scoring path."""
        if not self.settings.hooks:
            return
        from monitor.hooks import Dispatcher

        assert self.store is not None and self.scheduler is not None
        self.dispatcher = Dispatcher(
            self.store,
            self.settings.hooks,
            self.scheduler.clock,
            monitors=LoadedRuntimes(self.scheduler),
        )
        self.dispatcher.start()

    def _use_live_version(self, runtime: MonitorRuntime) -> None:
        """A promoted or retrained head takes over at the next cycle (one SELECT otherwise)."""
        from monitor.versions.switch import activate_live_version

        assert self.store is not None
        activate_live_version(self.store, runtime)

    def _recorded(self, outcome: CycleOutcome) -> None:
        if self.dispatcher is not None and getattr(outcome, "transitions", None):
            self.dispatcher.wake()  # deliver the new alert events now, not at the next poll

    def readiness(self) -> list[str]:
        """Why the daemon is not ready (empty when it is): the store refuses reads or
        writes, the scheduler is not running, a model is not loaded yet, or a monitor's
        last `metrics.unready_after_failures` cycles failed."""
        problems = []
        try:  # a store that hangs costs the deadline, then a 503
            problem = self._store_deadline.call(self._store_problem)
        except Exception as exc:  # any failure here means "not ready", with its reason
            problems.append(f"store unreachable: {exc}")
        else:
            if problem is not None:
                problems.append(f"store cannot be written: {problem}")
        if self.scheduler is None or not self.scheduler.running:
            problems.append("scheduler not running")
        else:
            problems += [f"monitor {n}: model not loaded yet" for n in self.scheduler.unloaded()]
            limit = self.settings.metrics.unready_after_failures
            for name, (cycles, error) in sorted(self.scheduler.failing(limit).items()):
                problems.append(f"monitor {name}: {cycles} cycle(s) failed in a row: {error}")
        return problems

    def _store_problem(self) -> str | None:
        """Why the store refuses writes (None: it takes them); raises when it refuses reads."""
        assert self.store is not None
        with self.store.reading() as session:
            store_reachable(session)
        return self._write_probe()

    def _write_probe(self) -> str | None:
        """Whether the store takes a write, proven at most every PROBE_EVERY_S seconds (a
        probe that often costs nothing; one per request would let scrapers drive writes)."""
        assert self.store is not None
        now = time.monotonic()
        if now - self._probed_at >= PROBE_EVERY_S:
            self._probed_at = now
            self.store.probe_write(f"{socket.gethostname()}:{os.getpid()}")
        return self.store.write_problem()

    def wait(self) -> None:
        """Block until a stop is requested or every monitor ran its `--max-cycles`."""
        assert self.scheduler is not None
        while not self.stop_requested.is_set() and not self.scheduler.finished.is_set():
            # short waits: the main thread must come back to run signal handlers
            self.stop_requested.wait(0.5)
        if self.scheduler.finished.is_set():
            log.info("every monitor ran %s cycle(s): stopping", self.options.max_cycles)

    def shutdown(self) -> bool:
        """Stop the scheduler and wait for running cycles; True when none had to be abandoned."""
        clean = True
        if self.scheduler is not None:
            grace = self.options.grace_s
            if self.store is not None and self._store_hangs():
                grace = min(grace, STORE_DEADLINE_S)  # a cycle waiting on it cannot commit
            clean = self.scheduler.stop(grace)
            if not clean:
                log.warning(
                    "a cycle was still running after %.0fs; abandoning it uncommitted "
                    "(its window is redone at the next start)",
                    self.options.grace_s,
                )
        self.close(keep_store=not clean)  # an abandoned cycle may still hold the store
        return clean

    def _store_hangs(self) -> bool:
        try:
            self._store_deadline.call(self._store_problem)
        except StoreTimeout:
            log.warning("the store does not answer: running cycles are not waited for")
            return True
        except Exception:  # refusing at once is not hanging: cycles end by themselves
            return False
        return False

    def close(self, *, keep_store: bool = False) -> None:
        if self.scheduler is not None:
            for runtime in self.scheduler.runtimes().values():
                runtime.stop_workers()  # drift worker processes, where windows started them
        if self.dispatcher is not None:
            # every attempt ends by its deadline (in-process ones give up at once)
            self.dispatcher.stop(timeout=self.dispatcher.longest_deadline() + 1.0)
            self.dispatcher = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.executor is not None:
            self.executor.close()  # a LocalCluster's worker processes, a Dask client
            self.executor = None
        if self.store is not None and not keep_store:
            self.store.close()
            self.store = None


class _StopSignals:
    """SIGTERM/SIGINT: the first asks the daemon to stop, a second exits at once."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.previous: dict[int, object] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers (tests run the daemon elsewhere)
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stop.is_set():
            log.warning("second %s: exiting now", name)
            _exit_now(FORCED_EXIT)
        log.info("%s received: stopping after the running cycles (again to exit at once)", name)
        self.stop.set()


def _exit_now(code: int) -> None:
    """Leave without waiting for executor threads; uncommitted work rolls back in the store."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_daemon(
    options: DaemonOptions,
    *,
    build: Builder | None = None,
    exit_now: Callable[[int], None] = _exit_now,
) -> int:
    """Run until signalled (or `--max-cycles` is reached); returns the exit code."""
    daemon = Daemon(options, build=build)
    signals = _StopSignals(daemon.stop_requested)
    signals.install()
    try:
        daemon.start()
        daemon.wait()
        clean = daemon.shutdown()
    finally:
        signals.restore()
    log.info("stopped")
    if not clean:
        exit_now(0)  # executor threads would otherwise hold the interpreter open
    return 0
