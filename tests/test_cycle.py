"""One cycle end to end on real files and a real tiny BERT: stored whole or not at all."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

import monitor.cycle.recording
import monitor.cycle.run
from monitor.cli import main
from monitor.clock import SimulatedClock
from monitor.config import load_config
from monitor.cycle import CycleOutcome, MonitorRuntime, run_cycle
from monitor.store import Store, open_store
from monitor.store.repository import watermark
from monitor.store.run_reads import predictions
from monitor.views.runs import run_summaries


def make_config(tmp_path: Path, model_dir: Path, **monitor_overrides) -> Path:
    monitor = {
        "name": "reviews",
        "model": {"type": "transformers", "path": str(model_dir), "batch_size": 16},
        "reference": {"path": "reference.csv"},
        "stream": {"type": "files", "path": "stream/*.csv"},
        "columns": {"text": "text", "target": "label"},
        "window": {"rows": 50},
        "snapshot": False,
    }
    monitor.update(monitor_overrides)
    path = tmp_path / "dw.yaml"
    path.write_text(yaml.safe_dump({"storage": "sqlite:///dw.db", "monitors": [monitor]}))
    return path


@pytest.fixture
def workspace(tmp_path: Path, tiny_bert: Path, amazon_split) -> Path:
    reference, held_out = amazon_split
    reference.to_csv(tmp_path / "reference.csv", index=False)
    (tmp_path / "stream").mkdir()
    held_out.iloc[:120].to_csv(tmp_path / "stream" / "001.csv", index=False)
    make_config(tmp_path, tiny_bert)
    return tmp_path


def first_cycle(workspace: Path) -> tuple[Store, CycleOutcome]:
    """The workspace's store and the outcome of one cycle of its monitor."""
    config = load_config(workspace / "dw.yaml")
    store = open_store(config.storage)
    clock = SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    return store, run_cycle(MonitorRuntime.build(config.monitors[0]), store, clock)


def test_once_records_a_run_then_waits(workspace: Path, capsys) -> None:
    config = str(workspace / "dw.yaml")
    assert main(["once", "--config", config]) == 0  # both complete windows at once
    assert capsys.readouterr().out.splitlines()[-1] == "reviews: 2 window(s) recorded"
    assert main(["once", "--config", config]) == 0  # 20 rows left: fewer than 50, waits
    out = capsys.readouterr().out
    assert "nothing new (fewer than 50 new rows); nothing recorded" in out
    assert main(["runs", "--config", config, "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in runs] == [1, 2]
    first = runs[0]
    assert first["status"] == "ok" and first["rows"] == 50 and first["quarantined"] == 0
    assert first["model_version"].startswith("tiny-bert")
    assert set(first["metrics"]) >= {
        "accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "drifted_share",
        "dataset_drift",
        "prediction_drift_score",
        "embedding_drift_score",
    }
    assert set(first["features"]) == {"text_length", "word_count", "non_letter_share"}
    assert set(first["features"]["word_count"]) == {"method", "score", "threshold", "drifted"}


def test_stored_quality_equals_sklearn_on_stored_predictions(workspace: Path) -> None:
    from sklearn.metrics import accuracy_score, f1_score

    store, outcome = first_cycle(workspace)
    assert outcome.run_id is not None
    with store.reading() as session:
        stored = predictions(session, outcome.run_id)
        metrics = run_summaries(session)[0]["metrics"]
    truth = [p.target for p in stored]
    predicted = [p.predicted_name for p in stored]
    assert metrics["accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-12)
    assert metrics["f1"] == pytest.approx(
        f1_score(truth, predicted, pos_label="positive"), abs=1e-12
    )
    expected_truth = pd.read_csv(workspace / "stream" / "001.csv")["label"].iloc[:50]
    assert truth == [["negative", "positive"][v] for v in expected_truth]


def test_malformed_rows_are_quarantined_and_counted(workspace: Path, capsys) -> None:
    rows = pd.read_csv(workspace / "stream" / "001.csv").iloc[:52].copy()
    rows.loc[3, "text"] = ""
    rows["label"] = rows["label"].astype(object)
    rows.loc[7, "label"] = "maybe"
    rows.to_csv(workspace / "stream" / "001.csv", index=False)
    config = str(workspace / "dw.yaml")
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    main(["runs", "--config", config, "--json"])
    run = json.loads(capsys.readouterr().out)[0]
    # the next 50 usable rows: an empty text and an unknown label alike ride along, set aside
    assert run["quarantined"] == 2 and run["rows"] == 50
    assert run["metrics"]["quarantined_share"] == pytest.approx(2 / 52)
    assert run["metrics"]["empty_share"] == pytest.approx(1 / 52)
    store = open_store(load_config(workspace / "dw.yaml").storage)
    with store.reading() as session:
        from sqlalchemy import select

        from monitor.store.schema import QuarantinedRow

        quarantined = sorted((q.row_id, q.reason) for q in session.scalars(select(QuarantinedRow)))
        scored = {p.row_id for p in predictions(session, run["run_id"])}
    assert [row_id for row_id, _ in quarantined] == ["001.csv:4", "001.csv:8"]
    assert quarantined[1][1].startswith(
        "label 'maybe' in column 'label' is not one the model knows"
    )
    assert quarantined[0][1] == "missing text"  # CSV readers see an empty field as missing
    assert scored == {f"001.csv:{line}" for line in range(1, 53)} - {"001.csv:4", "001.csv:8"}


def test_a_cycle_killed_before_commit_leaves_nothing(workspace: Path, monkeypatch) -> None:
    config = load_config(workspace / "dw.yaml")
    store = open_store(config.storage)
    runtime = MonitorRuntime.build(config.monitors[0])
    real_record_run = monitor.cycle.recording.record_run

    def record_then_die(session, record):
        real_record_run(session, record)  # every row written, flushed, not committed
        raise RuntimeError("killed between scoring and commit")

    monkeypatch.setattr(monitor.cycle.recording, "record_run", record_then_die)
    with pytest.raises(RuntimeError, match="killed"):
        run_cycle(runtime, store, SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC)))
    with store.reading() as session:
        assert run_summaries(session) == []
        assert watermark(session, "reviews") is None
    monkeypatch.setattr(monitor.cycle.recording, "record_run", real_record_run)
    outcome = run_cycle(runtime, store, SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC)))
    assert outcome.status == "ok" and outcome.rows == 50  # the same window, whole, once


