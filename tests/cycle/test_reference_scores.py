"""The scored reference is kept in the store: a process that starts with the same reference,
model version and settings reuses it; `report` builds a run's report from the store alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from text_project import write_text_project

from monitor.cli import main
from monitor.clock import SimulatedClock
from monitor.config import load_config, parse_config
from monitor.cycle import MonitorRuntime, run_cycle
from monitor.cycle.reference import ScoredReference, frame_bytes, frame_from_bytes
from monitor.records.scores import Scores
from monitor.store import open_store


@pytest.fixture
def project(tmp_path: Path, tiny_bert: Path, amazon_split) -> Path:
    reference, held_out = amazon_split
    return write_text_project(tmp_path, tiny_bert, reference.iloc[:200], held_out.iloc[:120], 60)


def counting(runtime: MonitorRuntime) -> list[int]:
    """Rows the runtime's model scores, call by call."""
    calls: list[int] = []
    original = runtime.model._score

    def score(inputs):
        calls.append(len(inputs))
        return original(inputs)

    runtime.model._score = score  # type: ignore[method-assign]
    return calls


def test_a_starting_process_reuses_the_reference_scored_before(project: Path) -> None:
    config = load_config(project)
    store = open_store(config.storage)
    clock = SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    first = MonitorRuntime.build(config.monitors[0])
    first_calls = counting(first)
    assert run_cycle(first, store, clock).status == "ok"
    assert first_calls == [200, 60]  # the reference, then the window

    again = MonitorRuntime.build(config.monitors[0])  # a new process: nothing in memory
    again_calls = counting(again)
    outcome = run_cycle(again, store, clock)
    assert outcome.status == "ok" and again_calls == [60]  # only the window
    reused, scored = again.reference.scores, first.reference.scores
    np.testing.assert_array_equal(reused.probabilities, scored.probabilities)
    np.testing.assert_array_equal(reused.embeddings, scored.embeddings)
    assert again.scoring.reference_key == first.scoring.reference_key

    # other reference rows are another key: scored again
    reference = pd.read_csv(project.parent / "reference.csv")
    reference.iloc[:150].to_csv(project.parent / "reference.csv", index=False)
    changed = MonitorRuntime.build(config.monitors[0])
    changed_calls = counting(changed)
    assert run_cycle(changed, store, clock).status == "waiting"  # the stream is used up
    assert changed_calls == [150]
    assert changed.scoring.reference_key != first.scoring.reference_key
    # scored without a store, kept once one is known
    late = MonitorRuntime.build(config.monitors[0])
    late.prepare()
    fresh = open_store("sqlite://")
    late.use_store(fresh)
    reused_late = MonitorRuntime.build(config.monitors[0])
    late_calls = counting(reused_late)
    reused_late.use_store(fresh)
    reused_late.prepare()
    assert late_calls == []


def test_other_model_settings_are_another_key(project: Path) -> None:
    config = load_config(project)
    store = open_store(config.storage)
    clock = SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    run_cycle(MonitorRuntime.build(config.monitors[0]), store, clock)
    document = yaml.safe_load(project.read_text())
    document["monitors"][0]["model"]["max_length"] = 64  # the same model, other inputs
    project.write_text(yaml.safe_dump(document))
    other = MonitorRuntime.build(load_config(project).monitors[0])
    calls = counting(other)
    run_cycle(other, store, clock)
    assert calls[0] == 200


def test_runs_json_carries_every_signal_the_family_and_stage_timings(project: Path, capsys):
    config = str(project)
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    assert main(["runs", "--config", config, "--json"]) == 0
    run = json.loads(capsys.readouterr().out)[0]  # once records every complete window
    assert set(run["signals"]) == {"predicted_class", "confidence", "embedding"}
    for signal in run["signals"].values():
        assert set(signal) == {"method", "score", "threshold", "drifted"}
    assert run["signals"]["embedding"]["method"] == "mmd"
    assert run["signals"]["embedding"]["threshold"] is None
    family = run["drift_family"]
    assert family["alpha"] == 0.01 and family["correction"] == "min-p"
    members = {"embedding_mean", "embedding", "descriptors", "predicted_class"}
    assert set(family["tests"]) == members | {"embedding_novelty"}
    combined, novelty = family["combined"], family["tests"]["embedding_novelty"]
    # each member is compared with the combination's critical value times its weight
    levels = {name: t["level"] for name, t in family["tests"].items() if name in members}
    assert levels["embedding_mean"] == pytest.approx(levels["descriptors"] * 0.55 / 0.15)
    assert levels["embedding"] == pytest.approx(levels["descriptors"])
    for test in family["tests"].values():
        assert 0 < test["p_value"] <= 1 and test["drifted"] == (test["p_value"] <= test["level"])
    # weighted Holm: the combination (0.7) and the novelty test (0.3); the second in order
    # of p-value over weight is tested at alpha itself
    assert sorted([combined["level"], novelty["level"]]) in (
        pytest.approx([0.003, 0.01]),
        pytest.approx([0.007, 0.01]),
    )
    assert family["drifted"] == (combined["drifted"] or novelty["drifted"])
    assert run["metrics"]["dataset_drift_p_value"] == pytest.approx(
        min(1.0, combined["p_value"] / 0.7, novelty["p_value"] / 0.3)
    )
    if family["drifted"]:  # the window alone was flagged: the pooled test is skipped
        assert family["sequential"] is None
        assert "sequential_drift" not in run["metrics"]
    else:
        assert family["sequential"]["level"] == pytest.approx(0.001)  # 1 per 1,000 windows
        # the run metric (and gauge) an alert rule reads
        assert run["metrics"]["sequential_drift"] == float(family["sequential"]["drifted"])
        assert run["metrics"]["sequential_drift_p_value"] == family["sequential"]["p_value"]
    assert run["metrics"]["dataset_drift"] == float(family["drifted"])
    assert run["signals"]["embedding"]["score"] == family["tests"]["embedding"]["statistic"]
    assert set(run["stage_seconds"]) == {"read", "score", "metrics", "store", "total"}


