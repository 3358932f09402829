"""A scrape of a fleet reads the store with a fixed number of queries, however many
monitors it holds (counted on the real SQLite store, statement by statement)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest
from sqlalchemy import event

from monitor.exporter import MonitorInfo, StoreCollector, build_registry
from monitor.records.results import DriftScore, Result
from monitor.store import RunRecord, Store
from monitor.store.repository import record_run

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
FEATURES = ("text_length", "word_count", "non_letter_share")


def _result(i: int) -> Result:
    scores = {
        name: DriftScore(name, "ks", 0.01 * (i % 90 + 1), 0.05, i % 3 == 0) for name in FEATURES
    }
    return Result(
        scores,
        sum(s.drifted for s in scores.values()) / len(scores),
        False,
        {"predicted_class": DriftScore("predicted_class", "jensenshannon", 0.05, 0.1, False)},
        DriftScore("embedding", "model", 0.55, 0.6, False),
        {"accuracy": 0.9, "precision": 0.9, "recall": 0.9, "f1": 0.9, "roc_auc": 0.95},
        {"mean_confidence": 0.9, "estimated_accuracy": 0.9, "labelled_rows": 100.0},
    )


def _fleet(tmp_path: Path, monitors: int, runs: int = 2) -> Store:
    store = Store(f"sqlite:///{tmp_path / f'fleet-{monitors}.db'}")
    for r in range(runs):
        with store.transaction() as session:
            for m in range(monitors):
                start = T0 + timedelta(minutes=5 * r)
                record_run(
                    session,
                    RunRecord(
                        monitor=f"tenant-{m:03d}",
                        window_start=start,
                        window_end=start + timedelta(minutes=5),
                        started_at=start + timedelta(minutes=5),
                        finished_at=start + timedelta(minutes=5, seconds=1),
                        rows=100,
                        result=_result(m + r),
                        stage_seconds={"read": 0.01, "score": 0.3, "metrics": 0.1, "total": 0.5},
                    ),
                )
    return store


@contextmanager
def counted(store: Store) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def _scrapes(store: Store, monitors: int) -> tuple[list[int], bytes]:
    """Statements run by the first scrape, a second one, and one after new runs."""
    infos = [MonitorInfo(f"tenant-{m:03d}", "minilm", 60.0) for m in range(monitors)]
    registry = build_registry(StoreCollector(store, infos))
    counts = []
    with counted(store) as statements:
        generate_latest(registry)
    counts.append(len(statements))
    with counted(store) as statements:
        generate_latest(registry)
    counts.append(len(statements))
    with store.transaction() as session:
        for m in range(0, monitors, 2):
            record_run(
                session,
                RunRecord(
                    monitor=f"tenant-{m:03d}",
                    window_start=T0 + timedelta(hours=1),
                    window_end=T0 + timedelta(hours=1, minutes=5),
                    started_at=T0 + timedelta(hours=1, minutes=5),
                    finished_at=T0 + timedelta(hours=1, minutes=5, seconds=1),
                    rows=100,
                    result=_result(m),
                ),
            )
    with counted(store) as statements:
        body = generate_latest(registry)
    counts.append(len(statements))
    return counts, body


def test_a_scrape_costs_the_same_queries_for_10_and_200_monitors(tmp_path: Path) -> None:
    small, _ = _scrapes(_fleet(tmp_path, 10), 10)
    large, body = _scrapes(_fleet(tmp_path, 200), 200)
    assert large == small
    # a handful of reads per scrape (runs, counters, late-label state, retrain decisions,
    # quarantined files ...), however many monitors; a scrape that meets new latest runs
    # reads their values and their explanations (one query each) ...
    assert max(large) <= 10
    # ... and one that meets none reads neither again (nor the monitor names)
    assert large[1] == large[0] - 3
    text = body.decode()
    assert text.count("driftwarden_window_rows{") == 200
    assert (
        'driftwarden_feature_drift_score{feature="word_count",method="ks",monitor="tenant-199"}'
        in text
    )
