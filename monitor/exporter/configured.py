"""What the exporter knows of each monitor from the config, not the store: its schedule, its
thresholds, and the label sets its counters start at 0 with.

These series are served even while the store cannot be read, so the dashboards still list
every configured monitor and the rules still know its schedule during a store outage; and a
counter that exists at 0 from the start turns its first event into an increase.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import Metric

from monitor.config import MonitorConfig
from monitor.exporter.series import HOOK_OUTCOMES, RETRAIN_DECISIONS, SCHEDULER_EVENTS, Gauges

__all__ = ["HOOK_OUTCOMES", "RETRAIN_DECISIONS", "SCHEDULER_EVENTS", "MonitorInfo", "RuleInfo"]


@dataclass(frozen=True)
class RuleInfo:
    """One of the monitor's own alert rules, as its threshold series shows it."""

    name: str
    metric: str
    direction: str  # "above" or "below": the rule fires past `threshold` in that direction
    threshold: float
    hooks: tuple[str, ...] = ()


@dataclass(frozen=True)
class MonitorInfo:
    """What the exporter knows of a monitor from the config rather than the store."""

    name: str
    model: str
    schedule_interval_seconds: float
    drifted_share: float | None = None
    rules: tuple[RuleInfo, ...] = ()
    #: the drift family's level: `dataset_drift` is 1 when its p-value is at or below it
    drift_alpha: float | None = None

    @classmethod
    def from_config(cls, config: MonitorConfig, model: str, period_seconds: float) -> MonitorInfo:
        """`period_seconds`: the schedule's period, as the scheduler computes it."""
        rules = tuple(
            RuleInfo(
                rule.name,
                rule.metric,
                "above" if rule.above is not None else "below",
                float(rule.above if rule.above is not None else rule.below),  # type: ignore[arg-type]
                tuple(rule.hooks),
            )
            for rule in config.alerts
        )
        return cls(
            config.name,
            model,
            period_seconds,
            drifted_share=config.drift.drifted_share,
            rules=rules,
            drift_alpha=config.drift.alpha,
        )

    @property
    def hooks(self) -> list[str]:
        """The hooks the monitor's rules deliver through, each once, sorted."""
        return sorted({hook for rule in self.rules for hook in rule.hooks})


def configured_gauges(monitors: list[MonitorInfo]) -> Iterator[Metric]:
    """Schedule period, drifted-share bound, drift level and rule thresholds of every
    configured monitor."""
    g = Gauges()
    for info in monitors:
        g.add("schedule_interval_seconds", [info.name], info.schedule_interval_seconds)
        if info.drifted_share is not None:
            g.add("drifted_share_threshold", [info.name], info.drifted_share)
        if info.drift_alpha is not None:
            g.add("drift_alpha", [info.name], info.drift_alpha)
        for rule in info.rules:
            labels = [info.name, rule.name, rule.metric, rule.direction]
            g.add("alert_rule_threshold", labels, rule.threshold)
    yield from g
