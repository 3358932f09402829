"""Replays through the real cycle with the packaged MiniLM: shipped scenarios, `once`, the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import main
from monitor.replay import load_scenario, parse_scenario
from monitor.replay.mix import WindowPlanner
from monitor.replay.runner import ReplayReport, replay
from monitor.store import open_store
from monitor.views.runs import run_summaries

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHIPPED = sorted(path.stem for path in SCENARIOS.glob("*.yaml"))
REAL = "real-domain-shift"
_REPORTS: dict[str, ReplayReport] = {}


@pytest.fixture
def shipped(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Replay a shipped scenario once per session (the real-data one needs the data)."""

    def run(name: str) -> ReplayReport:
        if name == REAL:
            data = request.getfixturevalue("sentiment_dir")
            monkeypatch.setenv("DRIFTWARDEN_DATA", str(data.parent))
        if name not in _REPORTS:
            _REPORTS[name] = replay(load_scenario(SCENARIOS / f"{name}.yaml"))
        return _REPORTS[name]

    return run


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_meets_its_own_expectations(shipped, name: str) -> None:
    report = shipped(name)
    assert report.failures == []
    assert len(report.windows) == report.scenario.windows
    assert [w.index for w in report.windows] == list(range(len(report.windows)))
    for rule, expectation in report.scenario.spec.expect.items():
        score = report.scores[rule]
        if expectation.detected:
            assert score.missed == [] and score.detections
    if name == "no-drift-control":
        assert report.onsets == []
        assert all(not score.fired for score in report.scores.values())


def test_late_labels_are_joined_windows_late_and_the_estimate_comes_at_once(shipped) -> None:
    report = shipped("late-labels")
    late = report.scenario.spec.labels
    assert late is not None and (late.delay, late.coverage) == (3, 0.8)
    windows = report.windows
    joined = windows[: len(windows) - late.delay]  # the last 3 windows' labels never came
    assert all(w.metrics["label_coverage"] == pytest.approx(0.8) for w in joined)
    assert all("accuracy" in w.metrics for w in joined)
    assert all("accuracy" not in w.metrics for w in windows[len(joined) :])
    assert all("estimated_accuracy" in w.metrics for w in windows)
    # the rule on realised accuracy can fire only once the drifted windows' labels came
    onset = report.onsets[0]
    realised = report.scores["accuracy-drop"]
    assert realised.delays and realised.delays[0] >= late.delay
    assert report.scores["estimated-accuracy-drop"].delays[0] < realised.delays[0]
    firing = [t for w in windows for t in w.transitions if t["rule"] == "accuracy-drop"]
    assert [t["state"] for t in firing] == ["firing"]
    assert windows[onset].metrics["accuracy"] < 0.8


def test_real_data_amazon_to_imdb_is_caught_within_a_window_with_no_alarm_before(
    shipped,
) -> None:
    report = shipped(REAL)
    imdb = next(w.index for w in report.windows if w.phase_name == "imdb")
    assert report.onsets[0] == imdb
    score = report.scores["dataset-drift"]
    assert score.detected_onsets[0] == imdb and score.delays[0] <= 1
    amazon_only = [w for w in report.windows if w.index < imdb]
    assert [w.phase_name for w in amazon_only] == ["amazon"] * len(amazon_only)
    for window in amazon_only:
        assert window.transitions == [] and window.firing == [], window.index
        assert window.metrics["dataset_drift"] == 0.0
        assert window.metrics["dataset_drift_p_value"] > 0.01
        assert abs(window.metrics["embedding_drift_score"]) < 0.01  # MMD², about 0
    assert all(not s.false_alarms for s in report.scores.values())
    # the shift is real: imdb reads differently to the model, and it scores a little worse
    shifted = [w for w in report.windows if w.phase_name == "imdb"]
    assert all(w.metrics["dataset_drift"] == 1.0 for w in shifted)
    assert min(w.metrics["embedding_drift_score"] for w in shifted) > 0.03
    mean = lambda ws: sum(w.metrics["accuracy"] for w in ws) / len(ws)  # noqa: E731
    assert mean(shifted) < mean(amazon_only)


TINY: dict[str, Any] = {
    "name": "tiny",
    "seed": 2,
    "window": {"rows": 40},
    "reference": {"rows": 80, "mix": {"electronics": 1, "hotels": 1}},
    "monitor": {
        "model": {"type": "embedding-head", "threads": 1},
        "alerts": [
            {"name": "emb", "metric": "embedding_drift_score", "above": 0.7},
            {"name": "always", "metric": "accuracy", "below": 1.01},
        ],
    },
    "phases": [
        {"name": "calm", "windows": 2, "mix": {"electronics": 1, "hotels": 1}},
        {"name": "films", "windows": 1, "mix": {"movies": 1}, "drift": True},
    ],
    "expect": {"emb": {"max_false_alarms": 0}},
}


