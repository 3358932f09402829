"""A store that hangs (issue 22: PostgreSQL processes stopped) costs the endpoints a
deadline, not the whole wait: `/metrics` answers with `store_up 0`, readiness says the
store does not answer, and a hung read is never started twice."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from monitor.exporter import MonitorInfo, StoreCollector, build_registry
from monitor.exporter.deadline import Deadline, StoreTimeout
from monitor.store.database import open_store


class _HungEngine:
    """An engine whose connections never come (the database's processes are stopped)."""

    def __init__(self, release: threading.Event, entered: list[int]) -> None:
        self.release, self.entered = release, entered

    def connect(self):
        self.entered.append(1)
        self.release.wait(30)
        raise RuntimeError("released")


@pytest.fixture
def hung_store(tmp_path: Path, monkeypatch):
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    release = threading.Event()
    entered: list[int] = []
    real = store.engine
    monkeypatch.setattr(store, "engine", _HungEngine(release, entered))
    yield store, entered
    release.set()
    real.dispose()


def test_metrics_answer_with_store_up_0_while_the_store_hangs(hung_store) -> None:
    store, entered = hung_store
    monitors = [MonitorInfo("reviews", "sklearn", 300.0)]
    registry = build_registry(StoreCollector(store, monitors))
    first = generate_latest(registry).decode()
    assert 'driftwarden_store_up{monitor="reviews"} 0.0' in first
    second = generate_latest(registry).decode()  # the hung read is waited on, not redone
    assert 'driftwarden_store_up{monitor="reviews"} 0.0' in second
    assert len(entered) == 1


def test_a_deadline_gives_the_result_or_a_store_timeout() -> None:
    deadline: Deadline[int] = Deadline("test", seconds=0.2)
    assert deadline.call(lambda: 7) == 7
    gate = threading.Event()
    with pytest.raises(StoreTimeout):
        deadline.call(lambda: int(gate.wait(30)))
    gate.set()
