"""Fixtures for scheduling tests: a fresh SQLite store and a clock APScheduler reads too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scheduling_fakes import START, patch_apscheduler_clock

from monitor.clock import SimulatedClock
from monitor.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimulatedClock:
    """A simulated clock that APScheduler's scheduler and executors read as "now" too."""
    simulated = SimulatedClock(START)
    patch_apscheduler_clock(monkeypatch, simulated)
    return simulated
