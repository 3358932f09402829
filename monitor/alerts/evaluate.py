"""Evaluating a monitor's alert rules over its stored history, in the cycle's own transaction.

The run, the rule states, the alert events and their outbox rows commit together, so a
window is never recorded without its alerts, nor an alert raised for an unrecorded window.

On a monitor with a `labels:` source, rules on quality (accuracy, f1, ..., label coverage)
are late rules: the label join evaluates them, in window order, over the windows whose
quality has become final, so an episode fires once, not once per batch of labels.
"""

from __future__ import annotations

import logging
from collections.abc import Container, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.alerts.rules import FIRING, RESOLVED, RuleState, threshold_of, walk
from monitor.config import AlertRule, MonitorConfig
from monitor.records.catalog import BY_NAME, DRIFT, FEATURE_METRIC_PREFIX
from monitor.store.alerts import (
    MetricPoint,
    add_event,
    final_quality_history,
    forget_rules,
    metric_history,
    rule_states,
)
from monitor.store.explanations import explanations
from monitor.store.outbox import enqueue
from monitor.store.quality import VERSIONED
from monitor.store.repository import monitor_id
from monitor.store.schema_operations import AlertStateRow

log = logging.getLogger("driftwarden.alerts")

# Runs a rule replays when it first meets a history (a rule added to a running monitor).
_MAX_REPLAY = 1000


@dataclass(frozen=True)
class Transition:
    """An alert episode firing or resolving on a run, and the deliveries it queued."""

    monitor: str
    rule: str
    state: str  # firing | resolved
    metric: str
    value: float | None
    threshold: float
    run_id: int
    window_start: datetime
    window_end: datetime
    fired_at: datetime | None
    episode: int
    event_id: int = 0
    delivery_ids: tuple[str, ...] = ()
    #: late quality: the window's labelled rows and their share when its quality became final
    labelled_rows: int | None = None
    label_coverage: float | None = None


@dataclass
class _Plan:
    rule: AlertRule
    state: RuleState
    last_run_id: int
    transitions: list[Transition] = field(default_factory=list)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def is_late(monitor: MonitorConfig, rule: AlertRule) -> bool:
    """Whether `rule` waits for final quality (a quality rule of a monitor with late labels)."""
    return monitor.labels is not None and rule.metric in VERSIONED


def is_drift(metric: str) -> bool:
    """Whether an alert rule watches a drift metric (its events carry the explanation)."""
    found = BY_NAME.get(metric)
    return metric.startswith(FEATURE_METRIC_PREFIX) or (found is not None and found.kind == DRIFT)


def event_payload(transition: Transition) -> dict[str, Any]:
    """The hook event (docs/architecture.md, "Hook events") without `delivery_id` (each
    delivery adds its own); a late-quality event also says how many of the window's rows
    were labelled."""
    late = {}
    if transition.labelled_rows is not None:
        late = {
            "labelled_rows": transition.labelled_rows,
            "label_coverage": transition.label_coverage,
        }
    return {
        "event": f"alert_{transition.state}",
        "monitor": transition.monitor,
        "rule": transition.rule,
        "state": transition.state,
        "metric": transition.metric,
        "value": transition.value,
        "threshold": transition.threshold,
        "window_start": _iso(transition.window_start),
        "window_end": _iso(transition.window_end),
        "run_id": transition.run_id,
        "fired_at": _iso(transition.fired_at),
        **late,
    }


def _state_of(row: AlertStateRow | None) -> RuleState:
    if row is None:
        return RuleState()
    return RuleState(
        row.state, row.breaches, row.clears, row.episode, row.value, row.fired_at, row.resolved_at
    )


def _transition(
    monitor: str, rule: AlertRule, kind: str, state: RuleState, point: MetricPoint
) -> Transition:
    return Transition(
        monitor,
        rule.name,
        kind,
        rule.metric,
        point.value if point.value is not None else state.value,
        threshold_of(rule),
        point.run_id,
        point.window_start,
        point.window_end,
        state.fired_at,
        state.episode,
        labelled_rows=point.labelled_rows,
        label_coverage=point.label_coverage,
    )


