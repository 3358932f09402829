"""Backtest alert rules on a monitor's stored windows with the daemon's own state machine.

Each rule walks the windows in run order through `monitor.alerts.rules.walk`, the function
the daemon's evaluator steps its rules with, from a fresh state: the episodes are the ones
the daemon would have raised had the rule been configured from the first window. Rules on
quality of a monitor with late labels read each window's latest (final) quality version and
stop where the daemon's late rules stop, before the first window whose quality is open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from monitor.alerts.rules import FIRING, RESOLVED, RuleState, walk
from monitor.config import AlertRule, MonitorConfig
from monitor.errors import UsageError
from monitor.history import reads
from monitor.history.results import (
    CANDIDATE,
    CONFIG,
    BacktestResult,
    DriftLevel,
    Episode,
    RuleBacktest,
)
from monitor.history.scoring import quality_drops, score_episodes
from monitor.store.quality import VERSIONED

DATASET_DRIFT = "dataset_drift"
_ACCURACY = "accuracy"
_DRIFT_P_VALUE = "dataset_drift_p_value"


@dataclass(frozen=True)
class _Loaded:
    runs: list[reads.StoredRun]
    recorded: dict[str, dict[int, float]]
    quality: dict[int, reads.LatestQuality]
    late_labels: bool
    frontier: int | None
    p_values: dict[int, float] | None


def _is_late(rule: AlertRule, loaded: _Loaded) -> bool:
    return loaded.late_labels and rule.metric in VERSIONED


def _values(rule: AlertRule, loaded: _Loaded, alpha: float | None) -> list[float | None]:
    """The rule metric's value in each window as the daemon would read it (None: missing)."""
    runs = loaded.runs
    recorded = loaded.recorded[rule.metric]
    if _is_late(rule, loaded):
        quality = loaded.quality
        return [
            None
            if not run.ok
            else quality[run.run_id].value(rule.metric)
            if run.run_id in quality
            else recorded.get(run.run_id)
            for run in runs
        ]
    if rule.metric == DATASET_DRIFT and loaded.p_values is not None and alpha is not None:
        p_values = loaded.p_values
        return [
            None
            if not run.ok
            else recorded.get(run.run_id)
            if run.run_id not in p_values
            else float(p_values[run.run_id] <= alpha)
            for run in runs
        ]
    return [recorded.get(run.run_id) if run.ok else None for run in runs]


def rule_values(rule: AlertRule, loaded: _Loaded, alpha: float | None) -> list[float | None]:
    """The rule metric's value in each window the rule reads, as the daemon would read it;
    a late rule's list stops where the daemon's late rules have not reached yet."""
    if not _is_late(rule, loaded):
        return _values(rule, loaded, alpha)
    frontier = -1 if loaded.frontier is None else loaded.frontier
    runs = [run for run in loaded.runs if run.run_id <= frontier]
    return _values(rule, replace(loaded, runs=runs), alpha)


def episodes_of(
    rule: AlertRule, runs: Sequence[reads.StoredRun], values: Sequence[float | None]
) -> list[Episode]:
    """The episodes `rule` raises over `values` (one per run of `runs`, in order), from a
    fresh state: the daemon's state machine, walked over the (window end, value) pairs."""
    state = RuleState()
    episodes: list[Episode] = []
    windows = ((run.window_end, value) for run, value in zip(runs, values, strict=False))
    for index, change in enumerate(walk(rule, state, windows)):
        if change is None:
            continue
        run = runs[index]
        if change == FIRING:
            episodes.append(
                Episode(
                    state.episode,
                    index,
                    run.run_id,
                    run.window_start,
                    run.window_end,
                    values[index],
                )
            )
        elif change == RESOLVED:
            episodes[-1] = replace(
                episodes[-1],
                resolved_index=index,
                resolved_run_id=run.run_id,
                resolved_at=run.window_end,
            )
    return episodes


def _final_accuracy(loaded: _Loaded) -> list[float | None]:
    """Each window's final accuracy: its final quality version's with late labels, else the
    accuracy it was recorded with (labels in the stream are final at once)."""
    values: list[float | None] = []
    recorded = loaded.recorded[_ACCURACY]
    for run in loaded.runs:
        value: float | None = None
        if run.ok and loaded.late_labels:
            version = loaded.quality.get(run.run_id)
            if version is not None and version.final:
                value = version.value(_ACCURACY)
        elif run.ok:
            value = recorded.get(run.run_id)
        values.append(value)
    return values


