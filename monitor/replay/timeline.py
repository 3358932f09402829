"""`timeline.png`: the replay at a glance, one panel per signal over the window index.

Drift phases are shaded (ramps by how far they have moved), onsets are dashed red lines,
rule thresholds dashed in the rule's colour, and the bottom strip shows each rule's
alert episodes with its detections (green triangles) and false alarms (red crosses).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # files only: never needs a display

import matplotlib.pyplot as plt

from monitor.alerts.rules import threshold_of
from monitor.config import AlertRule

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from monitor.replay.runner import ReplayReport

# (metric, panel title, y limits or None for automatic)
_PANELS: tuple[tuple[str, str, tuple[float, float] | None], ...] = (
    ("drifted_share", "share of text descriptors drifted (steps: dataset drift 0/1)", (-0.05, 1.1)),
    ("embedding_drift_score", "embedding drift score", None),
    ("prediction_drift_score", "prediction drift score (predicted class)", None),
    ("accuracy", "accuracy (labelled windows)", None),
)
# rules on these metrics are drawn on the panel of the first: (panel, rule metric)
_SHARED_PANELS = {("drifted_share", "dataset_drift"), ("accuracy", "estimated_accuracy")}
_QUALITY_PANEL = ("quarantined_share", "share of rows quarantined (empty, unusable)", None)
# green and red mark detections and false alarms, so no rule is drawn in them
_RULE_COLOURS = ("tab:purple", "tab:orange", "tab:brown", "tab:cyan", "tab:pink", "tab:olive")


def draw_timeline(report: ReplayReport, path: Path) -> None:
    """Write the timeline PNG of a finished replay to `path`."""
    windows = report.windows
    panels: list[tuple[str, str, Any]] = list(_PANELS)
    if any(w.metrics.get("quarantined_share", 0) > 0 for w in windows):
        panels.append(_QUALITY_PANEL)
    rules = report.scenario.monitor.alerts
    colours = {rule.name: _RULE_COLOURS[i % len(_RULE_COLOURS)] for i, rule in enumerate(rules)}
    heights = [2.0] * len(panels) + [0.45 * max(len(rules), 1) + 0.5]
    figure, axes = plt.subplots(
        len(heights),
        1,
        figsize=(11, sum(heights) + 1.0),
        sharex=True,
        gridspec_kw={"height_ratios": heights},
    )
    x = [w.index for w in windows]
    for ax, (metric, title, limits) in zip(axes[:-1], panels, strict=True):
        _shade(ax, report)
        values = [w.metrics.get(metric) for w in windows]
        ax.plot(x, [float("nan") if v is None else v for v in values], "o-", color="tab:blue", ms=4)
        if metric == "drifted_share":
            flags = [w.metrics.get("dataset_drift", float("nan")) for w in windows]
            ax.step(x, flags, where="mid", color="tab:red", lw=1, alpha=0.6)
        if metric == "accuracy":
            title = _estimated_against_realised(ax, report, x)
        test = next((w.tests[metric] for w in windows if metric in w.tests), None)
        if test is not None:
            ax.axhline(test["threshold"], color="grey", ls=":", lw=1)
            title += f" - {test['method']}, test threshold {test['threshold']:.3g} (dotted)"
        for rule in rules:
            if rule.metric == metric or (metric, rule.metric) in _SHARED_PANELS:
                ax.axhline(
                    threshold_of(rule), color=colours[rule.name], ls="--", lw=1.2, label=_rule(rule)
                )
                fired = [w.index for w in windows for t in w.transitions if _fired(t, rule.name)]
                marks = [windows[i].metrics.get(rule.metric) for i in fired]
                ax.plot(fired, marks, "v", color=colours[rule.name], ms=9)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=7, title="rule (fires: ▼)", title_fontsize=7)
        ax.set_title(title, fontsize=9, loc="left", pad=16 if ax is axes[0] else 6)
        if limits is not None:
            ax.set_ylim(*limits)
        else:  # keep rule lines off the frame
            ax.margins(y=0.15)
        ax.grid(alpha=0.25)
    _alert_strip(axes[-1], report, colours)
    _phase_labels(axes[0], report)
    axes[-1].set_xlabel("window")
    axes[-1].set_xlim(-0.5, len(windows) - 0.5)
    axes[-1].set_xticks(x)
    scenario = report.scenario
    figure.suptitle(
        f"replay: {scenario.name} ({len(windows)} windows of {scenario.spec.window.rows} rows; "
        f"onsets at {', '.join(map(str, report.onsets)) or 'none'})",
        fontsize=11,
        x=0.01,
        ha="left",
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _estimated_against_realised(ax: Axes, report: ReplayReport, x: list[int]) -> str:
    """The label-free estimate beside the realised accuracy; returns the panel's title."""
    estimated = [w.metrics.get("estimated_accuracy", float("nan")) for w in report.windows]
    ax.plot(x, estimated, "s--", color="tab:gray", ms=3, lw=1, label="estimated (scores alone)")
    late = report.scenario.spec.labels
    if late is None:
        return "accuracy: realised on the window's labels (dots), estimated (dashed)"
    return (
        f"accuracy: realised once labels came ({late.delay} windows late, "
        f"{late.coverage:.0%} of rows; dots), estimated from the scores at once (dashed)"
    )


