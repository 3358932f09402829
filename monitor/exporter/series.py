"""Every series the exporter serves: name, type, help, labels and the closed sets of label
values, in exposition order.

This is the series contract: the collector yields only these, with these label values, and
the dashboards, the rules and their tests check every query against it
(`tests/dashboards/test_configs.py`). Adding a series touches this registry and the
collector code that yields it.

Each carries the label `monitor` before the labels listed. Which run metric feeds which
gauge is the run-metric catalog's to say (`monitor.records.catalog`), and so is the help of a
gauge that shows one run metric: it is the catalog's text, read from there.
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

from monitor.config.drift import DRIFT_METHOD_SCALES
from monitor.exporter.tally import STAGES
from monitor.records.catalog import RUN_METRICS
from monitor.records.explanations import TOP as EXPLANATION_TOP
from monitor.records.labels import OUTCOMES as LABEL_OUTCOMES

PREFIX = "driftwarden_"
GAUGE = "gauge"
COUNTER = "counter"
HISTOGRAM = "histogram"


# The outcomes a hook attempt and the events a scheduler job can have (exported at 0 first),
# and the decisions of the retrain-head hook.
HOOK_OUTCOMES = ("delivered", "failed", "retry")
SCHEDULER_EVENTS = ("error", "max_instances", "missed")
RETRAIN_DECISIONS = ("promoted", "rejected")
RUN_OUTCOMES = ("ok", "error")
DIRECTIONS = ("above", "below")
# The sides of a window's explanation whose top terms are exported, and the ranks they take:
# `term` is a label whose value changes from window to window, so the series is bounded by
# rank (at most 2 x TOP per monitor), not by vocabulary; a term that leaves the top is gone
# from the next scrape.
TERM_SIDES = ("window", "reference")
TERM_RANKS = tuple(str(rank) for rank in range(1, EXPLANATION_TOP + 1))


def _catalog_values(series: str, label: str) -> tuple[str, ...]:
    """The values of `label` the run-metric catalog maps onto gauge `series`."""
    return tuple(
        value
        for metric in RUN_METRICS
        if metric.series is not None and metric.series.name == series
        for name, value in metric.series.labels
        if name == label
    )


def _catalog_help(series: str, window: str = "the latest window") -> str:
    """The help of a gauge that shows one run metric: the catalog's text for that metric (the
    one place it is written), and which window's value the gauge holds."""
    (text,) = [
        metric.help
        for metric in RUN_METRICS
        if metric.series is not None and metric.series.name == series
    ]
    return f"{text[0].upper()}{text[1:]}; the value of {window}"


@dataclass(frozen=True)
class SeriesSpec:
    name: str  # as exposed, without the prefix (counters end in `_total`)
    kind: str
    help: str
    labels: tuple[str, ...] = ()
    # label -> every value it can take, for the labels whose values are a closed set
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def exposed(self) -> tuple[str, ...]:
        """The sample names Prometheus stores (a histogram's three), with the prefix."""
        if self.kind == HISTOGRAM:
            return tuple(PREFIX + self.name + suffix for suffix in ("_bucket", "_sum", "_count"))
        return (PREFIX + self.name,)

    def closed(self, label: str) -> tuple[str, ...] | None:
        return dict(self.values).get(label)


