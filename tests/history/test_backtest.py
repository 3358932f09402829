"""The backtest over stores with a known history: gaps, failed runs, cooldowns, quality
drops, the drift level decided again, and the same answer on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import monitor.history
from history.support import FAILED, START, STEP, write_history
from monitor.alerts.rules import RuleState, step
from monitor.config import AlertRule
from monitor.errors import UsageError
from monitor.history.scoring import quality_drops


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'history.db'}"


def _acc(value: float) -> dict[str, float]:
    return {"accuracy": value}


def test_a_gap_or_a_failed_run_neither_advances_nor_resets_a_rule(tmp_path: Path) -> None:
    # accuracy < 0.8 for 3: the breaching windows are 1, 3 and 5, with a window without
    # accuracy (2) and a failed run (4) between them
    windows = [_acc(0.9), _acc(0.7), {}, _acc(0.7), FAILED, _acc(0.6), _acc(0.9), _acc(0.9)]
    write_history(_url(tmp_path), windows)
    rules = [{"name": "low", "metric": "accuracy", "below": 0.8, "for": 3, "resolve_after": 2}]
    result = monitor.history.backtest(_url(tmp_path), rules, floor=0.8)
    low = result.rule("low")
    assert [(e.index, e.value, e.resolved_index) for e in low.episodes] == [(5, 0.6, 7)]
    assert low.windows == 8 and low.measured == 6
    # the daemon's own state machine, stepped window by window, agrees
    rule = AlertRule.model_validate(rules[0])
    state, changes = RuleState(), []
    for i, spec in enumerate(windows):
        value = None if spec == FAILED else spec.get("accuracy")  # type: ignore[union-attr]
        changes.append(step(rule, state, value, START + (i + 1) * STEP))
    assert [i for i, change in enumerate(changes) if change] == [5, 7]


def test_delay_after_each_drop_and_false_alarms_against_the_floor(tmp_path: Path) -> None:
    accuracy = [0.9, 0.9, 0.7, 0.7, 0.7, 0.9, 0.9, 0.9, 0.7, 0.7, 0.9]
    share = [0.1, 0.7, 0.7, 0.1, 0.1, 0.1, 0.7, 0.1, 0.1, 0.1, 0.1]
    windows = [{"accuracy": a, "drifted_share": s} for a, s in zip(accuracy, share, strict=True)]
    write_history(_url(tmp_path), windows)
    rules = [
        {"name": "acc", "metric": "accuracy", "below": 0.8, "for": 2},
        {"name": "share", "metric": "drifted_share", "above": 0.5, "for": 1},
    ]
    result = monitor.history.backtest(_url(tmp_path), rules, floor=0.8)
    assert [(d.onset, d.end) for d in result.drops] == [(2, 4), (8, 9)]
    acc = result.rule("acc")
    assert [e.index for e in acc.episodes] == [3, 9]
    assert [(d.drop, d.delay_windows, d.delay) for d in acc.detections] == [
        (0, 1, STEP),
        (1, 1, STEP),
    ]
    assert acc.missed == [] and acc.false_alarms == []
    share_rule = result.rule("share")
    # fired at window 1, still firing when the first drop began: caught, one window early
    assert [e.index for e in share_rule.episodes] == [1, 6]
    assert [(d.drop, d.delay_windows) for d in share_rule.detections] == [(0, -1)]
    assert share_rule.missed == [1] and share_rule.false_alarms == [2]
    assert share_rule.pages_per_week == pytest.approx(2 / (11 * STEP / timedelta(days=7)))


def test_quality_drops_skip_windows_without_final_quality() -> None:
    values = [0.9, 0.7, None, 0.6, 0.9, None, 0.5]
    ends = [START + i * STEP for i in range(len(values))]
    drops = quality_drops(values, list(range(10, 17)), ends, 0.8)
    assert [(d.onset, d.end, d.onset_run_id, d.lowest) for d in drops] == [
        (1, 3, 11, 0.6),
        (6, 6, 16, 0.5),
    ]


def test_cooldown_in_window_time_delays_the_next_episode(tmp_path: Path) -> None:
    share = [0.9, 0.1, 0.9, 0.9, 0.9, 0.9, 0.1]
    write_history(_url(tmp_path), [{"drifted_share": s} for s in share])
    rules = [
        {"name": "plain", "metric": "drifted_share", "above": 0.5},
        {"name": "calm", "metric": "drifted_share", "above": 0.5, "cooldown": "15m"},
    ]
    result = monitor.history.backtest(_url(tmp_path), rules)
    assert [e.index for e in result.rule("plain").episodes] == [0, 2]
    # resolved at window 1's end; 15 minutes later is window 4's end
    assert [e.index for e in result.rule("calm").episodes] == [0, 4]
    assert result.floor is None and not result.rule("plain").scored


def test_dataset_drift_is_decided_again_at_another_alpha_from_the_stored_p_values(
    tmp_path: Path,
) -> None:
    p_values = [0.5, 0.01, 0.0004, 0.02, 0.0001, 0.3]
    windows = [{"dataset_drift_p_value": p, "dataset_drift": float(p <= 0.05)} for p in p_values]
    write_history(_url(tmp_path), windows)
    rules = [{"name": "drift", "metric": "dataset_drift", "above": 0.5}]
    as_stored = monitor.history.backtest(_url(tmp_path), rules)
    assert [e.index for e in as_stored.rule("drift").episodes] == [1]
    assert as_stored.drift_level is None
    strict = monitor.history.backtest(_url(tmp_path), rules, alpha=0.001)
    assert [(e.index, e.resolved_index) for e in strict.rule("drift").episodes] == [
        (2, 3),
        (4, 5),
    ]
    level = strict.drift_level
    assert level is not None
    assert (level.flagged_stored, level.flagged_at_alpha, level.windows_with_p_values) == (4, 2, 6)
    assert strict.to_dict()["drift_level"]["rescored"] is False


def test_a_range_without_windows_and_an_unknown_monitor_are_usage_errors(tmp_path: Path) -> None:
    write_history(_url(tmp_path), [_acc(0.9)] * 3)
    rules = [{"name": "low", "metric": "accuracy", "below": 0.8}]
    with pytest.raises(UsageError, match="no windows in the range"):
        monitor.history.backtest(_url(tmp_path), rules, start=START + 10 * STEP)
    with pytest.raises(UsageError, match=r"no monitor named 'svcx' \(did you mean svc\?\)"):
        monitor.history.backtest(_url(tmp_path), rules, monitor="svcx")
    with pytest.raises(UsageError, match=r"^rules: rules\[0\]: unknown metric .*; use one of"):
        monitor.history.backtest(_url(tmp_path), [{"name": "x", "metric": "acc", "below": 1}])
    result = monitor.history.backtest(_url(tmp_path), rules, start=START + STEP)
    assert result.windows == 2  # windows ending after the start: the 2nd and 3rd


@pytest.mark.integration
def test_postgresql_gives_the_same_backtest_as_sqlite(tmp_path: Path, postgres) -> None:
    accuracy = [0.9, 0.7, 0.7, 0.9, 0.9, 0.9, 0.6, 0.6, 0.9]
    windows: list[dict[str, float] | str] = [
        {"accuracy": a, "dataset_drift": 1.0, "dataset_drift_p_value": 0.0005 * (i + 1)}
        for i, a in enumerate(accuracy)
    ]
    windows[3] = FAILED
    rules = [
        {"name": "acc", "metric": "accuracy", "below": 0.8, "for": 2},
        {"name": "drift", "metric": "dataset_drift", "above": 0.5, "for": 2},
    ]
    found = []
    for url in (_url(tmp_path), postgres.fresh_database()):
        write_history(url, windows)
        found.append(monitor.history.backtest(url, rules, floor=0.8, alpha=0.002).to_dict())
    assert found[0] == found[1]
    acc = found[0]["rules"][0]["episodes"]
    assert [(e["window"], e["resolved_window"]) for e in acc] == [(2, 5), (7, None)]


def test_two_monitors_need_a_name_and_frames_keep_them_apart(tmp_path: Path) -> None:
    write_history(_url(tmp_path), [_acc(0.9), _acc(0.7)], monitor="a", quarantined=2)
    write_history(_url(tmp_path), [_acc(0.7)] * 3, monitor="b")
    rules = [{"name": "low", "metric": "accuracy", "below": 0.8}]
    with pytest.raises(UsageError, match=r"give --monitor NAME \(stored monitors: a, b\)"):
        monitor.history.backtest(_url(tmp_path), rules)
    with monitor.history.open(_url(tmp_path)) as history:
        assert history.monitors() == ["a", "b"]
        assert list(history.runs("b")["monitor"]) == ["b"] * 3
        wide = history.metric_values(wide=True)
        assert list(wide.groupby("monitor")["accuracy"].count()) == [2, 3]
        quarantined = history.quarantine("a")
        assert list(quarantined["row_id"]) == ["w0-r0", "w0-r1"]
        assert history.quarantine("b").empty
        assert [e.index for e in history.backtest(rules, monitor="b").rule("low").episodes] == [0]