def test_replay_and_once_store_identical_metrics_for_the_same_windows(tmp_path: Path) -> None:
    scenario = parse_scenario(TINY)
    report = replay(scenario, db=f"sqlite:///{tmp_path / 'replay.db'}")
    # the same windows as files, scored by `driftwarden once` (a fresh runtime each call)
    planner = WindowPlanner(scenario)
    planner.reference()[["text", "label"]].to_csv(tmp_path / "reference.csv", index=False)
    (tmp_path / "stream").mkdir()
    for window in planner.windows():
        window.rows[["text", "label"]].to_csv(
            tmp_path / "stream" / f"w{window.index:03d}.csv", index=False
        )
    config = {
        "storage": "sqlite:///once.db",
        "monitors": [
            {
                "name": "tiny",
                "model": {
                    "type": "embedding-head",
                    "head": str(report.monitor.model.head),  # type: ignore[union-attr]
                    "threads": 1,
                },
                "reference": {"path": "reference.csv"},
                "stream": {"path": "stream/*.csv"},
                "columns": {"text": "text", "target": "label"},
                "window": {"rows": 40},
                "snapshot": False,
                "alerts": TINY["monitor"]["alerts"],
            }
        ],
    }
    (tmp_path / "dw.yaml").write_text(yaml.safe_dump(config))
    for _ in range(3):
        assert main(["once", "--config", str(tmp_path / "dw.yaml")]) == 0
    runs = {}
    for name in ("replay", "once"):
        store = open_store(f"sqlite:///{tmp_path / name}.db")
        with store.reading() as session:
            runs[name] = run_summaries(session, "tiny")
        store.close()
    assert len(runs["replay"]) == len(runs["once"]) == 3
    for replayed, once in zip(runs["replay"], runs["once"], strict=True):
        for key in ("status", "rows", "quarantined", "model_version"):
            assert replayed[key] == once[key], key
        assert replayed["metrics"].keys() == once["metrics"].keys()
        for key, value in replayed["metrics"].items():
            assert once["metrics"][key] == value, key
        assert replayed["features"].keys() == once["features"].keys()
        for feature, test in replayed["features"].items():
            other = once["features"][feature]
            assert (test["method"], test["threshold"], test["drifted"]) == (
                other["method"],
                other["threshold"],
                other["drifted"],
            )
            assert other["score"] == test["score"]
    # the replay's own record of the windows is what it stored
    assert [w.metrics for w in report.windows] == [r["metrics"] for r in runs["replay"]]


def test_cli_replay_writes_its_files_delivers_hooks_and_exits_1_on_a_failure(
    tmp_path: Path, capsys
) -> None:
    events = tmp_path / "events.jsonl"
    raw = json.loads(json.dumps(TINY))
    raw["hooks"] = {
        "record": {
            "type": "command",
            "argv": [
                sys.executable,
                "-c",
                f"import sys; open({str(events)!r}, 'a').write(sys.stdin.read() + '\\n')",
            ],
        }
    }
    raw["monitor"]["alerts"][1]["hooks"] = ["record"]
    raw["expect"]["always"] = {"max_false_alarms": 0}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    assert main(["replay", str(path), "--out", str(out), "--json", "--allow-hooks"]) == 1
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert (
        "expectation failed: always: 1 false alarm(s) at window(s) 0 (max_false_alarms 0)"
        in captured.err
    )
    assert "error: 1 expectation(s) of scenario tiny failed" in captured.err
    assert summary["expectations"]["met"] is False
    assert summary["windows"] == 3 and summary["onsets"] == [2]
    assert summary["rules"]["always"]["false_alarms"] == [0]
    assert set(summary["rules"]["emb"]) >= {"detections", "delays", "false_alarms", "missed"}
    assert [w["window"] for w in summary["series"]] == [0, 1, 2]
    assert "accuracy" in summary["series"][0]["metrics"]
    assert summary["series"][1]["firing"] == ["always"]
    assert json.loads((out / "summary.json").read_text())["rules"] == summary["rules"]
    assert (out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    om = (out / "metrics.om").read_text()
    assert om.endswith("# EOF\n")
    assert 'driftwarden_alert_firing{monitor="tiny",rule="always"} 1.0' in om
    if shutil.which("promtool"):
        backfill = ["promtool", "tsdb", "create-blocks-from", "openmetrics"]
        done = subprocess.run([*backfill, str(out / "metrics.om"), str(tmp_path / "db")])
        assert done.returncode == 0
    # one delivery per episode, on the simulated clock
    delivered = [json.loads(line) for line in events.read_text().splitlines() if line]
    assert [(e["rule"], e["state"]) for e in delivered] == [("always", "firing")]
    assert delivered[0]["window_end"] == "2024-01-01T00:05:00Z"

    # the same scenario with the failing expectation gone: exit 0, a human summary
    del raw["expect"]["always"]
    path.write_text(yaml.safe_dump(raw))
    assert main(["replay", str(path), "--out", str(out), "--allow-hooks"]) == 0
    text = capsys.readouterr().out
    assert "replay tiny: 3 windows, onsets at 2" in text
    assert "expectations: met" in text