_SPECS = (
    SeriesSpec(
        "feature_drift_score",
        GAUGE,
        "Drift score of an input feature in the latest window",
        ("feature", "method"),
        (("method", tuple(DRIFT_METHOD_SCALES)),),
    ),
    SeriesSpec(
        "feature_drifted", GAUGE, "1 when the feature drifted in the latest window", ("feature",)
    ),
    SeriesSpec("drifted_features_share", GAUGE, _catalog_help("drifted_features_share")),
    SeriesSpec("dataset_drift", GAUGE, _catalog_help("dataset_drift")),
    SeriesSpec("dataset_drift_p_value", GAUGE, _catalog_help("dataset_drift_p_value")),
    SeriesSpec("sequential_drift", GAUGE, _catalog_help("sequential_drift")),
    SeriesSpec("sequential_drift_p_value", GAUGE, _catalog_help("sequential_drift_p_value")),
    SeriesSpec("prediction_drift_score", GAUGE, _catalog_help("prediction_drift_score")),
    SeriesSpec("embedding_drift_score", GAUGE, _catalog_help("embedding_drift_score")),
    SeriesSpec(
        "window_term_zscore",
        GAUGE,
        "z-score of a term's log-odds ratio in the latest window's explanation: the top "
        "terms over-represented in the window (side window) or in the reference (side "
        "reference), ranked 1 (strongest) to 5; `term` changes from window to window",
        ("side", "rank", "term"),
        (("side", TERM_SIDES), ("rank", TERM_RANKS)),
    ),
    SeriesSpec(
        "descriptor_effect_size",
        GAUGE,
        "Standardized mean difference (Cohen's d, window minus reference) of a text "
        "descriptor that moved in the latest window's explanation (at most 5, largest first)",
        ("descriptor",),
    ),
    SeriesSpec(
        "model_quality",
        GAUGE,
        "Measured quality on the latest labelled window (with late labels: on the latest "
        "window whose quality is final)",
        ("metric",),
        (("metric", _catalog_values("model_quality", "metric")),),
    ),
    SeriesSpec(
        "estimated_model_quality",
        GAUGE,
        "Label-free quality estimate of the latest window, from its scores alone",
        ("metric",),
        (("metric", _catalog_values("estimated_model_quality", "metric")),),
    ),
    SeriesSpec(
        "quality_window_end_timestamp_seconds",
        GAUGE,
        "Unix time the window that model_quality describes ends",
    ),
    SeriesSpec(
        "label_coverage",
        GAUGE,
        _catalog_help("label_coverage", "the window model_quality describes"),
    ),
    SeriesSpec(
        "open_quality_windows",
        GAUGE,
        "Windows whose quality is not final yet (waiting for late labels)",
    ),
    SeriesSpec(
        "label_lag_seconds",
        GAUGE,
        "Median delay of the newest joined labels: observed (or read) minus their window's end",
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
    SeriesSpec(
        "last_failure_timestamp_seconds",
        GAUGE,
        "Unix time the latest failed cycle recorded in the store finished",
    ),
    SeriesSpec(
        "last_run_duration_seconds",
        GAUGE,
        "Seconds the latest recorded cycle took from read to store",
    ),
    # thresholds from the config and the store, so rules and panels read the daemon's own
    SeriesSpec(
        "drifted_share_threshold",
        GAUGE,
        "The monitor's drift.drifted_share: the drifted share at which a window drifts",
    ),
    SeriesSpec(
        "drift_alpha",
        GAUGE,
        "The monitor's drift.alpha: dataset_drift is 1 when the drift family's p-value is at "
        "or below it",
    ),
    SeriesSpec(
        "feature_drift_threshold",
        GAUGE,
        "Threshold of the feature's drift test in the latest window (p-value methods drift "
        "at or below it, distances at or above)",
        ("feature", "method"),
        (("method", tuple(DRIFT_METHOD_SCALES)),),
    ),
    SeriesSpec(
        "prediction_drift_threshold",
        GAUGE,
        "Threshold of the predicted-class drift test in the latest window",
    ),
    SeriesSpec(
        "embedding_drift_threshold",
        GAUGE,
        "Threshold of the embedding drift test in the latest window (the model method's "
        "is computed per window)",
    ),
    SeriesSpec(
        "alert_rule_threshold",
        GAUGE,
        "Bound of the monitor's own alert rule: it breaches when `metric` is past it in "
        "`direction` (above or below)",
        ("rule", "metric", "direction"),
        (("direction", DIRECTIONS),),
    ),
    SeriesSpec(
        "runs_total",
        COUNTER,
        "Cycles recorded in the store, by outcome",
        ("outcome",),
        (("outcome", RUN_OUTCOMES),),
    ),
    SeriesSpec("rows_scored_total", COUNTER, "Rows scored by the model, all windows"),
    SeriesSpec("quarantined_rows_total", COUNTER, "Rows set aside as unusable, all windows"),
    SeriesSpec(
        "run_duration_seconds",
        HISTOGRAM,
        "Seconds each stage of a cycle took (read, score, metrics, store, total)",
        ("stage",),
        (("stage", STAGES),),
    ),
    SeriesSpec(
        "alert_firing", GAUGE, "1 while the monitor's alert rule is firing, else 0", ("rule",)
    ),
    SeriesSpec(
        "labels_total",
        COUNTER,
        "Label rows read from the labels source, by outcome",
        ("outcome",),
        (("outcome", LABEL_OUTCOMES),),
    ),
    SeriesSpec(
        "hook_deliveries_total",
        COUNTER,
        "Hook delivery attempts, by outcome",
        ("hook", "outcome"),
        (("outcome", HOOK_OUTCOMES),),
    ),
    SeriesSpec(
        "retrain_decisions_total",
        COUNTER,
        "Retrains of the head by the built-in retrain-head hook, by decision (promoted, rejected)",
        ("decision",),
        (("decision", RETRAIN_DECISIONS),),
    ),
    # beyond the original contract (docs/architecture.md): the daemon's own health
    SeriesSpec(
        "scheduler_events_total",
        COUNTER,
        "Scheduler job events since start: missed, max_instances, error",
        ("event",),
        (("event", SCHEDULER_EVENTS),),
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