def default_floor(monitor: MonitorConfig | None) -> tuple[float | None, str | None]:
    """The bound of the monitor's own rule on accuracy falling (the first), if it has one."""
    if monitor is not None:
        for rule in monitor.alerts:
            if rule.metric == _ACCURACY and rule.below is not None:
                return rule.below, f"rule {rule.name}"
    return None, None


def run_backtest(
    session: Session,
    monitor: str,
    candidates: Sequence[AlertRule],
    *,
    config: MonitorConfig | None = None,
    include_config_rules: bool = True,
    start: datetime | None = None,
    end: datetime | None = None,
    floor: float | None = None,
    alpha: float | None = None,
) -> BacktestResult:
    """Backtest the config's rules (unless left out) and `candidates` on `monitor`'s windows
    ending in `(start, end]`. Raises UsageError for an unknown monitor or an empty history."""
    mid = reads.find_monitor(session, monitor)
    if mid is None:
        raise UsageError(f"no monitor {monitor!r} in the store")
    rules = [(rule, CONFIG) for rule in (config.alerts if config and include_config_rules else [])]
    rules += [(rule, CANDIDATE) for rule in candidates]
    if not rules:
        raise UsageError("no rules to backtest: give --rules FILE (or a config with alerts)")
    runs = reads.stored_runs(session, mid, start, end)
    if not runs:
        raise UsageError(f"monitor {monitor!r} has no windows in the range to backtest")
    frontier = reads.late_frontier(session, mid)
    late_labels = config.labels is not None if config is not None else frontier is not None
    metrics = {rule.metric for rule, _ in rules} | {_ACCURACY}
    if alpha is not None:
        metrics |= {DATASET_DRIFT, _DRIFT_P_VALUE}
    recorded = reads.recorded_values(session, mid, metrics, start, end)
    loaded = _Loaded(
        runs,
        recorded,
        reads.latest_quality(session, mid, start, end) if late_labels else {},
        late_labels,
        frontier,
        None
        if alpha is None
        else reads.family_p_values(session, mid, start, end, recorded[_DRIFT_P_VALUE]),
    )
    floor_source = "--floor" if floor is not None else None
    if floor is None:
        floor, floor_source = default_floor(config)
    final_accuracy = _final_accuracy(loaded)
    run_ids = [run.run_id for run in runs]
    ends = [run.window_end for run in runs]
    drops = [] if floor is None else quality_drops(final_accuracy, run_ids, ends, floor)
    scored = floor is not None and any(value is not None for value in final_accuracy)
    weeks = (runs[-1].window_end - runs[0].window_start) / timedelta(days=7)
    results = []
    for rule, origin in rules:
        values = rule_values(rule, loaded, alpha)
        episodes = episodes_of(rule, runs, values)
        result = RuleBacktest(
            rule,
            origin,
            _is_late(rule, loaded),
            len(values),
            sum(value is not None for value in values),
            episodes,
            len(episodes) / weeks if weeks > 0 else None,
            values=values,
        )
        if scored:
            detections, missed, false_alarms, unscored = score_episodes(
                episodes, drops, final_accuracy, ends
            )
            result = replace(
                result,
                scored=True,
                detections=detections,
                missed=missed,
                false_alarms=false_alarms,
                unscored=unscored,
            )
        results.append(result)
    return BacktestResult(
        monitor,
        len(runs),
        runs[0].window_start,
        runs[-1].window_end,
        results,
        floor,
        floor_source,
        drops,
        sum(value is not None for value in final_accuracy),
        None if alpha is None else _drift_level(loaded, alpha, config),
        ends,
        final_accuracy,
    )


def _drift_level(loaded: _Loaded, alpha: float, config: MonitorConfig | None) -> DriftLevel:
    p_values = loaded.p_values or {}
    stored = loaded.recorded.get(DATASET_DRIFT, {})
    ok = [run.run_id for run in loaded.runs if run.ok]
    return DriftLevel(
        alpha,
        None if config is None else config.drift.alpha,
        sum(run_id in p_values for run_id in ok),
        sum(stored.get(run_id, 0.0) >= 0.5 for run_id in ok),
        sum(p_values[run_id] <= alpha for run_id in ok if run_id in p_values),
    )
