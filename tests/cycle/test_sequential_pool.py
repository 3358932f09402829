"""The sequential test's pool is kept in the store: a restarted process (a new runtime, as
after a daemon restart) pools the windows the last one stored, so drift that builds up over
windows is not forgotten by a restart; windows scored under other settings, or before a
gap in the shares, are not pooled; the store keeps each monitor's newest windows only, and
a share it cannot read ends the pool instead of stopping the monitor."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, func, select
from text_project import write_text_project

from monitor.clock import SimulatedClock
from monitor.config import MonitorConfig, load_config
from monitor.cycle import MonitorRuntime, run_cycle
from monitor.metrics.novelty import NearestNeighbourNovelty
from monitor.metrics.sequential import SequentialTest
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


def monitor_config(project: Path, **drift: Any) -> MonitorConfig:
    """The project's monitor, with `drift` settings changed (e.g. `sequential={...}`)."""
    monitor = load_config(project).monitors[0]
    if not drift:
        return monitor
    changed = {
        name: getattr(monitor.drift, name).model_copy(update=value) for name, value in drift.items()
    }
    return monitor.model_copy(update={"drift": monitor.drift.model_copy(update=changed)})


def run_windows(project: Path, store: Store, count: int, **drift: Any) -> None:
    """`count` windows through a runtime built afresh (nothing of an earlier one in memory)."""
    runtime = MonitorRuntime.build(monitor_config(project, **drift))
    clock = SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    for _ in range(count):
        assert run_cycle(runtime, store, clock).status == "ok"


def sequential_p_values(store: Store, missing: bool = False) -> list[float | None]:
    """Each stored window's sequential p-value (`missing`: None where the test did not run)."""
    with store.reading() as session:
        runs = run_summaries(session, "reviews")
    if missing:
        return [run["metrics"].get("sequential_drift_p_value") for run in runs]
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
    assert all(len(window.keys) == WINDOW for window in pooled)
    assert len({window.key for window in pooled}) == 1  # all scored alike


def test_windows_scored_under_other_settings_or_before_a_gap_are_not_pooled(
    project: Path, tmp_path: Path
) -> None:
    # another sample of the reference: other base rows, scores not comparable with the
    # stored ones; the pool starts afresh, as if the stored shares were gone
    resampled = {"embedding": {"sample": 150}}
    changed = open_store(f"sqlite:///{tmp_path / 'changed.db'}")
    run_windows(project, changed, 3)
    run_windows(project, changed, 3, **resampled)
    emptied = open_store(f"sqlite:///{tmp_path / 'emptied.db'}")
    run_windows(project, emptied, 3)
    with emptied.transaction() as session:
        session.execute(delete(SequentialPoolRow))
    run_windows(project, emptied, 3, **resampled)
    assert sequential_p_values(changed) == sequential_p_values(emptied)
    with changed.reading() as session:
        keys = [window.key for window in pooled_windows(session, "reviews", 10)]
    assert len(keys) == 6 and keys[0] == keys[2] != keys[3] == keys[5]

    # a window stored while the test was off leaves no share: the pool after it starts there
    gap = open_store(f"sqlite:///{tmp_path / 'gap.db'}")
    run_windows(project, gap, 2)
    run_windows(project, gap, 1, sequential={"windows": 0})
    run_windows(project, gap, 2)
    with gap.reading() as session:
        assert session.scalar(select(func.count()).select_from(SequentialPoolRow)) == 4
        assert len(pooled_windows(session, "reviews", 5)) == 2
    assert [p is None for p in sequential_p_values(gap, missing=True)] == [
        False,
        False,
        True,
        False,
        False,
    ]


def test_a_share_that_cannot_be_read_ends_the_pool_and_the_monitor_goes_on(
    project: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'torn.db'}")
    run_windows(project, store, 3)
    with store.transaction() as session:
        middle = session.scalars(select(SequentialPoolRow).order_by(SequentialPoolRow.run_id))
        torn = list(middle)[1]
        torn.scores = torn.scores[:-3]  # not a whole number of floats
    with store.reading() as session:
        assert len(pooled_windows(session, "reviews", 5)) == 1  # the newest, after the bad one
    assert "cannot be read" in caplog.text
    run_windows(project, store, 1)  # the monitor goes on
    assert len(sequential_p_values(store)) == 4


def pooled(seed: int, key: str = "k") -> PooledWindow:
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 2**64 - 1, size=5, dtype=np.uint64, endpoint=True)
    return PooledWindow(key, seed * 2**60 + 7, keys, rng.random(5))


def test_only_the_newest_windows_scored_alike_continue_the_pool() -> None:
    rng = np.random.default_rng(0)
    test = SequentialTest(NearestNeighbourNovelty(rng.normal(size=(40, 4)), [1]), 3, 0.05, 100)
    a, b, c, d, e = (pooled(i, test.key) for i in range(5))
    other = pooled(9, "another fingerprint")
    assert test.continuing([a, other, b, c]) == [b, c]  # `other` broke the run
    assert test.continuing([a, b, c, d, e]) == [c, d, e]  # at most `windows`
    assert test.continuing([a, b, other]) == []
    assert test.continuing([]) == []


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
                record = RunRecord(name, moment, moment, moment, moment, rows=5)
                run_id = record_run(session, record)
                mid = monitor_id(session, name, moment)
                keep_pooled(session, mid, run_id, written[name][index])
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(SequentialPoolRow)) == 2 * POOL_KEPT
        for name in ("a", "b"):
            found = pooled_windows(session, name, POOL_KEPT + 10)
            assert len(found) == POOL_KEPT
            for window, original in zip(found, written[name][3:], strict=True):
                assert window.key == "k" and window.identity == original.identity
                assert window.keys.dtype == np.uint64
                np.testing.assert_array_equal(window.keys, original.keys)
                np.testing.assert_array_equal(window.scores, original.scores)
            newest = pooled_windows(session, name, 2)
            assert [w.identity for w in newest] == [o.identity for o in written[name][-2:]]


def test_a_pooled_window_needs_one_score_per_key() -> None:
    with pytest.raises(ValueError, match="one score per key"):
        PooledWindow("k", 1, np.arange(3, dtype=np.uint64), np.zeros(2))
