"""A backtest of a config's own rules over windows that real cycles recorded gives exactly
the episodes the daemon raised; the notebook API reads the same numbers; the CLI prints
them, as JSON and as a PNG, and turns bad input into one line and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from alerts.support import config_document, make_rig

import monitor.history
from monitor.cli import main

ACCURACY = {"name": "accuracy-drop", "metric": "accuracy", "below": 0.8, "for": 2}
DRIFT = {"name": "shift", "metric": "prediction_drift_score", "above": 0.3, "for": 1}
# accuracy per window (None: unlabelled, so accuracy is not measured: a gap for the rule)
SEQUENCE = [0.95, 0.6, 0.6, None, 0.5, 0.9, 0.95, 0.9, 0.6, None, 0.6, 0.7, 0.95, 0.9, 0.95]
SHIFTED = {8, 9, 10, 11}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, int]]]:
    """A monitor's windows recorded by real cycles; its config file; the daemon's events."""
    folder = tmp_path_factory.mktemp("daemon")
    rig = make_rig(folder, [ACCURACY, DRIFT])
    for i, accuracy in enumerate(SEQUENCE):
        rig.window(accuracy, shift=2.5 if i in SHIFTED else 0.0)
    with rig.store.reading() as session:
        from monitor.store.alerts import alert_events

        events = [(e.rule, e.state, e.run_id) for e in alert_events(session, rig.monitor)]
    rig.close()
    document = config_document(folder, [ACCURACY, DRIFT])
    (folder / "dw.yaml").write_text(yaml.safe_dump(document))
    return folder / "dw.yaml", events


def _as_events(result: monitor.history.BacktestResult, origin: str) -> list[tuple[str, str, int]]:
    found = []
    for rule in result.rules:
        if rule.origin != origin:
            continue
        for episode in rule.episodes:
            found.append((rule.name, "firing", episode.run_id))
            if episode.resolved_run_id is not None:
                found.append((rule.name, "resolved", episode.resolved_run_id))
    return found


def test_the_config_rules_give_exactly_the_daemons_episodes_and_a_stricter_one_fires_later(
    recorded,
) -> None:
    config, events = recorded
    assert {rule for rule, _, _ in events} == {"accuracy-drop", "shift"}
    stricter = {**ACCURACY, "name": "accuracy-drop-3", "for": 3}
    result = monitor.history.backtest(config, [stricter])
    ordered = sorted(events, key=lambda e: (e[0], e[2]))
    assert sorted(_as_events(result, "config"), key=lambda e: (e[0], e[2])) == ordered
    today, candidate = result.rule("accuracy-drop"), result.rule("accuracy-drop-3")
    assert len(today.episodes) == len(candidate.episodes) == 2
    for now, later in zip(today.episodes, candidate.episodes, strict=True):
        assert later.index > now.index
    # the floor is today's accuracy rule's; the stricter rule is a window later on each drop
    assert result.floor == 0.8 and result.floor_source == "rule accuracy-drop"
    # (the second drop starts with a breach, then a gap: the rule waits past it)
    assert [d.delay_windows for d in today.detections] == [1, 2]
    assert [d.delay_windows for d in candidate.detections] == [3, 3]


def test_the_notebook_api_reads_the_same_numbers(recorded) -> None:
    config, _ = recorded
    with monitor.history.open(config) as history:
        runs = history.runs()
        episodes = history.alert_episodes("tabular")
        wide = history.metric_values("tabular", wide=True)
        result = history.backtest(include_config_rules=True)
        assert history.quality_versions().empty and history.quarantine().empty
    assert len(runs) == len(SEQUENCE) == result.windows
    assert list(runs["status"].unique()) == ["ok"]
    assert list(wide["run_id"]) == list(runs["run_id"])  # one row per run
    measured = wide["accuracy"].notna().sum()
    assert measured == result.rule("accuracy-drop").measured == len(SEQUENCE) - 2
    for rule in result.rules:
        daemon = episodes[episodes["rule"] == rule.name]
        assert list(daemon["run_id"]) == [e.run_id for e in rule.episodes]
        assert list(daemon["value"]) == pytest.approx([e.value for e in rule.episodes])
        assert list(daemon["window_end"]) == [e.window_end for e in rule.episodes]
        resolved = [e.resolved_run_id for e in rule.episodes]
        assert [None if pd.isna(r) else int(r) for r in daemon["resolved_run_id"]] == resolved


def test_cli_prints_json_and_writes_the_timeline(recorded, tmp_path: Path, capsys) -> None:
    config, _ = recorded
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"rules": [{**ACCURACY, "name": "strict", "for": 3}]}))
    out = tmp_path / "out"
    argv = ["backtest", "--config", str(config), "--rules", str(rules), "--json"]
    assert main([*argv, "--out", str(out)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [r["rule"] for r in document["rules"]] == ["accuracy-drop", "shift", "strict"]
    assert [r["origin"] for r in document["rules"]] == ["config", "config", "candidate"]
    assert document["windows"] == len(SEQUENCE) and document["floor"] == 0.8
    strict = document["rules"][2]
    assert [d["delay_windows"] for d in strict["detections"]] == [3, 3]
    assert (out / "backtest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "backtest.json").read_text()) == document
    assert main(["backtest", "--config", str(config), "--candidates-only", "-r", str(rules)]) == 0
    text = capsys.readouterr().out
    assert "strict (candidate): 2 episode(s)" in text and "accuracy-drop (config)" not in text
    assert "2 quality drop(s): final accuracy under 0.8 (rule accuracy-drop)" in text


@pytest.mark.parametrize(
    ("extra", "rules", "message"),
    [
        ([], [{"name": "x", "metric": "acuracy", "below": 1}], "rules[0]: unknown metric"),
        ([], [{"name": "x", "metric": "accuracy", "below": 1, "cooldown": "soon"}], "cooldown"),
        (["--since", "3 weeks"], None, "--since: not a duration"),
        (["--from", "2031-01-01"], None, "no windows in the range"),
        (["--monitor", "tabulr"], None, "no monitor named 'tabulr' (did you mean tabular?)"),
        (["--alpha", "2"], None, "--alpha must be between 0 and 1"),
        (["--from", "yesterday"], None, "--from: not a time"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    recorded, tmp_path: Path, capsys, extra: list[str], rules: list | None, message: str
) -> None:
    config, _ = recorded
    argv = ["backtest", "--config", str(config), *extra]
    if rules is not None:
        (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
        argv += ["--rules", str(tmp_path / "rules.yaml")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_an_empty_store_is_one_line_and_exit_code_2(tmp_path: Path, capsys) -> None:
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump([ACCURACY]))
    assert main(["backtest", "--db", db, "--rules", str(rules)]) == 2
    message = "error: the store holds no windows yet: nothing to backtest or read\n"
    assert capsys.readouterr().err == message
