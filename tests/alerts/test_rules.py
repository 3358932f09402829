"""The rule state machine alone: for, resolve_after, cooldown, and windows without the metric."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.alerts.rules import FIRING, OK, PENDING, RESOLVED, RuleState, breaches, step
from monitor.config import AlertRule

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def rule(**fields: object) -> AlertRule:
    return AlertRule.model_validate({"name": "r", "metric": "accuracy", "below": 0.8, **fields})


def run(r: AlertRule, values: list[float | None], state: RuleState | None = None):
    """Step through windows 5 minutes apart; return (states after each, transitions)."""
    state = state or RuleState()
    states, events = [], []
    for i, value in enumerate(values):
        change = step(r, state, value, T0 + timedelta(minutes=5 * (i + 1)))
        states.append(state.state)
        events.append(change)
    return states, events


def test_bounds_are_strict() -> None:
    assert breaches(rule(), 0.79) and not breaches(rule(), 0.8)
    above = AlertRule.model_validate({"name": "d", "metric": "drifted_share", "above": 0.5})
    assert breaches(above, 0.51) and not breaches(above, 0.5)


def test_fires_after_for_consecutive_windows_and_once_per_episode() -> None:
    states, events = run(rule(**{"for": 3}), [0.7, 0.7, 0.9, 0.7, 0.7, 0.7, 0.6, 0.5])
    assert states == [PENDING, PENDING, OK, PENDING, PENDING, FIRING, FIRING, FIRING]
    assert events == [None] * 5 + [FIRING, None, None]


def test_resolves_after_resolve_after_clean_windows_in_a_row() -> None:
    r = rule(**{"for": 1, "resolve_after": 2})
    states, events = run(r, [0.5, 0.9, 0.5, 0.9, 0.9, 0.9])
    assert states == [FIRING, FIRING, FIRING, FIRING, RESOLVED, RESOLVED]
    assert events == [FIRING, None, None, None, RESOLVED, None]


def test_resolve_after_defaults_to_for() -> None:
    _, events = run(rule(**{"for": 2}), [0.5, 0.5, 0.9, 0.9])
    assert events == [None, FIRING, None, RESOLVED]


def test_cooldown_holds_a_new_episode_until_it_has_passed() -> None:
    # windows end at 5, 10, ..., 35 min; resolved at 10, so the 20 min cooldown ends at 30
    r = rule(**{"for": 1, "cooldown": "20m"})
    states, events = run(r, [0.5, 0.9, 0.5, 0.5, 0.5, 0.5, 0.5])
    assert events == [FIRING, RESOLVED, None, None, None, FIRING, None]
    assert states[2:5] == [PENDING] * 3


def test_a_new_episode_fires_after_resolution_without_cooldown() -> None:
    state = RuleState()
    _, events = run(rule(), [0.5, 0.9, 0.5, 0.9], state)
    assert events == [FIRING, RESOLVED, FIRING, RESOLVED]
    assert state.episode == 2


def test_a_window_without_the_metric_neither_advances_nor_resets() -> None:
    r = rule(**{"for": 3})
    states, events = run(r, [0.5, None, 0.5, None, None, 0.5])
    assert events == [None] * 5 + [FIRING]
    assert states == [PENDING, PENDING, PENDING, PENDING, PENDING, FIRING]
    # and while firing, a missing window does not count toward resolving either
    state = RuleState()
    _, events = run(rule(**{"for": 1, "resolve_after": 2}), [0.5, 0.9, None, 0.9], state)
    assert events == [FIRING, None, None, RESOLVED]
