"""Fakes for scheduling tests: a tiny model, runtimes on in-memory streams, a clock that
APScheduler itself reads, and a scheduler that only moves when the test ticks it.

A plain module (not a conftest) so tests/integration can load it too."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.base import BaseScheduler

from monitor.clock import SimulatedClock
from monitor.config import MonitorConfig
from monitor.corpus import generate_reviews
from monitor.cycle import MonitorRuntime
from monitor.models.base import Model, ModelInputs
from monitor.records.scores import Scores
from monitor.sources.memory import MemorySource

START = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


class FakeModel(Model):
    """Positive when a text is long: deterministic, instant, no torch."""

    reads = "text"
    class_names = ("negative", "positive")
    version = "fake-1"
    name = "fake"

    def __init__(self, *, fail: bool = False, delay_s: float = 0.0) -> None:
        self.fail = fail
        self.delay_s = delay_s
        self.calls = 0

    def _score(self, inputs: ModelInputs) -> Scores:
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("the model is broken")
        lengths = np.array([len(str(text)) for text in inputs], dtype=float)
        positive = 1.0 / (1.0 + np.exp(-(lengths - 90.0) / 20.0))
        probabilities = np.column_stack([1.0 - positive, positive])
        return Scores(probabilities.argmax(axis=1), self.class_names, probabilities)


def monitor_config(name: str = "fake", **overrides: Any) -> MonitorConfig:
    raw: dict[str, Any] = {
        "name": name,
        "model": {"type": "embedding-head", "head": "unused-head"},
        "reference": {"path": "reference.csv"},
        "stream": {"path": "unused/*.csv"},
        "columns": {"text": "text", "target": "label"},
        "schedule": {"every": "5m"},
        "window": {"rows": 20},
        "snapshot": False,
    }
    raw.update(overrides)
    return MonitorConfig.model_validate(raw)


REFERENCE = generate_reviews(120, seed=1)


def stream_rows(n: int, seed: int = 2) -> pd.DataFrame:
    return generate_reviews(n, seed=seed)[["text", "label"]]


def fake_runtime(
    config: MonitorConfig, model: FakeModel | None = None, rows: int = 0
) -> MonitorRuntime:
    """A runtime on an in-memory stream holding `rows` rows."""
    source = MemorySource(config.columns, config.window, name=config.name)
    if rows:
        source.append(stream_rows(rows))
    return MonitorRuntime(config, source, model or FakeModel(), REFERENCE)


def patch_apscheduler_clock(monkeypatch: pytest.MonkeyPatch, simulated: SimulatedClock) -> None:
    """Make APScheduler's scheduler and executors read `simulated` as "now"."""

    class ClockDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            moment = simulated.now()
            return moment.astimezone(tz) if tz is not None else moment

    monkeypatch.setattr("apscheduler.schedulers.base.datetime", ClockDatetime)
    monkeypatch.setattr("apscheduler.executors.base.datetime", ClockDatetime)


class ManualScheduler(BaseScheduler):
    """Processes due jobs only when `tick()` is called; jobs run in the calling thread."""

    def __init__(self, executor: DebugExecutor | None = None) -> None:
        super().__init__(executors={"default": executor or DebugExecutor()}, timezone="UTC")

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def wakeup(self) -> None:
        pass  # nothing sleeps: the test decides when time passes

    def _create_lock(self) -> threading.RLock:
        return threading.RLock()

    def tick(self) -> None:
        self._process_jobs()
