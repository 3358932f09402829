"""The alert rule state machine (ok -> pending -> firing -> resolved), one window at a time.

Pure: no store, no clock. The daemon (`monitor.alerts.evaluate`) and the backtest
(`monitor.history`) both feed it stored history through `walk`, so a rule behaves the
same in both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from monitor.config import AlertRule

OK = "ok"
PENDING = "pending"
FIRING = "firing"
RESOLVED = "resolved"
STATES = (OK, PENDING, FIRING, RESOLVED)


@dataclass
class RuleState:
    """Where one rule stands after the windows seen so far.

    `breaches` counts consecutive breaching windows toward firing; `clears` counts
    consecutive clean windows toward resolving; `episode` numbers the episodes fired.
    """

    state: str = OK
    breaches: int = 0
    clears: int = 0
    episode: int = 0
    value: float | None = None
    fired_at: datetime | None = None
    resolved_at: datetime | None = None


def threshold_of(rule: AlertRule) -> float:
    bound = rule.above if rule.above is not None else rule.below
    assert bound is not None  # the config requires exactly one
    return bound


def breaches(rule: AlertRule, value: float) -> bool:
    """`above` and `below` are strict, like PromQL's `>` and `<`."""
    if rule.above is not None:
        return value > rule.above
    assert rule.below is not None
    return value < rule.below


def step(rule: AlertRule, state: RuleState, value: float | None, at: datetime) -> str | None:
    """Advance `state` by one window ending at `at`; return FIRING or RESOLVED on a transition.

    - `for: N` consecutive breaching windows fire an episode; while firing, further
      breaching windows change nothing (no event per window).
    - `resolve_after: M` (default N) consecutive clean windows resolve it.
    - `cooldown`: a new episode may fire only that long after the previous one resolved
      (measured in window time, `at`); until then breaching windows keep the rule pending
      and keep counting, so it fires on the first window past the cooldown that still
      breaches.
    - A window without the metric (`value is None`: no labels for accuracy, a failed run,
      a feature absent) neither advances nor resets: it is skipped, so "consecutive" means
      consecutive among the windows that measured the metric. Resetting would let a stream
      with sparse labels never fire; counting it as a breach would fire on missing data.
    """
    if value is None:
        return None
    state.value = value
    resolve_after = rule.resolve_after or rule.for_
    bad = breaches(rule, value)
    if state.state == FIRING:
        if bad:
            state.clears = 0
            return None
        state.clears += 1
        if state.clears < resolve_after:
            return None
        state.state, state.resolved_at = RESOLVED, at
        state.breaches = state.clears = 0
        return RESOLVED
    if not bad:
        state.breaches = 0
        if state.state == PENDING:
            state.state = OK
        return None
    state.breaches += 1
    cooling = (
        rule.cooldown is not None
        and state.resolved_at is not None
        and at < state.resolved_at + rule.cooldown
    )
    if state.breaches >= rule.for_ and not cooling:
        state.state, state.fired_at = FIRING, at
        state.episode += 1
        state.clears = 0
        return FIRING
    state.state = PENDING
    return None


def walk(
    rule: AlertRule, state: RuleState, windows: Iterable[tuple[datetime, float | None]]
) -> Iterator[str | None]:
    """Step `state` over `(window_end, value)` pairs in window order, yielding each
    window's transition (FIRING, RESOLVED or None).

    Lazy: when a transition is yielded, `state` is exactly the state after that window,
    so a caller reads `state.episode`, `fired_at` and `value` as of that window.
    """
    for window_end, value in windows:
        yield step(rule, state, value, window_end)
