"""Detection scoring: which firings detect an onset, how late, which are false alarms.

Pure functions on window indexes. Definitions (also in scenarios/README.md):

- a detection is the first window a rule fires at or after an onset (and before the next
  onset); its delay is that window minus the onset's, in windows;
- a false alarm is any other firing: a firing with no onset since the rule last resolved;
- a miss is an onset with no firing before the next onset or the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from monitor.replay.scenario import Expectation


@dataclass
class RuleScore:
    """How one rule did: window indexes of its detections and false alarms, onsets missed."""

    onsets: list[int]
    fired: list[int]
    resolved: list[int] = field(default_factory=list)
    detections: list[int] = field(default_factory=list)
    delays: list[int] = field(default_factory=list)  # one per detected onset, in order
    detected_onsets: list[int] = field(default_factory=list)
    false_alarms: list[int] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_rule(
    onsets: Sequence[int], fired: Sequence[int], resolved: Sequence[int] = ()
) -> RuleScore:
    """Score one rule's firing windows against the scenario's onsets.

    A firing that is the first at or after an onset is its detection even when the rule
    resolved between the onset and it (it was firing already when the drift began); every
    other firing has no onset since the rule last resolved, so it is a false alarm.

    >>> score_rule([5], [2, 6], [4]).as_dict()["false_alarms"], score_rule([5], [6]).delays
    ([2], [1])
    """
    onsets, fired = sorted(onsets), sorted(fired)
    score = RuleScore(list(onsets), list(fired), sorted(resolved))
    claimed: set[int] = set()
    for i, onset in enumerate(onsets):
        before = onsets[i + 1] if i + 1 < len(onsets) else None
        first = next((f for f in fired if f >= onset and (before is None or f < before)), None)
        if first is None:
            score.missed.append(onset)
            continue
        claimed.add(first)
        score.detections.append(first)
        score.detected_onsets.append(onset)
        score.delays.append(first - onset)
    score.false_alarms = [f for f in fired if f not in claimed]
    return score


def check_expectation(rule: str, expectation: Expectation, score: RuleScore) -> list[str]:
    """One sentence per way the rule's score breaks its `expect:` entry; empty when it holds."""
    failures: list[str] = []
    if expectation.detected is True:
        failures += [
            f"{rule}: missed the onset at window {onset} (expected detected: true)"
            for onset in score.missed
        ]
    if expectation.detected is False and score.detections:
        windows = ", ".join(map(str, score.detections))
        failures.append(
            f"{rule}: fired at window(s) {windows} after an onset (expected detected: false)"
        )
    if expectation.max_delay is not None:
        for onset, delay in zip(score.detected_onsets, score.delays, strict=True):
            if delay > expectation.max_delay:
                failures.append(
                    f"{rule}: detected the onset at window {onset} after {delay} windows "
                    f"(max_delay {expectation.max_delay})"
                )
        if expectation.detected is not True:  # detected: true already reported the misses
            failures += [
                f"{rule}: missed the onset at window {onset} (max_delay {expectation.max_delay})"
                for onset in score.missed
            ]
    limit = expectation.max_false_alarms
    if limit is not None and len(score.false_alarms) > limit:
        windows = ", ".join(map(str, score.false_alarms))
        failures.append(
            f"{rule}: {len(score.false_alarms)} false alarm(s) at window(s) {windows} "
            f"(max_false_alarms {limit})"
        )
    return failures


def check_expectations(
    expect: Mapping[str, Expectation], scores: Mapping[str, RuleScore]
) -> list[str]:
    """Every failure of every rule's expectation, in the order the scenario lists them."""
    failures: list[str] = []
    for rule, expectation in expect.items():
        failures += check_expectation(rule, expectation, scores[rule])
    return failures
