"""A store that stops taking writes, then takes them again: health says so within one cycle,
and the monitor resumes at its next wake-up, not after a backoff.

The store is a real SQLite file made read-only with `PRAGMA query_only` on every new
connection (writes then fail as on a read-only file); the monitor is a real scikit-learn
model over a real CSV stream, driven wake-up by wake-up.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alerts.support import config_document, window_rows
from sqlalchemy import event, text

from monitor.clock import SimulatedClock
from monitor.config import parse_config
from monitor.cycle import MonitorRuntime
from monitor.daemon import Daemon, DaemonOptions
from monitor.exporter import MonitorInfo, StoreCollector, build_registry
from monitor.scheduler.scheduling import MonitorScheduler
from monitor.store import Store

pytestmark = pytest.mark.faults


class Switch:
    """Makes every new connection of a store read-only, or not; applied at once."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.read_only = False
        event.listen(store.engine, "connect", self._on_connect)

    def _on_connect(self, connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute(f"PRAGMA query_only = {'ON' if self.read_only else 'OFF'}")
        cursor.close()

    def set(self, read_only: bool) -> None:
        self.read_only = read_only
        self.store.engine.dispose()  # pooled connections go; new ones take the setting


@pytest.fixture
def monitor(tmp_path: Path) -> Iterator[tuple[Any, Store, Switch]]:
    document = config_document(tmp_path, alerts=[])
    document["monitors"][0]["schedule"] = {"every": "1s"}
    (tmp_path / "stream").mkdir()
    config = parse_config(document, tmp_path)
    store = Store(config.storage)
    yield config, store, Switch(store)
    store.close()


def store_up(store: Store, monitors: Any = None) -> float:
    registry = build_registry(StoreCollector(store, monitors))
    value = registry.get_sample_value("driftwarden_store_up", {"monitor": "tabular"})
    assert value is not None
    return value


def test_a_store_that_refuses_writes_is_reported_and_left_without_backoff(monitor) -> None:
    config, store, switch = monitor
    window_rows(1.0).to_csv(config.monitors[0].stream.path.replace("*", "001"), index=False)
    clock = SimulatedClock(datetime(2024, 3, 1, tzinfo=UTC))
    # never started: the test wakes the job itself
    scheduler = MonitorScheduler(config.monitors, store, build=MonitorRuntime.build, clock=clock)
    job = scheduler.jobs["tabular"]
    assert [o.status for o in job.wake()] == ["ok", "waiting"]  # a first window, stored
    assert store_up(store) == 1.0

    switch.set(read_only=True)
    for wakes in range(1, 6):
        assert job.wake() == []  # probed first: no window scored only to be lost
        assert job.failed_cycles == wakes and job.backoff.skip == 0
    assert "readonly" in (job.last_error or "")
    assert store_up(store) == 0.0  # reads still work; the last write did not
    assert scheduler.failing(1) == {"tabular": (5, job.last_error)}

    switch.set(read_only=False)
    window_rows(0.9, seed=2).to_csv(config.monitors[0].stream.path.replace("*", "002"), index=False)
    assert [o.status for o in job.wake()] == ["ok", "waiting"]  # at once, no sitting out
    assert job.failed_cycles == 0 and store_up(store) == 1.0


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_readyz_fails_with_the_reason_while_the_store_refuses_writes(monitor) -> None:
    config, store, _ = monitor
    store.close()
    daemon = Daemon(DaemonOptions(metrics_port=0, grace_s=5), settings=config)
    daemon.start()
    try:
        assert daemon.store is not None and daemon.server is not None
        base = f"http://127.0.0.1:{daemon.server.port}"
        deadline = time.monotonic() + 30
        while get(f"{base}/readyz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.1)  # the model loads in the first wake-up
        assert get(f"{base}/readyz") == (200, "ready\n")

        Switch(daemon.store).set(read_only=True)
        daemon._probed_at = float("-inf")  # the next request probes (they are rate-limited)
        status, body = get(f"{base}/readyz")
        assert status == 503
        assert "store cannot be written: attempt to write a readonly database" in body
        metrics = get(f"{base}/metrics")[1]
        assert 'driftwarden_store_up{monitor="tabular"} 0.0' in metrics
    finally:
        daemon.shutdown()


def test_a_full_store_that_takes_some_writes_stays_down_until_a_probe_goes_through(
    monitor,
) -> None:
    """A full disk refuses some writes and takes others that fit in pages already there: a
    failed probe holds `store_up` at 0 (as `/readyz` says) until the next probe goes
    through, rather than flapping with every small write that fits."""
    config, store, _ = monitor
    with store.engine.begin() as connection:
        for operation in ("INSERT", "UPDATE"):
            connection.exec_driver_sql(
                f"CREATE TRIGGER full_{operation.lower()} BEFORE {operation} ON store_probes "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
    assert store.probe_write("probe") is not None
    with store.transaction() as session:  # another write fits and goes through
        session.execute(text("DELETE FROM scan_extents WHERE 0"))
    assert (
        store.write_problem() is not None
        and store_up(store, [MonitorInfo.from_config(config.monitors[0], "model", 1.0)]) == 0.0
    )
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER full_insert")
        connection.exec_driver_sql("DROP TRIGGER full_update")
    assert store.probe_write("probe") is None
    assert (
        store.write_problem() is None
        and store_up(store, [MonitorInfo.from_config(config.monitors[0], "model", 1.0)]) == 1.0
    )