def _plan(
    session: Session,
    mid: int,
    monitor: str,
    rule: AlertRule,
    row: AlertStateRow | None,
    run_id: int,
    fresh: Container[int] | None,
) -> _Plan | None:
    """Step the rule over the runs it has not seen; decide the events. Reads only.

    The news are the newest run (`fresh` None: the run just recorded), or the runs in
    `fresh` (late rules: the windows whose quality just became final). Earlier runs are
    history (a rule new to it) and raise no events of their own: an episode they started
    or ended is announced once, at the first news, so receivers stay balanced.
    """
    history = (metric_history if fresh is None else final_quality_history)(
        session,
        mid,
        rule.metric,
        after_run_id=None if row is None else row.last_run_id,
        up_to_run_id=run_id,
        limit=_MAX_REPLAY,
    )
    if not history:
        return None
    state = _state_of(row)
    plan = _Plan(rule, state, history[-1].run_id)
    was_firing = state.state == FIRING

    def announce_history(at: MetricPoint) -> None:
        if state.state == FIRING and not was_firing:
            plan.transitions.append(_transition(monitor, rule, FIRING, state, at))
        elif was_firing and state.state != FIRING:
            plan.transitions.append(_transition(monitor, rule, RESOLVED, state, at))

    def is_news(point: MetricPoint) -> bool:
        return point is history[-1] if fresh is None else point.run_id in fresh

    def windows(points: list[MetricPoint]) -> Iterator[tuple[datetime, float | None]]:
        return ((point.window_end, point.value) for point in points)

    first_news = next((i for i, point in enumerate(history) if is_news(point)), len(history))
    for _ in walk(rule, state, windows(history[:first_news])):
        pass  # history: its episodes are announced once, below
    if first_news == len(history):
        announce_history(history[-1])
        return plan
    announce_history(history[first_news])
    news = history[first_news:]
    # zip takes the point, then steps it: `state` is as of that point when it is read
    for point, change in zip(news, walk(rule, state, windows(news)), strict=True):
        # a window that is not news after the first news is stepped without an event
        if change is not None and is_news(point):
            plan.transitions.append(_transition(monitor, rule, change, state, point))
    return plan


def _save(
    session: Session, mid: int, plan: _Plan, row: AlertStateRow | None, now: datetime
) -> None:
    if row is None:
        row = AlertStateRow(monitor_id=mid, rule=plan.rule.name)
        session.add(row)
    state = plan.state
    row.state, row.breaches, row.clears, row.episode = (
        state.state,
        state.breaches,
        state.clears,
        state.episode,
    )
    row.value, row.fired_at, row.resolved_at = state.value, state.fired_at, state.resolved_at
    row.last_run_id, row.updated_at = plan.last_run_id, now


def evaluate_rules(
    session: Session,
    monitor: MonitorConfig,
    run_id: int,
    now: datetime,
    *,
    finalised: Container[int] | None = None,
) -> list[Transition]:
    """Evaluate the rules of `monitor` up to run `run_id`; queue one delivery per hook.

    Call it in the transaction that recorded the run (every rule but the late ones), or in
    the label join's with `finalised`, the runs whose quality just became final (the late
    rules, up to `run_id`: the last run before the first window whose quality is open). A
    rule that has already seen the run is left alone, so evaluating twice raises nothing
    twice. A bug in one rule is logged and skips that rule (it catches up on the next run);
    it never loses the run.
    """
    mid = monitor_id(session, monitor.name, now)
    stored = rule_states(session, mid)
    forget_rules(session, mid, {rule.name for rule in monitor.alerts})
    transitions: list[Transition] = []
    for rule in monitor.alerts:
        if is_late(monitor, rule) != (finalised is not None):
            continue
        row = stored.get(rule.name)
        if row is not None and row.last_run_id is not None and row.last_run_id >= run_id:
            continue
        try:
            plan = _plan(session, mid, monitor.name, rule, row, run_id, finalised)
        except Exception:
            log.exception("monitor %s: rule %s could not be evaluated", monitor.name, rule.name)
            continue
        if plan is None:
            continue
        for transition in plan.transitions:
            payload = event_payload(transition)
            if is_drift(rule.metric):  # what changed in the window the event is about
                payload["explanation"] = explanations(session, [transition.run_id]).get(
                    transition.run_id
                )
            event_id = add_event(
                session,
                mid,
                rule.name,
                transition.state,
                transition.episode,
                transition.run_id,
                payload,
                now,
            )
            ids = enqueue(session, event_id, rule.hooks, now)
            transitions.append(replace(transition, event_id=event_id, delivery_ids=tuple(ids)))
            log.warning(
                "monitor %s: alert %s %s (%s %s, threshold %s); %d hook deliveries queued",
                monitor.name,
                rule.name,
                transition.state,
                rule.metric,
                transition.value,
                transition.threshold,
                len(ids),
            )
        _save(session, mid, plan, row, now)
    return transitions