def test_a_tabular_run_keeps_its_feature_values_for_its_report(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    from monitor.metrics.report import snapshot_values
    from monitor.sources.memory import MemorySource
    from monitor.views.report import run_report

    rng = np.random.default_rng(0)

    def rows(n: int) -> pd.DataFrame:
        frame = pd.DataFrame(
            {"amount": rng.normal(100, 20, n), "channel": rng.choice(["web", "shop"], n)}
        )
        return frame.assign(label=np.where(frame["amount"] > 100, "high", "low"))

    import joblib

    train = rows(300)
    joblib.dump(LogisticRegression().fit(train[["amount"]], train["label"]), tmp_path / "m.joblib")
    rows(200).to_csv(tmp_path / "ref.csv", index=False)
    config = parse_config(
        {
            "storage": "sqlite://",
            "monitors": [
                {
                    "name": "tabular",
                    "model": {"type": "sklearn", "path": str(tmp_path / "m.joblib")},
                    "reference": {"path": str(tmp_path / "ref.csv")},
                    "stream": {"path": str(tmp_path / "none-*.csv")},
                    "columns": {"features": ["amount"], "target": "label"},
                    "window": {"rows": 80},
                }
            ],
        }
    ).monitors[0]
    source = MemorySource(config.columns, config.window)
    source.append(rows(80))
    runtime = MonitorRuntime.build(config, source=source)
    store = open_store("sqlite://")
    outcome = run_cycle(runtime, store, SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC)))
    assert outcome.result is not None and outcome.run_id is not None
    assert outcome.result.family is not None
    assert set(outcome.result.family.tests) == {"feature:amount", "predicted_class"}
    # the feature's own KS test gives the family its p-value: the same test, not run twice
    amount_test = outcome.result.family.tests["feature:amount"]
    assert amount_test.p_value == outcome.result.features["amount"].score
    assert amount_test.statistic is None
    with store.reading() as session:
        report = run_report(session, outcome.run_id, "tabular")
    values = snapshot_values(report.snapshot())
    [amount] = [v for k, v in values.items() if k.startswith("ValueDrift(column=amount,")]
    assert amount == pytest.approx(outcome.result.features["amount"].score, abs=1e-12)


def test_kept_frames_round_trip_with_their_types_and_missing_values() -> None:
    frame = pd.DataFrame(
        {
            "x": [1.5, np.nan, 3.0],
            "n": [1, 2, 3],
            "flag": [True, False, True],
            "colour": ["red", None, "blue"],
        }
    )
    back = frame_from_bytes(frame_bytes(frame))
    pd.testing.assert_frame_equal(back, frame.astype({"colour": object}), check_dtype=True)
    scored = ScoredReference(
        frame, Scores(np.array([0, 1, 1]), ("a", "b"), np.eye(3)[:, :2], None, "v1"), None
    )
    again = ScoredReference.from_bytes(scored.to_bytes())
    assert again.scores.class_names == ("a", "b") and again.scores.version == "v1"
    assert again.scores.embeddings is None and again.target_ids is None
    np.testing.assert_array_equal(again.scores.probabilities, scored.scores.probabilities)


def test_check_config_warns_that_drifted_share_is_no_longer_used(project: Path, capsys):
    document = yaml.safe_load(project.read_text())
    document["monitors"][0]["drift"] = {"drifted_share": 0.5}
    project.write_text(yaml.safe_dump(document))
    assert main(["check-config", str(project)]) == 0
    out = capsys.readouterr()
    assert "monitors[0].drift.drifted_share" in out.out + out.err
    assert "no longer used" in out.out + out.err
