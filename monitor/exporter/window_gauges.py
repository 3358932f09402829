"""Gauges of a monitor's latest window beyond its run metrics: what changed (the stored
explanation's top terms and moved descriptors) and late-label quality."""

from __future__ import annotations

from monitor.exporter.series import Gauges
from monitor.records.explanations import TOP, Explanation
from monitor.store.latest import MonitorQuality
from monitor.store.quality import VERSIONED, version_value


def explanation_gauges(g: Gauges, monitor: str, explained: Explanation) -> None:
    """The top terms of each side by rank, and the descriptors that moved: at most
    2 x TOP + TOP samples a monitor, whatever the window's vocabulary."""
    for side, terms in (
        ("window", explained.window_terms),
        ("reference", explained.reference_terms),
    ):
        for rank, term in enumerate(terms[:TOP], start=1):
            g.add("window_term_zscore", [monitor, side, str(rank), term.term], term.z)
    for shift in [d for d in explained.descriptors if d.moved][:TOP]:
        g.add("descriptor_effect_size", [monitor, shift.name], shift.effect_size)


def late_quality(g: Gauges, monitor: str, late: MonitorQuality) -> dict[str, float]:
    """A late-label monitor's own gauges; returns its latest final window's quality."""
    g.add("open_quality_windows", [monitor], float(late.open_windows))
    if late.label_lag_seconds is not None:
        g.add("label_lag_seconds", [monitor], late.label_lag_seconds)
    if late.final is None:
        return {}
    g.add("quality_window_end_timestamp_seconds", [monitor], late.final.window_end.timestamp())
    values = {name: version_value(late.final, name) for name in VERSIONED}
    return {name: value for name, value in values.items() if value is not None}