def _rule(rule: AlertRule) -> str:
    bound = f"> {rule.above:g}" if rule.above is not None else f"< {rule.below:g}"
    windows = f" for {rule.for_}" if rule.for_ > 1 else ""
    return f"{rule.name}: {rule.metric} {bound}{windows}"


def _fired(transition: dict[str, Any], rule: str) -> bool:
    return bool(transition["rule"] == rule and transition["state"] == "firing")


def _shade(ax: Axes, report: ReplayReport) -> None:
    for window in report.windows:
        if window.drift:
            strength = window.progress if window.progress > 0 else 1.0
            alpha = 0.05 + 0.12 * strength
            ax.axvspan(window.index - 0.5, window.index + 0.5, color="tab:red", alpha=alpha, lw=0)
    for onset in report.onsets:
        ax.axvline(onset - 0.5, color="tab:red", ls="--", lw=1.2)


def _phase_labels(ax: Axes, report: ReplayReport) -> None:
    spans: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for window in report.windows:
        spans.setdefault(window.phase, []).append(window.index)
        names[window.phase] = window.phase_name
    top = ax.secondary_xaxis("top")
    top.set_xticks(
        [(indexes[0] + indexes[-1]) / 2 for indexes in spans.values()],
        [names[phase] for phase in spans],
        fontsize=8,
        color="dimgrey",
    )
    top.tick_params(length=0)


def _alert_strip(ax: Axes, report: ReplayReport, colours: dict[str, str]) -> None:
    _shade(ax, report)
    rules = report.scenario.monitor.alerts
    last = len(report.windows) - 0.5
    for row, rule in enumerate(reversed(rules)):
        score = report.scores[rule.name]
        starts = [f - 0.5 for f in score.fired]
        ends = [r - 0.5 for r in score.resolved] + [last] * (len(starts) - len(score.resolved))
        ax.broken_barh(
            [(s, e - s) for s, e in zip(starts, ends, strict=True)],
            (row - 0.3, 0.6),
            color=colours[rule.name],
            alpha=0.45,
        )
        ax.plot(score.detections, [row] * len(score.detections), "^", color="tab:green", ms=9)
        ax.plot(score.false_alarms, [row] * len(score.false_alarms), "X", color="tab:red", ms=9)
        for window, delay in zip(score.detections, score.delays, strict=True):
            ax.annotate(f"+{delay}", (window, row + 0.32), fontsize=7, ha="center", va="bottom")
    ax.set_yticks(range(len(rules)), [rule.name for rule in reversed(rules)], fontsize=8)
    ax.set_ylim(-0.7, max(len(rules), 1) - 0.2)
    ax.set_title(
        "alert episodes (bars); detections (green, +delay in windows); false alarms (red)",
        fontsize=9,
        loc="left",
    )
