"""`backtest.png`: each backtested rule's metric over time, with its episodes.

Drawn in replay's timeline style: one panel per metric (rule bounds dashed in the rule's
colour, firings as ▼), the final accuracy with the floor and the quality drops shaded red,
and a bottom strip of each rule's episodes with its detections (green triangles) and false
alarms (red crosses).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only: never needs a display

import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from monitor.alerts.rules import threshold_of
from monitor.history.results import BacktestResult, RuleBacktest, rule_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# replay's palette: green and red mark detections and false alarms, so no rule uses them
_RULE_COLOURS = ("tab:purple", "tab:orange", "tab:brown", "tab:cyan", "tab:pink", "tab:olive")


def _label(rule: RuleBacktest) -> str:
    return f"{rule.name} ({rule.origin}): {rule_text(rule.rule)}"


def draw_backtest(result: BacktestResult, path: Path) -> None:
    """Write the timeline PNG of `result` to `path`."""
    ends = result.window_ends
    metrics = list(dict.fromkeys(rule.rule.metric for rule in result.rules))
    series: dict[str, list[float | None]] = {}
    for rule in result.rules:  # the first rule on a metric shows it as the rules read it
        series.setdefault(rule.rule.metric, rule.values)
    scored = any(value is not None for value in result.final_accuracy)
    panels: list[str] = metrics + (["final accuracy"] if scored else [])
    colours = {
        id(rule): _RULE_COLOURS[i % len(_RULE_COLOURS)] for i, rule in enumerate(result.rules)
    }
    heights = [2.0] * len(panels) + [0.45 * len(result.rules) + 0.6]
    figure, axes = plt.subplots(
        len(heights),
        1,
        figsize=(12, sum(heights) + 1.0),
        sharex=True,
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    column = [ax for ax in axes[:, 0]]
    for ax, metric in zip(column, metrics, strict=False):
        values = series[metric]
        _line(ax, ends[: len(values)], values)
        for rule in result.rules:
            if rule.rule.metric != metric:
                continue
            colour = colours[id(rule)]
            ax.axhline(threshold_of(rule.rule), color=colour, ls="--", lw=1.2, label=_label(rule))
            fired = [(e.window_end, e.value) for e in rule.episodes if e.value is not None]
            ax.plot(_nums([t for t, _ in fired]), [v for _, v in fired], "v", color=colour, ms=8)
        ax.legend(loc="best", fontsize=7, title="rule (fires: ▼)", title_fontsize=7)
        ax.set_title(metric, fontsize=9, loc="left")
        ax.margins(y=0.15)
        ax.grid(alpha=0.25)
    if scored:
        ax = column[len(metrics)]
        _line(ax, ends, result.final_accuracy)
        if result.floor is not None:
            ax.axhline(result.floor, color="tab:red", ls=":", lw=1.2)
        ax.set_title(
            f"final accuracy; floor {result.floor:g} ({result.floor_source}) dotted, drops shaded"
            if result.floor is not None
            else "final accuracy (no floor: give --floor to score the rules)",
            fontsize=9,
            loc="left",
        )
        ax.grid(alpha=0.25)
    for ax in column:
        _shade_drops(ax, result, ends)
    _episode_strip(column[-1], result, colours, ends)
    column[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(mdates.AutoDateLocator()))
    figure.suptitle(
        f"backtest: monitor {result.monitor}, {result.windows:,} windows "
        f"({result.start:%Y-%m-%d %H:%M} to {result.end:%Y-%m-%d %H:%M} UTC)",
        fontsize=11,
        x=0.01,
        ha="left",
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _num(moment: datetime) -> float:
    """Matplotlib's date number of `moment` (its axes take these, typed as floats)."""
    return float(mdates.date2num(moment))


def _nums(moments: list[datetime]) -> list[float]:
    return [_num(moment) for moment in moments]


def _line(ax: Axes, times: list[datetime], values: list[float | None]) -> None:
    marker = "o-" if len(times) <= 200 else "-"
    plotted = [float("nan") if value is None else value for value in values]
    ax.plot(_nums(times), plotted, marker, color="tab:blue", ms=3, lw=1)


def _shade_drops(ax: Axes, result: BacktestResult, ends: list[datetime]) -> None:
    for drop in result.drops:
        if drop.end < len(ends):
            ax.axvspan(_num(drop.onset_at), _num(ends[drop.end]), color="tab:red", alpha=0.12, lw=0)


def _episode_strip(
    ax: Axes, result: BacktestResult, colours: dict[int, str], ends: list[datetime]
) -> None:
    rules = list(reversed(result.rules))
    last = ends[-1] if ends else result.end
    for row, rule in enumerate(rules):
        bars = [
            (_num(episode.window_end), _num(episode.resolved_at or last) - _num(episode.window_end))
            for episode in rule.episodes
        ]
        ax.broken_barh(bars, (row - 0.3, 0.6), color=colours[id(rule)], alpha=0.45)
        by_number = {episode.number: episode for episode in rule.episodes}
        caught = _nums([by_number[d.episode].window_end for d in rule.detections])
        ax.plot(caught, [row] * len(caught), "^", color="tab:green", ms=9)
        false = _nums([by_number[n].window_end for n in rule.false_alarms])
        ax.plot(false, [row] * len(false), "X", color="tab:red", ms=7)
    ax.set_yticks(range(len(rules)), [f"{r.name} ({r.origin})" for r in rules], fontsize=8)
    ax.set_ylim(-0.7, max(len(rules), 1) - 0.2)
    ax.set_title(
        "episodes (bars); drops caught (green); false alarms (red)", fontsize=9, loc="left"
    )
