"""What the built-in retrain hooks share: a delivery that acts only on a firing alert of a
monitor loaded in this process, runs in a thread bounded by the hook's timeout, and holds
the monitor's one retrain lock (a head retrain and a fine-tune never overlap)."""

from __future__ import annotations

import threading
from abc import abstractmethod
from typing import Any

from monitor.hooks.base import AttemptResult, Hook
from monitor.versions.view import MonitorView

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def monitor_lock(monitor: str) -> threading.Lock:
    """The one lock every retrain of `monitor` holds, whichever hook runs it."""
    with _locks_guard:
        return _locks.setdefault(monitor, threading.Lock())


class RetrainHook(Hook):
    """A hook that retrains the monitor whose alert fired; a resolved alert does nothing."""

    def accepts(self, monitor: str) -> bool:
        return monitor in self.context.monitors

    def deliver(self, event: dict[str, Any]) -> AttemptResult:
        """Retrain in a thread bounded by the hook's timeout; one past it records nothing."""
        if event.get("state") != "firing":
            return AttemptResult(True, detail="nothing to retrain on a resolved alert")
        monitor = self.context.monitors.get(str(event.get("monitor")))
        if monitor is None:
            return AttemptResult(False, True, detail="the monitor does not run in this process")
        cancelled = threading.Event()
        result, finished = self.run_bounded(
            lambda: self._retrain(monitor, event, cancelled),
            f"driftwarden-{self.config.type}-{self.name}",
        )
        if not finished:
            cancelled.set()  # the retrain may still end, but then it records nothing
        return result

    @abstractmethod
    def _retrain(
        self, monitor: MonitorView, event: dict[str, Any], cancelled: threading.Event
    ) -> AttemptResult:
        """One retrain of `monitor` for `event`; it checks `cancelled` before it records."""
