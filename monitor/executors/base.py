"""What an executor is: where a monitor's cycles run their pure part (read, score, metrics).

The scheduler asks an executor to `load` a monitor once, then to run its cycles; the
store transaction (run, rules, deliveries, watermark) is always the daemon's, so a window is
recorded once whatever ran it (`monitor.cycle.recording`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from monitor.clock import Clock
from monitor.config import MonitorConfig
from monitor.cycle import CycleOutcome, MonitorRuntime
from monitor.store import Store

OnRecorded = Callable[[CycleOutcome], None]


class CycleExecutor(ABC):
    """Runs monitors' cycles; `concurrency` is how many the scheduler runs at once."""

    concurrency: int

    @abstractmethod
    def load(self, config: MonitorConfig) -> MonitorRuntime | None:
        """Make the monitor ready to run (may take seconds; raises when it cannot).

        Returns its runtime when the monitor lives in this process (hooks read it), None
        when it lives on remote workers.
        """

    @abstractmethod
    def cycle(
        self,
        config: MonitorConfig,
        runtime: MonitorRuntime | None,
        store: Store,
        clock: Clock,
        on_recorded: OnRecorded | None = None,
    ) -> CycleOutcome:
        """One cycle of a loaded monitor: nothing is stored unless the whole window is."""

    @abstractmethod
    def waiting_reason(self, config: MonitorConfig, runtime: MonitorRuntime | None) -> str | None:
        """Why the monitor's source may wait for good, as its last cycle saw it."""

    def close(self) -> None:  # noqa: B027 (optional: only some executors start anything)
        """Release what the executor started (a cluster, a client)."""
