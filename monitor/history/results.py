"""What a backtest found, as objects: the CLI prints them, `--json` and notebooks read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.config import AlertRule

CONFIG = "config"
CANDIDATE = "candidate"


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def duration_text(span: timedelta) -> str:
    """`90s`, `5m`, `1h`, `2d`: the largest unit that divides the span (the config's units)."""
    seconds = span.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def rule_text(rule: AlertRule) -> str:
    """`accuracy < 0.8 for 2` and the rest of the rule's settings, in the config's words."""
    bound = f"> {rule.above:g}" if rule.above is not None else f"< {rule.below:g}"
    text = f"{rule.metric} {bound} for {rule.for_}"
    if rule.resolve_after is not None:
        text += f", resolve_after {rule.resolve_after}"
    if rule.cooldown is not None:
        text += f", cooldown {duration_text(rule.cooldown)}"
    return text


@dataclass(frozen=True)
class Episode:
    """One episode a rule would have raised: the window it fired on and the one it resolved
    on (None: still firing at the end of the history). `index` counts the backtest's windows
    from 0."""

    number: int
    index: int
    run_id: int
    window_start: datetime
    window_end: datetime
    value: float | None
    resolved_index: int | None = None
    resolved_run_id: int | None = None
    resolved_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "episode": self.number,
            "window": self.index,
            "run_id": self.run_id,
            "window_start": iso(self.window_start),
            "window_end": iso(self.window_end),
            "value": self.value,
            "resolved_window": self.resolved_index,
            "resolved_run_id": self.resolved_run_id,
            "resolved_at": iso(self.resolved_at),
        }


@dataclass(frozen=True)
class QualityDrop:
    """Consecutive windows (among those with final quality) whose final accuracy is under
    the floor: from `onset` to `end`, window indexes of the backtest."""

    onset: int
    end: int
    onset_run_id: int
    onset_at: datetime
    lowest: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "onset_window": self.onset,
            "end_window": self.end,
            "onset_run_id": self.onset_run_id,
            "onset_at": iso(self.onset_at),
            "lowest_accuracy": self.lowest,
        }


@dataclass(frozen=True)
class Detection:
    """A quality drop an episode overlapped: how many windows (and how long) after the
    drop's first window it fired (negative: it was already firing)."""

    drop: int
    episode: int
    delay_windows: int
    delay: timedelta

    def to_dict(self) -> dict[str, Any]:
        return {
            "drop": self.drop,
            "episode": self.episode,
            "delay_windows": self.delay_windows,
            "delay_seconds": self.delay.total_seconds(),
        }


@dataclass(frozen=True)
class RuleBacktest:
    """One rule over the history: its episodes, pages per week, and against final quality
    (when scored): the drops it caught and how late, the ones it missed, its false alarms
    (episodes over windows whose final quality was above the floor), and the episodes no
    final quality speaks for (`unscored`)."""

    rule: AlertRule
    origin: str  # config | candidate
    late: bool  # evaluated over final quality, as the daemon's late rules are
    windows: int
    measured: int
    episodes: list[Episode]
    pages_per_week: float | None
    scored: bool = False
    detections: list[Detection] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    false_alarms: list[int] = field(default_factory=list)
    unscored: list[int] = field(default_factory=list)
    #: the metric's value in each window the rule read, as it read it (for plots)
    values: list[float | None] = field(default_factory=list, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.rule.name

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "rule": self.rule.name,
            "origin": self.origin,
            "definition": rule_text(self.rule),
            "metric": self.rule.metric,
            "late": self.late,
            "windows": self.windows,
            "measured_windows": self.measured,
            "episodes": [episode.to_dict() for episode in self.episodes],
            "pages": len(self.episodes),
            "pages_per_week": self.pages_per_week,
        }
        if self.scored:
            found["detections"] = [detection.to_dict() for detection in self.detections]
            found["missed_drops"] = self.missed
            found["false_alarms"] = self.false_alarms
            found["unscored_episodes"] = self.unscored
        return found


@dataclass(frozen=True)
class DriftLevel:
    """`dataset_drift` decided again at another level from the stored family p-values."""

    alpha: float
    configured_alpha: float | None
    windows_with_p_values: int
    flagged_stored: int
    flagged_at_alpha: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "configured_alpha": self.configured_alpha,
            "windows_with_p_values": self.windows_with_p_values,
            "flagged_as_stored": self.flagged_stored,
            "flagged_at_alpha": self.flagged_at_alpha,
            "rescored": False,
        }


@dataclass(frozen=True)
class BacktestResult:
    """Every rule of a backtest over one monitor's windows in `[start, end]`."""

    monitor: str
    windows: int
    start: datetime
    end: datetime
    rules: list[RuleBacktest]
    floor: float | None
    floor_source: str | None  # --floor, or the config rule it came from
    drops: list[QualityDrop]
    final_quality_windows: int
    drift_level: DriftLevel | None = None
    #: each window's end and final accuracy (None: none final), for plots
    window_ends: list[datetime] = field(default_factory=list, repr=False, compare=False)
    final_accuracy: list[float | None] = field(default_factory=list, repr=False, compare=False)

    @property
    def weeks(self) -> float:
        return (self.end - self.start) / timedelta(days=7)

    def rule(self, name: str, origin: str | None = None) -> RuleBacktest:
        """The result of the rule `name` (of `origin`, when both lists hold that name)."""
        for found in self.rules:
            if found.name == name and origin in (None, found.origin):
                return found
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "windows": self.windows,
            "start": iso(self.start),
            "end": iso(self.end),
            "weeks": self.weeks,
            "floor": self.floor,
            "floor_source": self.floor_source,
            "final_quality_windows": self.final_quality_windows,
            "quality_drops": [drop.to_dict() for drop in self.drops],
            "drift_level": None if self.drift_level is None else self.drift_level.to_dict(),
            "rules": [rule.to_dict() for rule in self.rules],
        }