def test_two_processes_reading_one_window_record_it_once(workspace: Path, monkeypatch) -> None:
    config = load_config(workspace / "dw.yaml")
    store = open_store(config.storage)
    first, second = (MonitorRuntime.build(config.monitors[0]) for _ in range(2))
    clock = SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    real_watermark = monitor.cycle.run.watermark

    def read_then_let_the_other_commit(session, name):
        mark = real_watermark(session, name)  # what the second process read...
        monkeypatch.setattr(monitor.cycle.run, "watermark", real_watermark)
        assert run_cycle(first, store, clock).status == "ok"  # ...before the first committed
        return mark

    monkeypatch.setattr(monitor.cycle.run, "watermark", read_then_let_the_other_commit)
    outcome = run_cycle(second, store, clock)
    assert outcome.status == "waiting" and not outcome.recorded
    with store.reading() as session:
        runs = run_summaries(session)
        assert [r["rows"] for r in runs] == [50]
        assert len(predictions(session, runs[0]["run_id"])) == 50
    # the second process goes on from the window the first recorded
    assert run_cycle(second, store, clock).status == "ok"
    with store.reading() as session:
        rows = [
            {p.row_id for p in predictions(session, r["run_id"])} for r in run_summaries(session)
        ]
    assert len(rows) == 2 and len(rows[0] | rows[1]) == 100  # two windows, no row twice


def test_a_model_raising_on_some_rows_quarantines_them(workspace: Path) -> None:
    config = load_config(workspace / "dw.yaml")
    runtime = MonitorRuntime.build(config.monitors[0])
    poisoned = pd.read_csv(workspace / "stream" / "001.csv")["text"].iloc[10]
    original = runtime.model._score

    def fragile(inputs):
        if poisoned in list(inputs):
            raise ValueError("cannot handle this one")
        return original(inputs)

    runtime.model._score = fragile  # type: ignore[method-assign]
    store = open_store(config.storage)
    outcome = run_cycle(runtime, store, SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC)))
    assert outcome.status == "ok" and outcome.rows == 49 and outcome.quarantined == 1


