"""Detection scoring on hand-made firing sequences: detections, delays, false alarms, misses."""

from __future__ import annotations

import pytest

from monitor.replay.scenario import Expectation
from monitor.replay.scoring import check_expectation, check_expectations, score_rule

# onsets, firings, resolutions -> detections, delays, false alarms, missed onsets
CASES = [
    pytest.param([], [], [], [], [], [], [], id="nothing happens"),
    pytest.param([], [3], [5], [], [], [3], [], id="control: any firing is a false alarm"),
    pytest.param([5], [5], [], [5], [0], [], [], id="fires on the onset window: delay 0"),
    pytest.param([5], [7], [], [7], [2], [], [], id="fires two windows late"),
    pytest.param([5], [], [], [], [], [], [5], id="never fires: a miss"),
    pytest.param([5], [2], [4], [], [], [2], [5], id="fires only before the onset"),
    pytest.param([5], [2, 6], [4], [6], [1], [2], [], id="false alarm, resolves, then detects"),
    pytest.param(
        [5], [5, 8], [7], [5], [0], [8], [], id="re-fires without a new onset: false alarm"
    ),
    pytest.param([3, 8], [3, 9], [5], [3, 9], [0, 1], [], [], id="two onsets, each detected once"),
    pytest.param([3, 8], [9], [], [9], [1], [], [3], id="first onset missed, second detected"),
    pytest.param(
        [3, 8], [4], [], [4], [1], [], [8], id="still firing at the second onset: it is missed"
    ),
    pytest.param(
        [3, 8], [4, 12], [6], [4, 12], [1, 4], [], [], id="a late detection of the second onset"
    ),
    pytest.param(
        [3, 5], [6], [], [6], [1], [], [3], id="a firing after the next onset belongs to it"
    ),
    pytest.param(
        [4],
        [1, 6],
        [5],
        [6],
        [2],
        [1],
        [],
        id="already firing at the onset, resolves, fires again: that firing detects it",
    ),
    pytest.param([0], [0], [], [0], [0], [], [], id="onset at the very first window"),
]


@pytest.mark.parametrize(
    ("onsets", "fired", "resolved", "detections", "delays", "false_alarms", "missed"), CASES
)
def test_score_rule(onsets, fired, resolved, detections, delays, false_alarms, missed) -> None:
    score = score_rule(onsets, fired, resolved)
    assert score.detections == detections
    assert score.delays == delays
    assert score.false_alarms == false_alarms
    assert score.missed == missed
    # every firing is either a detection or a false alarm, never both
    assert sorted(score.detections + score.false_alarms) == sorted(fired)


def test_inputs_in_any_order_give_the_same_score() -> None:
    assert score_rule([8, 3], [9, 3], [5]) == score_rule([3, 8], [3, 9], [5])


# expectation, (onsets, fired) -> failure substrings (empty: it holds)
EXPECTATIONS = [
    pytest.param({"detected": True}, ([5], [5]), [], id="detected holds"),
    pytest.param({"detected": True}, ([5], []), ["missed the onset at window 5"], id="detected"),
    pytest.param({"detected": False}, ([5], []), [], id="not detected holds"),
    pytest.param(
        {"detected": False}, ([5], [6]), ["fired at window(s) 6 after an onset"], id="not detected"
    ),
    pytest.param({"max_delay": 1}, ([5], [6]), [], id="delay within bound"),
    pytest.param(
        {"max_delay": 1}, ([5], [7]), ["after 2 windows (max_delay 1)"], id="delay too long"
    ),
    pytest.param({"max_delay": 1}, ([5], []), ["missed the onset at window 5"], id="delay: miss"),
    pytest.param({"max_false_alarms": 1}, ([], [1]), [], id="one false alarm allowed"),
    pytest.param(
        {"max_false_alarms": 1},
        ([], [1, 4]),
        ["2 false alarm(s) at window(s) 1, 4 (max_false_alarms 1)"],
        id="too many false alarms",
    ),
    pytest.param(
        {"detected": True, "max_delay": 0, "max_false_alarms": 0},
        ([2, 6], [1, 2]),
        ["missed the onset at window 6", "1 false alarm(s) at window(s) 1"],
        id="several failures at once, the miss said once",
    ),
]


@pytest.mark.parametrize(("expected", "sequence", "failures"), EXPECTATIONS)
def test_check_expectation(expected, sequence, failures) -> None:
    onsets, fired = sequence
    resolved = [f + 1 for f in fired[:-1]]
    found = check_expectation(
        "rule-x", Expectation(**expected), score_rule(onsets, fired, resolved)
    )
    assert len(found) == len(failures), found
    for line, part in zip(found, failures, strict=True):
        assert line.startswith("rule-x: ") and part in line


def test_check_expectations_names_each_rule() -> None:
    scores = {"a": score_rule([2], [2]), "b": score_rule([2], [])}
    expect = {"a": Expectation(detected=True), "b": Expectation(detected=True)}
    assert check_expectations(expect, scores) == [
        "b: missed the onset at window 2 (expected detected: true)"
    ]
