"""The store: migrations on open, SQLite settings, whole-or-nothing writes, bad URLs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from monitor.errors import StoreError
from monitor.records.results import DriftScore, Result
from monitor.records.rows import Rejected
from monitor.store import RunRecord, open_store
from monitor.store.repository import WindowTaken, record_run, watermark
from monitor.views.runs import run_summaries

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def record(position: str | None = '{"key": ["a.csv", 3]}', **overrides) -> RunRecord:
    result = Result(
        features={
            "word_count": DriftScore("word_count", "ks", 0.01, 0.05, True),
            "text_length": DriftScore("text_length", "ks", 0.4, 0.05, False),
        },
        drifted_share=0.5,
        dataset_drift=True,
        prediction={
            "predicted_class": DriftScore("predicted_class", "jensenshannon", 0.2, 0.1, True)
        },
        embedding=DriftScore("embedding", "model", 0.9, 0.6, True),
        quality={"accuracy": 0.75},
    )
    values = dict(
        monitor="m",
        window_start=T0,
        window_end=T0,
        started_at=T0,
        finished_at=T0,
        rows=3,
        model_version="v1",
        result=result,
        predictions=[
            {
                "row_id": f"a.csv:{i}",
                "position": i,
                "text": "t",
                "predicted_id": 1,
                "predicted_name": "pos",
                "probabilities": [0.2, 0.8],
                "target": "pos",
            }
            for i in range(3)
        ],
        quarantined=[Rejected("a.csv:9", "empty text", {"text": ""})],
        position=position,
    )
    values.update(overrides)
    return RunRecord(**values)  # type: ignore[arg-type]


def test_migrations_create_every_table_and_sqlite_is_tuned(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'dw.db'}")
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "monitors",
        "runs",
        "metric_values",
        "predictions",
        "quarantined_rows",
        "run_snapshots",
        "watermarks",
        "alembic_version",
    } <= tables
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    store.close()
    reopened = open_store(f"sqlite:///{tmp_path / 'dw.db'}")  # a second open is a no-op
    with reopened.engine.connect() as connection:
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert head is not None


def test_a_run_round_trips_in_the_runs_json_shape() -> None:
    store = open_store("sqlite://")
    with store.transaction() as session:
        run_id = record_run(session, record())
    with store.reading() as session:
        [summary] = run_summaries(session)
        mark = watermark(session, "m")
    assert summary["run_id"] == run_id and summary["quarantined"] == 1
    assert summary["window_start"] == "2030-01-01T00:00:00Z"
    assert summary["metrics"]["accuracy"] == 0.75
    assert summary["metrics"]["dataset_drift"] == 1.0
    assert summary["metrics"]["prediction_drift_score"] == 0.2
    assert summary["metrics"]["embedding_drift_score"] == 0.9
    assert summary["features"]["word_count"] == {
        "method": "ks",
        "score": 0.01,
        "threshold": 0.05,
        "drifted": True,
    }
    assert mark is not None and mark[0] == '{"key": ["a.csv", 3]}' and mark[1] == T0


def test_a_row_is_quarantined_once_even_when_seen_again() -> None:
    store = open_store("sqlite://")
    with store.transaction() as session:
        record_run(session, record())
    with store.transaction() as session:
        record_run(session, record())
    with store.reading() as session:
        assert [r["quarantined"] for r in run_summaries(session)] == [1, 0]


def test_a_failed_write_leaves_nothing() -> None:
    store = open_store("sqlite://")
    with pytest.raises(RuntimeError), store.transaction() as session:
        record_run(session, record())
        raise RuntimeError("crash before commit")
    with store.reading() as session:
        assert run_summaries(session) == [] and watermark(session, "m") is None


def test_error_runs_do_not_move_the_watermark() -> None:
    store = open_store("sqlite://")
    with store.transaction() as session:
        record_run(
            session,
            record(
                position=None,
                status="error",
                error="boom",
                result=None,
                predictions=[],
                quarantined=[],
            ),
        )
    with store.reading() as session:
        [summary] = run_summaries(session)
        assert summary["status"] == "error" and summary["error"] == "boom"
        assert watermark(session, "m") is None


def test_naive_datetimes_are_refused() -> None:
    store = open_store("sqlite://")
    with pytest.raises(Exception, match="naive datetime"), store.transaction() as session:
        record_run(session, record(window_end=datetime(2030, 1, 1)))


@pytest.mark.parametrize("url", ["not a url", "sqlite:////no/such/folder/dw.db"])
def test_bad_urls_are_clear_errors(url: str) -> None:
    with pytest.raises(StoreError):
        open_store(url)


def test_a_read_only_store_fails_with_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "dw.db"
    open_store(f"sqlite:///{path}").close()
    # file permissions do not stop root: open the database read-only instead
    store = open_store(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(StoreError, match="readonly"), store.transaction() as session:
        record_run(session, record())


def test_a_guarded_watermark_moves_only_from_where_the_window_was_read(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'dw.db'}")
    first, second = '{"row": 50}', '{"row": 100}'
    with store.transaction() as session:
        record_run(session, record(position=first, guard=True, after=None))
    for stale in (None, '{"row": 0}'):  # a first window again; a position never stored
        taken = pytest.raises(WindowTaken, match="another process recorded the window")
        with taken, store.transaction() as session:
            record_run(session, record(position=second, guard=True, after=stale))
    with store.transaction() as session:
        record_run(session, record(position=second, guard=True, after=first))
    with store.reading() as session:
        assert watermark(session, "m") == (second, T0)
        assert len(run_summaries(session)) == 2  # the refused runs left nothing behind
