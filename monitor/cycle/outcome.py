"""What one call of `run_cycle` did, and the stopwatch that times its stages."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.alerts import Transition
from monitor.records.catalog import SUMMARY_METRICS
from monitor.records.results import Result

if TYPE_CHECKING:
    from monitor.cycle.labels import LabelOutcome


@dataclass
class CycleOutcome:
    """What one call of `run_cycle` did: `waiting` (no complete window), `ok` or `error`."""

    monitor: str
    status: str
    run_id: int | None = None
    rows: int = 0
    quarantined: int = 0
    window_start: datetime | None = None
    window_end: datetime | None = None
    result: Result | None = None
    error: str | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    #: alert episodes that fired or resolved on this run (committed with it), then those the
    #: label join raised (late quality rules, committed with its labels)
    transitions: list[Transition] = field(default_factory=list)
    #: what the label join did (None: it has not run)
    labels: LabelOutcome | None = None

    @property
    def recorded(self) -> bool:
        return self.run_id is not None

    def key_metrics(self) -> dict[str, float]:
        """The few numbers a summary line or a log line shows, in a fixed order."""
        metrics = self.result.run_metrics() if self.result is not None else {}
        return {name: metrics[name] for name in SUMMARY_METRICS if name in metrics}


class Stopwatch:
    """Seconds per stage of a cycle (read, score, metrics, store), summed over re-entries."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
