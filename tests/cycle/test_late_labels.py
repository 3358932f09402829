"""Late labels end to end: 10 windows scored without labels, then their labels in three
shuffled batches (duplicates, conflicts, unknown ids, a restart between batches), through
real files, a real tiny BERT and a real SQLite store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
from sqlalchemy import select

from monitor.cli import main
from monitor.clock import SimulatedClock
from monitor.config import load_config
from monitor.cycle import MonitorRuntime, run_cycle
from monitor.exporter.collector import StoreCollector
from monitor.store import open_store
from monitor.store.alerts import alert_events
from monitor.store.run_reads import predictions
from monitor.store.schema import MetricValueRow, QualityVersionRow, QuarantinedLabelRow
from monitor.views.runs import run_summaries

WINDOWS, ROWS = 10, 30
DEGRADED = (5, 6, 7)  # windows whose true labels are the opposite of the text's sentiment
START = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest) -> str:
    """The store: a SQLite file beside the config, or a real PostgreSQL database."""
    if request.param == "sqlite":
        return "sqlite:///dw.db"
    return str(request.getfixturevalue("postgres").fresh_database())


@pytest.fixture
def workspace(tmp_path: Path, tiny_bert: Path, amazon_split, storage: str) -> Path:
    reference, held_out = amazon_split
    reference.to_csv(tmp_path / "reference.csv", index=False)
    stream = held_out.iloc[: WINDOWS * ROWS].reset_index(drop=True)
    stream = stream.assign(id=[f"r{i:03d}" for i in range(len(stream))])
    (tmp_path / "stream").mkdir()
    (tmp_path / "labels").mkdir()
    stream[["id", "text"]].to_csv(tmp_path / "stream" / "001.csv", index=False)
    truth = stream["label"].to_numpy().copy()
    for window in DEGRADED:  # concept drift: invisible to every input metric
        truth[window * ROWS : (window + 1) * ROWS] = 1 - truth[window * ROWS : (window + 1) * ROWS]
    stream.assign(label=truth)[["id", "label"]].to_csv(tmp_path / "truth.csv", index=False)
    monitor = {
        "name": "reviews",
        "model": {"type": "transformers", "path": str(tiny_bert), "batch_size": 16},
        "reference": {"path": "reference.csv"},
        "stream": {"path": "stream/*.csv"},
        "labels": {"path": "labels/*.csv", "final_coverage": 1.0, "horizon": "30d"},
        "columns": {"text": "text", "target": "label", "id": "id"},
        "window": {"rows": ROWS},
        "snapshot": False,
        "alerts": [{"name": "accuracy-drop", "metric": "accuracy", "below": 0.5, "for": 1}],
    }
    config = {"storage": storage, "monitors": [monitor]}
    (tmp_path / "dw.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def label_batches(workspace: Path) -> list[pd.DataFrame]:
    """Every row's label once, shuffled into three batches, plus 20 duplicates, 3 conflicting
    labels (after the first), and 7 labels for ids no window scored."""
    rng = np.random.default_rng(3)
    truth = pd.read_csv(workspace / "truth.csv")
    shuffled = truth.iloc[rng.permutation(len(truth))].reset_index(drop=True)
    third = len(shuffled) // 3
    batches = [shuffled.iloc[i * third : (i + 1) * third].copy() for i in range(3)]
    batches[1] = pd.concat([batches[1], batches[0].iloc[:12]])  # sent again after a restart
    batches[2] = pd.concat([batches[2], batches[2].iloc[:8]])  # twice in one batch
    conflicting = batches[0].iloc[20:23].assign(label=lambda f: 1 - f["label"])
    unknown = pd.DataFrame({"id": [f"x{i}" for i in range(7)], "label": [1] * 7})
    batches[2] = pd.concat([batches[2], conflicting, unknown])
    return [
        b.sample(frac=1.0, random_state=i).reset_index(drop=True) for i, b in enumerate(batches)
    ]


def cycle(workspace: Path, clock: SimulatedClock, runtime: MonitorRuntime | None = None):
    config = load_config(workspace / "dw.yaml").monitors[0]
    runtime = runtime or MonitorRuntime.build(config)
    store = open_store(load_config(workspace / "dw.yaml").storage)
    clock.advance(timedelta(minutes=5))
    outcome = run_cycle(runtime, store, clock)
    return runtime, store, outcome


def drift_values(store) -> list[tuple]:
    with store.reading() as session:
        return [
            (v.run_id, v.name, v.feature, v.value)
            for v in session.scalars(select(MetricValueRow).order_by(MetricValueRow.id))
            if v.name not in ("accuracy", "precision", "recall", "f1", "roc_auc")
        ]


def test_late_labels_version_quality_and_fire_a_rule_once(workspace: Path, capsys) -> None:
    clock = SimulatedClock(START)
    runtime = None
    for _ in range(WINDOWS):
        runtime, store, outcome = cycle(workspace, clock, runtime)
        assert outcome.status == "ok" and not outcome.transitions
    drift_before = drift_values(store)
    with store.reading() as session:
        runs = run_summaries(session)
    assert len(runs) == WINDOWS
    assert all(r["metrics"]["label_coverage"] == 0 and "accuracy" not in r["metrics"] for r in runs)
    assert all(r["quality"] == {**r["quality"], "version": 1, "final": False} for r in runs)
    assert all("estimated_accuracy" in r["metrics"] for r in runs)

    events = []
    for number, batch in enumerate(label_batches(workspace)):
        batch.to_csv(workspace / "labels" / f"{number + 1}.csv", index=False)
        if number == 1:
            runtime = None  # a restart: a new process, a new store connection
        runtime, store, outcome = cycle(workspace, clock, runtime)
        assert outcome.status == "waiting" and outcome.labels is not None
        assert outcome.labels.error is None
        summary = outcome.labels.summary()
        assert summary is not None and summary.startswith("labels: ")
        events += outcome.transitions

    truth = pd.read_csv(workspace / "truth.csv").set_index("id")["label"]
    names = ("negative", "positive")
    with store.reading() as session:
        runs = run_summaries(session)
        for run in runs:
            logged = predictions(session, run["run_id"])
            labels = [names[truth[p.row_id]] for p in logged]
            predicted = [p.predicted_name for p in logged]
            positive = [p.probabilities[1] for p in logged]
            metrics = run["metrics"]
            assert [p.target for p in logged] == labels  # the first label stands
            assert metrics["labelled_rows"] == ROWS and metrics["label_coverage"] == 1.0
            assert metrics["accuracy"] == pytest.approx(
                accuracy_score(labels, predicted), abs=1e-12
            )
            for name, score in (("precision", precision_score), ("recall", recall_score)):
                expected = score(labels, predicted, pos_label="positive", zero_division=0)
                assert metrics[name] == pytest.approx(expected, abs=1e-12)
            assert metrics["f1"] == pytest.approx(
                f1_score(labels, predicted, pos_label="positive", zero_division=0), abs=1e-12
            )
            binary = [names.index(label) for label in labels]
            assert metrics["roc_auc"] == pytest.approx(roc_auc_score(binary, positive), abs=1e-12)
            assert run["quality"]["final"] and run["quality"]["final_reason"] == "coverage"
        versions = list(session.scalars(select(QualityVersionRow)))
        quarantined = list(session.scalars(select(QuarantinedLabelRow)))
    # every label joined once: the versions' new labels add up to the rows, never more
    assert sum(v.new_labels for v in versions) == WINDOWS * ROWS
    assert sorted(q.kind for q in quarantined) == sorted(
        ["duplicate"] * 20 + ["conflicting"] * 3 + ["unknown_id"] * 7
    )
    assert drift_values(store) == drift_before  # late labels never rewrite drift

    # the rule saw the windows in order once final: one episode, fired at the first degraded
    # window and resolved at the first good one after, whatever order the labels came in
    by_window = {r["run_id"]: i for i, r in enumerate(runs)}
    fired = [(by_window[e.run_id], e.state) for e in events]
    assert fired == [(DEGRADED[0], "firing"), (DEGRADED[-1] + 1, "resolved")]
    assert events[0].labelled_rows == ROWS and events[0].label_coverage == 1.0
    with store.reading() as session:
        stored_events = alert_events(session, "reviews")
    assert [e.state for e in stored_events] == ["firing", "resolved"]
    assert stored_events[0].payload["labelled_rows"] == ROWS

    assert main(["quarantine", "--config", str(workspace / "dw.yaml"), "--labels", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 30 and {row["monitor"] for row in listed} == {"reviews"}
    unknown = [row for row in listed if row["kind"] == "unknown_id"]
    assert sorted(row["row_id"] for row in unknown) == [f"x{i}" for i in range(7)]

    collector = StoreCollector(store)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in collector.collect()
        for s in family.samples
    }
    assert (
        samples[("driftwarden_labels_total", (("monitor", "reviews"), ("outcome", "joined")))]
        == 300
    )
    assert (
        samples[("driftwarden_labels_total", (("monitor", "reviews"), ("outcome", "duplicate")))]
        == 20
    )
    assert samples[("driftwarden_open_quality_windows", (("monitor", "reviews"),))] == 0
    last = runs[-1]["metrics"]["accuracy"]
    key = ("driftwarden_model_quality", (("metric", "accuracy"), ("monitor", "reviews")))
    assert samples[key] == pytest.approx(last)
