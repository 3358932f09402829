"""Every series the exporter serves: name, type, help and labels, in exposition order.

Each carries the label `monitor` before the labels listed. Which run metric feeds which
gauge is the run-metric catalog's to say (`monitor.metrics.catalog`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

PREFIX = "driftwarden_"
GAUGE = "gauge"
COUNTER = "counter"
HISTOGRAM = "histogram"


@dataclass(frozen=True)
class SeriesSpec:
    name: str  # as exposed, without the prefix (counters end in `_total`)
    kind: str
    help: str
    labels: tuple[str, ...] = ()


_SPECS = (
    SeriesSpec(
        "feature_drift_score",
        GAUGE,
        "Drift score of an input feature in the latest window",
        ("feature", "method"),
    ),
    SeriesSpec(
        "feature_drifted", GAUGE, "1 when the feature drifted in the latest window", ("feature",)
    ),
    SeriesSpec(
        "drifted_features_share", GAUGE, "Share of input features that drifted in the latest window"
    ),
    SeriesSpec(
        "dataset_drift",
        GAUGE,
        "1 when the latest window drifted as a whole (features or embeddings)",
    ),
    SeriesSpec(
        "prediction_drift_score", GAUGE, "Drift score of the predicted class in the latest window"
    ),
    SeriesSpec("embedding_drift_score", GAUGE, "Embedding drift score of the latest window"),
    SeriesSpec(
        "model_quality", GAUGE, "Measured quality on the latest labelled window", ("metric",)
    ),
    SeriesSpec(
        "estimated_model_quality",
        GAUGE,
        "Label-free quality estimate of the latest window: accuracy as the mean top-class "
        "probability (exact in expectation for a calibrated model)",
        ("metric",),
    ),
    SeriesSpec("window_rows", GAUGE, "Rows scored in the latest window"),
    SeriesSpec("window_quarantined_rows", GAUGE, "Rows set aside in the latest window"),
    SeriesSpec(
        "last_success_timestamp_seconds", GAUGE, "Unix time the latest successful cycle finished"
    ),
    SeriesSpec(
        "window_end_timestamp_seconds", GAUGE, "Unix time the latest successful window ends"
    ),
    SeriesSpec(
        "model_info",
        GAUGE,
        "The model version scoring the monitor's windows (always 1)",
        ("model", "version"),
    ),
    SeriesSpec(
        "schedule_interval_seconds", GAUGE, "Seconds between the monitor's scheduled cycles"
    ),
    SeriesSpec("runs_total", COUNTER, "Cycles recorded in the store, by outcome", ("outcome",)),
    SeriesSpec("rows_scored_total", COUNTER, "Rows scored by the model, all windows"),
    SeriesSpec("quarantined_rows_total", COUNTER, "Rows set aside as unusable, all windows"),
    SeriesSpec(
        "run_duration_seconds",
        HISTOGRAM,
        "Seconds each stage of a cycle took (read, score, metrics, store, total)",
        ("stage",),
    ),
    SeriesSpec(
        "alert_firing", GAUGE, "1 while the monitor's alert rule is firing, else 0", ("rule",)
    ),
    SeriesSpec(
        "hook_deliveries_total",
        COUNTER,
        "Hook delivery attempts, by outcome",
        ("hook", "outcome"),
    ),
    # beyond DESIGN.md: the daemon's own health
    SeriesSpec(
        "scheduler_events_total",
        COUNTER,
        "Scheduler job events since start: missed, max_instances, error",
        ("event",),
    ),
    SeriesSpec(
        "unrecorded_failures_total",
        COUNTER,
        "Failed cycles the store could not record (locked, read-only, unreachable)",
    ),
    SeriesSpec(
        "store_up",
        GAUGE,
        "1 when the last scrape could read the store and its last write went through",
    ),
    SeriesSpec(
        "quarantined_files_total",
        COUNTER,
        "Stream files set aside whole because they cannot be read",
    ),
    SeriesSpec(
        "consecutive_failed_cycles",
        GAUGE,
        "Cycles of the monitor that failed in a row (0 after one that did not)",
    ),
)
SERIES: dict[str, SeriesSpec] = {spec.name: spec for spec in _SPECS}
SERIES_NAMES: tuple[str, ...] = tuple(PREFIX + spec.name for spec in _SPECS)


def _labels(spec: SeriesSpec) -> list[str]:
    return ["monitor", *spec.labels]


def gauge(name: str) -> GaugeMetricFamily:
    """An empty gauge family of the series `name`, with its help and labels."""
    spec = SERIES[name]
    assert spec.kind == GAUGE, name
    return GaugeMetricFamily(PREFIX + name, spec.help, labels=_labels(spec))


def counter(name: str) -> CounterMetricFamily:
    spec = SERIES[name]
    assert spec.kind == COUNTER, name
    return CounterMetricFamily(
        PREFIX + name.removesuffix("_total"), spec.help, labels=_labels(spec)
    )


def histogram(name: str) -> HistogramMetricFamily:
    spec = SERIES[name]
    assert spec.kind == HISTOGRAM, name
    return HistogramMetricFamily(PREFIX + name, spec.help, labels=_labels(spec))


class Gauges:
    """Gauge families created on their first sample and yielded in `SERIES` order."""

    def __init__(self) -> None:
        self._families: dict[str, GaugeMetricFamily] = {}

    def add(self, name: str, labels: list[str], value: float) -> None:
        if name not in self._families:
            self._families[name] = gauge(name)
        self._families[name].add_metric(labels, value)

    def __iter__(self) -> Iterator[Metric]:
        for name in SERIES:
            if name in self._families:
                yield self._families[name]
