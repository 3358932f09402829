"""Counts the daemon keeps in memory because the store cannot hold them."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping


class DaemonCounters:
    """Thread-safe counts of what the store cannot hold: scheduler events, unrecorded failures,
    cycles failing in a row."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: Counter[tuple[str, str]] = Counter()
        self._unrecorded: Counter[str] = Counter()
        self._failing: dict[str, int] = {}

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

    def set_failing(self, monitor: str, cycles: int) -> None:
        """How many cycles of `monitor` failed in a row (0: the last one did not)."""
        with self._lock:
            self._failing[monitor] = cycles

    def failing_cycles(self) -> Mapping[str, int]:
        with self._lock:
            return dict(self._failing)
