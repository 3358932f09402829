"""The sequential test's pool is kept in the store: a restarted process (a new runtime, as
after a daemon restart) pools the windows the last one stored, so drift that builds up over
windows is not forgotten by a restart; a model version switched in between starts the pool
afresh; the store keeps each monitor's newest windows only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, func, select
from text_project import write_text_project

from monitor.clock import SimulatedClock
from monitor.config import load_config
from monitor.cycle import MonitorRuntime, run_cycle
from monitor.cycle.compute import continuing
from monitor.records.pool import PooledWindow
from monitor.store import Store, open_store
from monitor.store.repository import RunRecord, monitor_id, record_run
from monitor.store.schema import SequentialPoolRow
from monitor.store.sequential_pool import POOL_KEPT, keep_pooled, pooled_windows
from monitor.views.runs import run_summaries

WINDOW = 40
WINDOWS = 6


@pytest.fixture
def project(tmp_path: Path, tiny_bert: Path, amazon_split, sentiment) -> Path:
    """Windows of 40 rows: held-out amazon with a few yelp rows mixed into each."""
    reference, held_out = amazon_split
    yelp = sentiment["yelp"].sample(frac=1.0, random_state=0)
    parts = []
    for k in range(WINDOWS):
        home = held_out.iloc[k * 34 : (k + 1) * 34]
        parts.append(pd.concat([home, yelp.iloc[k * 6 : (k + 1) * 6]]))
    stream = pd.concat(parts, ignore_index=True)[["text", "label"]]
    return write_text_project(tmp_path, tiny_bert, reference.iloc[:200], stream, WINDOW)


def run_windows(project: Path, store: Store, count: int) -> None:
    """`count` windows through a runtime built afresh (nothing of an earlier one in memory)."""
    runtime = MonitorRuntime.build(load_config(project).monitors[0])
    clock = SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    for _ in range(count):
        assert run_cycle(runtime, store, clock).status == "ok"


def sequential_p_values(store: Store) -> list[float]:
    with store.reading() as session:
        runs = run_summaries(session, "reviews")
    return [run["metrics"]["sequential_drift_p_value"] for run in runs]


def test_a_restarted_process_pools_the_windows_the_last_one_stored(
    project: Path, tmp_path: Path
) -> None:
    config = load_config(project)
    assert config.monitors[0].drift.sequential.windows == 5
    uninterrupted = open_store(f"sqlite:///{tmp_path / 'one.db'}")
    run_windows(project, uninterrupted, WINDOWS)
    restarted = open_store(f"sqlite:///{tmp_path / 'restarted.db'}")
    run_windows(project, restarted, 3)
    run_windows(project, restarted, WINDOWS - 3)  # a new process after a restart
    expected = sequential_p_values(uninterrupted)
    assert len(expected) == WINDOWS
    assert sequential_p_values(restarted) == expected

    # what a restart did before the pool was stored: windows 4-6 pooled only among
    # themselves; the p-values differ, so the stored pool is what carried the evidence
    forgetful = open_store(f"sqlite:///{tmp_path / 'forgetful.db'}")
    run_windows(project, forgetful, 3)
    with forgetful.transaction() as session:
        session.execute(delete(SequentialPoolRow))
    run_windows(project, forgetful, WINDOWS - 3)
    forgotten = sequential_p_values(forgetful)
    assert forgotten[:3] == expected[:3]
    assert forgotten[3] != expected[3]

    with uninterrupted.reading() as session:
        pooled = pooled_windows(session, "reviews", 10)
    assert len(pooled) == WINDOWS  # one share per stored window, oldest first
    assert all(len(window.keys) == WINDOW for _, window in pooled)
    assert len({key for key, _ in pooled}) == 1  # all compared with one scored reference


def pooled(seed: int) -> PooledWindow:
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 2**64 - 1, size=5, dtype=np.uint64, endpoint=True)
    return PooledWindow(seed * 2**60 + 7, keys, rng.random(5))


def test_only_windows_compared_with_the_same_reference_continue_the_pool() -> None:
    a, b, c, d = (pooled(i) for i in range(4))
    history = (("old", a), ("new", b), ("old", c), ("old", d))
    assert continuing(history, "old") == [c, d]  # b (another version) broke the run
    assert continuing(history, "new") == []
    assert continuing((), "old") == []


def test_the_store_keeps_each_monitors_newest_windows_exactly(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'pool.db'}")
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    written = {
        name: [pooled(i + (100 if name == "b" else 0)) for i in range(POOL_KEPT + 3)]
        for name in ("a", "b")
    }
    with store.transaction() as session:
        for index in range(POOL_KEPT + 3):
            for name in ("a", "b"):
                record = RunRecord(name, moment, moment, moment, moment)
                run_id = record_run(session, record)
                mid = monitor_id(session, name, moment)
                keep_pooled(session, mid, run_id, "k", written[name][index])
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(SequentialPoolRow)) == 2 * POOL_KEPT
        for name in ("a", "b"):
            found = pooled_windows(session, name, POOL_KEPT + 10)
            assert len(found) == POOL_KEPT
            for (key, window), original in zip(found, written[name][3:], strict=True):
                assert key == "k" and window.identity == original.identity
                assert window.keys.dtype == np.uint64
                np.testing.assert_array_equal(window.keys, original.keys)
                np.testing.assert_array_equal(window.scores, original.scores)
            newest = pooled_windows(session, name, 2)
            assert [w.identity for _, w in newest] == [o.identity for o in written[name][-2:]]


def test_a_pooled_window_needs_one_score_per_key() -> None:
    with pytest.raises(ValueError, match="one score per key"):
        PooledWindow(1, np.arange(3, dtype=np.uint64), np.zeros(2))
