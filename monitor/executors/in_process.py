"""The default executor: cycles run in the daemon's own threads, models loaded here."""

from __future__ import annotations

from collections.abc import Callable

from monitor.clock import Clock
from monitor.config import MonitorConfig
from monitor.config.executor import IN_PROCESS_CONCURRENCY, DaskExecutorConfig, ExecutorChoice
from monitor.cycle import CycleOutcome, MonitorRuntime, run_cycle
from monitor.executors.base import CycleExecutor, OnRecorded
from monitor.store import Store

Builder = Callable[[MonitorConfig], MonitorRuntime]


class InProcessExecutor(CycleExecutor):
    """Builds each monitor's runtime here (models shared by identity) and runs `run_cycle`."""

    def __init__(
        self, build: Builder = MonitorRuntime.build, concurrency: int = IN_PROCESS_CONCURRENCY
    ) -> None:
        self.build = build
        self.concurrency = concurrency

    def load(self, config: MonitorConfig) -> MonitorRuntime:
        return self.build(config)

    def cycle(
        self,
        config: MonitorConfig,
        runtime: MonitorRuntime | None,
        store: Store,
        clock: Clock,
        on_recorded: OnRecorded | None = None,
    ) -> CycleOutcome:
        assert runtime is not None, "an in-process cycle needs the monitor loaded here"
        return run_cycle(runtime, store, clock, on_recorded)

    def waiting_reason(self, config: MonitorConfig, runtime: MonitorRuntime | None) -> str | None:
        return None if runtime is None else runtime.source.waiting_reason()


def build_executor(config: ExecutorChoice, build: Builder) -> CycleExecutor:
    """The executor the config names (`build` loads a monitor in this process)."""
    if isinstance(config, DaskExecutorConfig):
        from monitor.executors.dask_cluster import DaskExecutor

        return DaskExecutor(config)
    return InProcessExecutor(build, config.concurrency)
