"""A shipped scenario replayed through the real cycle into a store (the packaged MiniLM,
late labels): backtesting its own rules gives exactly the episodes the daemon recorded,
on the late rule too, and a stricter candidate fires later; the API agrees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import monitor.history
from monitor.cli import main
from monitor.replay import load_scenario
from monitor.replay.runner import replay

pytestmark = pytest.mark.slow

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "late-labels.yaml"


def test_backtest_of_a_replayed_scenario_matches_the_daemon(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'replay.db'}"
    scenario = load_scenario(SCENARIO)
    report = replay(scenario, db=url)
    assert report.failures == []  # the scenario's own expectations hold
    rules = [
        rule.model_dump(by_alias=True, exclude={"hooks"}, exclude_none=True)
        for rule in scenario.monitor.alerts
    ]
    stricter = {**rules[1], "name": "accuracy-drop-strict", "for": 3}
    assert rules[1]["metric"] == "accuracy"
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"rules": [*rules, stricter]}))
    assert main(["backtest", "--db", url, "--rules", str(path), "--floor", "0.8", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    found = {rule["rule"]: rule for rule in document["rules"]}
    assert found["accuracy-drop"]["late"] and not found["estimated-accuracy-drop"]["late"]
    # the daemon's record: every alert event the replay's cycles and label joins stored
    with monitor.history.open(url) as history:
        events = history.alert_events()
    daemon: dict[str, list[tuple[str, int]]] = {}
    for event in events.itertuples(index=False):
        daemon.setdefault(event.rule, []).append((event.state, event.run_id))
    assert set(daemon) == {"estimated-accuracy-drop", "accuracy-drop"}
    for name, transitions in daemon.items():
        backtested = []
        for episode in found[name]["episodes"]:
            backtested.append(("firing", episode["run_id"]))
            if episode["resolved_run_id"] is not None:
                backtested.append(("resolved", episode["resolved_run_id"]))
        assert sorted(backtested, key=lambda t: t[1]) == sorted(transitions, key=lambda t: t[1])
    today, strict = found["accuracy-drop"]["episodes"], found["accuracy-drop-strict"]["episodes"]
    assert len(today) == len(strict) == 1
    assert strict[0]["window"] > today[0]["window"]
    delays = [d["delay_windows"] for d in found["accuracy-drop"]["detections"]]
    strict_delays = [d["delay_windows"] for d in found["accuracy-drop-strict"]["detections"]]
    assert strict_delays[0] > delays[0]
    with monitor.history.open(url) as history:
        result = history.backtest(path, floor=0.8)
        episodes = history.alert_episodes()
        versions = history.quality_versions()
    assert result.to_dict() == document
    for name in daemon:
        recorded = episodes[episodes["rule"] == name]
        assert list(recorded["run_id"]) == [e.run_id for e in result.rule(name).episodes]
    final = versions[versions["latest"] & versions["final"]]
    assert result.final_quality_windows == len(final)