def test_a_broken_model_records_an_error_run_and_keeps_the_watermark(workspace: Path) -> None:
    config = load_config(workspace / "dw.yaml")
    runtime = MonitorRuntime.build(config.monitors[0])

    def broken(inputs):
        raise RuntimeError("CUDA out of memory (pretend)")

    runtime.model._score = broken  # type: ignore[method-assign]
    store = open_store(config.storage)
    clock = SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    outcome = run_cycle(runtime, store, clock)
    assert outcome.status == "error"
    assert "CUDA out of memory" in (outcome.error or "")
    with store.reading() as session:
        runs = run_summaries(session)
        assert [r["status"] for r in runs] == ["error"]
        assert watermark(session, "reviews") is None
    clock.advance(timedelta(minutes=5))


def test_a_stream_file_without_the_text_column_is_set_aside(workspace: Path, capsys) -> None:
    pd.DataFrame({"body": ["no text column here"]}).to_csv(
        workspace / "stream" / "000.csv", index=False
    )
    config = str(workspace / "dw.yaml")
    assert main(["once", "--config", config]) == 0  # the files after it are scored
    assert "reviews: run 1, window" in capsys.readouterr().out
    assert main(["quarantine", "--config", config, "--json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert (entry["kind"], entry["row_id"], entry["run_id"]) == ("file", "000.csv", 1)
    assert entry["reason"] == "unreadable file: no column(s) 'text' (columns: body)"


def test_missing_reference_is_exit_2_naming_the_file(workspace: Path, capsys) -> None:
    (workspace / "reference.csv").unlink()
    assert main(["once", "--config", str(workspace / "dw.yaml")]) == 2  # a config mistake
    err = capsys.readouterr().err
    assert "reference.csv does not exist" in err and "Traceback" not in err
    assert not (workspace / "dw.db").exists()  # found before the store was opened


def test_reference_labels_the_model_does_not_know(workspace: Path, capsys) -> None:
    frame = pd.read_csv(workspace / "reference.csv")
    frame["label"] = frame["label"].astype(object)
    frame.loc[0, "label"] = "spam"
    frame.to_csv(workspace / "reference.csv", index=False)
    assert main(["once", "--config", str(workspace / "dw.yaml")]) == 1
    err = capsys.readouterr().err
    assert "label 'spam' in column 'label'" in err and "reference.csv" in err


def test_empty_stream_records_nothing(workspace: Path, capsys) -> None:
    (workspace / "stream" / "001.csv").unlink()
    assert main(["once", "--config", str(workspace / "dw.yaml")]) == 0
    assert "nothing new (no stream files match" in capsys.readouterr().out
    assert main(["runs", "--config", str(workspace / "dw.yaml"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_report_builds_html_from_the_store_alone(workspace: Path, capsys) -> None:
    config = str(workspace / "dw.yaml")
    assert main(["once", "--config", config]) == 0
    (workspace / "reference.csv").unlink()  # the report needs no data file
    (workspace / "stream" / "001.csv").unlink()
    out = workspace / "run1.html"
    assert main(["report", "1", "--config", config, "--out", str(out)]) == 0
    html = out.read_text()
    assert "<html" in html.lower() and "word_count" in html
    assert main(["report", "99", "--config", config, "--out", str(out)]) == 2
    assert "no run 99" in capsys.readouterr().err


def test_the_report_shows_the_scores_the_cycle_stored(workspace: Path) -> None:
    """Built on demand from the prediction log and the stored reference, the report's drift
    scores and accuracy are the cycle's own."""
    from monitor.metrics.report import snapshot_values
    from monitor.views.report import run_report

    store, outcome = first_cycle(workspace)
    assert outcome.result is not None and outcome.run_id is not None
    with store.reading() as session:
        report = run_report(session, outcome.run_id, "reviews")
    values = snapshot_values(report.snapshot())
    drift = {k: v for k, v in values.items() if k.startswith("ValueDrift(")}
    tests = [*outcome.result.features.values(), *outcome.result.prediction.values()]
    assert len(drift) == len(tests) == 5
    for score in tests:
        [value] = [v for k, v in drift.items() if f"column={score.column}," in k]
        assert abs(value - score.score) <= 1e-12, score.column
    assert values["Accuracy(classification_name=default)"] == pytest.approx(
        outcome.result.quality["accuracy"], abs=1e-12
    )


def test_stage_timings_are_stored_with_the_run(workspace: Path) -> None:
    store, outcome = first_cycle(workspace)
    with store.reading() as session:
        from monitor.store.schema import RunRow

        stored = session.get(RunRow, outcome.run_id).stage_seconds
    assert set(stored) == {"read", "score", "metrics", "store", "total"}
    assert stored["total"] == pytest.approx(sum(v for k, v in stored.items() if k != "total"))
    assert stored == outcome.stage_seconds
