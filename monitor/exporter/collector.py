"""The Prometheus collector: every scrape reads the store, so a restart loses no series.

Gauges come from each monitor's latest successful run; counters and the duration histogram
are folded from the runs table (the whole table once, then only new runs), so they count
everything ever recorded, across restarts.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import DriftwardenError
from monitor.metrics.result import FEATURE_DRIFT, QUALITY_METRICS
from monitor.store import Store
from monitor.store.latest import (
    MetricValue,
    OptionalTables,
    RunFacts,
    metric_values,
    monitor_names,
    runs_since,
)

log = logging.getLogger("driftwarden.exporter")

PREFIX = "driftwarden_"
STAGES = ("read", "score", "metrics", "store", "total")
# Cycle durations run from well under a second (small windows) to minutes (big ones).
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
# Runs re-read behind the newest one seen: a backend that commits ids out of order (not
# SQLite, which has one writer at a time) must not make a run invisible to the counters.
_LOOKBACK_IDS = 16
# Drift methods whose score is a p-value (drift when the score is at most the threshold);
# all others are distances (drift when at least the threshold). Used only for ranking.
PVALUE_METHODS = frozenset(
    {"ks", "chisquare", "z", "anderson", "cramer_von_mises", "mannw", "t_test", "fisher_exact"}
    | {"g_test", "es", "epps_singleton", "empirical_mmd", "TVD"}
)

SERIES_NAMES: tuple[str, ...] = tuple(
    PREFIX + name
    for name in (
        "feature_drift_score",
        "feature_drifted",
        "drifted_features_share",
        "dataset_drift",
        "prediction_drift_score",
        "embedding_drift_score",
        "model_quality",
        "estimated_model_quality",
        "window_rows",
        "window_quarantined_rows",
        "last_success_timestamp_seconds",
        "window_end_timestamp_seconds",
        "alert_firing",
        "model_info",
        "schedule_interval_seconds",
        "rows_scored_total",
        "quarantined_rows_total",
        "runs_total",
        "hook_deliveries_total",
        "run_duration_seconds",
        # beyond DESIGN.md: the daemon's own health
        "scheduler_events_total",
        "unrecorded_failures_total",
        "store_up",
    )
)


@dataclass(frozen=True)
class MonitorInfo:
    """What the exporter knows of a monitor from the config rather than the store."""

    name: str
    model: str
    schedule_interval_seconds: float


class ProcessCounters(Protocol):
    """Counts kept by the running daemon that the store cannot hold."""

    def scheduler_events(self) -> Mapping[tuple[str, str], int]: ...

    def unrecorded_failures(self) -> Mapping[str, int]: ...


@dataclass
class _StageHistogram:
    buckets: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))
    count: int = 0
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        for i, bound in enumerate(DURATION_BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1
        self.count += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        pairs = [
            (_le(bound), float(n)) for bound, n in zip(DURATION_BUCKETS, self.buckets, strict=True)
        ]
        return [*pairs, ("+Inf", float(self.count))]


@dataclass
class _MonitorTally:
    """Everything folded so far from one monitor's runs."""

    runs: dict[str, int] = field(default_factory=lambda: {"ok": 0, "error": 0})
    rows: int = 0
    quarantined: int = 0
    stages: dict[str, _StageHistogram] = field(default_factory=dict)
    latest_ok: RunFacts | None = None
    model_version: str | None = None

    def fold(self, run: RunFacts) -> None:
        outcome = "ok" if run.status == "ok" else "error"
        self.runs[outcome] = self.runs.get(outcome, 0) + 1
        self.rows += run.rows
        self.quarantined += run.quarantined
        stages = dict(run.stage_seconds)
        if stages and "total" not in stages:  # older cycles stored the stages without a total
            stages["total"] = sum(stages.values())
        for stage, seconds in stages.items():
            self.stages.setdefault(stage, _StageHistogram()).observe(float(seconds))
        if run.status == "ok" and (self.latest_ok is None or run.run_id > self.latest_ok.run_id):
            self.latest_ok = run
        if run.model_version:
            self.model_version = run.model_version


def _le(bound: float) -> str:
    return repr(float(bound))


def estimated_accuracy(metrics: Mapping[str, float]) -> float | None:
    """Label-free accuracy estimate: the window's mean top-class probability.

    For a calibrated classifier the top-class probability is the chance its prediction is
    right, so the mean is the expected accuracy. A model that stays confident while drift
    makes it wrong pushes this above the truth, so it is an early warning while labels are
    late, never a replacement for the measured `model_quality`.
    """
    return metrics.get("mean_confidence")


def drift_severity(value: MetricValue) -> tuple[bool, float]:
    """Ranks features for the per-monitor cap: drifted first, then how far past the line."""
    score = value.value if value.value is not None and math.isfinite(value.value) else None
    if score is None:
        return (False, -math.inf)
    threshold = value.threshold or 0.0
    if value.method in PVALUE_METHODS:
        strength = -math.log10(max(score, 1e-300)) + math.log10(max(threshold, 1e-300))
    else:
        strength = score - threshold
    return (bool(value.drifted), strength)


class StoreCollector(Collector):
    """Yields every driftwarden series from the store at each scrape; never runs a cycle."""

    def __init__(
        self,
        store: Store,
        monitors: Sequence[MonitorInfo] | None = None,
        *,
        max_features: int = 50,
        counters: ProcessCounters | None = None,
    ) -> None:
        self.store = store
        self.monitors = {m.name: m for m in monitors} if monitors is not None else None
        self.max_features = max_features
        self.counters = counters
        self.optional = OptionalTables(store.engine)
        self._lock = threading.Lock()
        self._tallies: dict[int, _MonitorTally] = {}
        self._names: dict[int, str] = {}
        self._newest_seen = 0
        self._recent: set[int] = set()
        self._values: dict[int, list[MetricValue]] = {}  # a run's values never change
        self._warned_at = -math.inf
        self._alerts: list[tuple[str, str, bool]] | None = None
        self._deliveries: list[tuple[str, str, str, int]] | None = None

    # -- reading

    def _fold_new_runs(self) -> list[tuple[str, _MonitorTally]]:
        # a bare connection: a Session's ORM layer costs more than these reads
        with self.store.engine.connect() as session:
            floor = max(0, self._newest_seen - _LOOKBACK_IDS)
            fresh = runs_since(session, floor, self._recent)
            if any(run.monitor_id not in self._names for run in fresh) or not self._names:
                self._names = monitor_names(session)
            for run in fresh:
                self._tallies.setdefault(run.monitor_id, _MonitorTally()).fold(run)
                self._newest_seen = max(self._newest_seen, run.run_id)
                self._recent.add(run.run_id)
            self._recent = {i for i in self._recent if i > self._newest_seen - _LOOKBACK_IDS}
            tallies = sorted(
                (self._names[mid], tally)
                for mid, tally in self._tallies.items()
                if mid in self._names
            )
            if self.monitors is not None:
                tallies = [(name, t) for name, t in tallies if name in self.monitors]
            latest = [t.latest_ok.run_id for _, t in tallies if t.latest_ok is not None]
            missing = [run_id for run_id in latest if run_id not in self._values]
            if missing:
                found = metric_values(session, missing)
                for run_id in missing:
                    self._values[run_id] = found.get(run_id, [])
            self._values = {run_id: self._values[run_id] for run_id in latest}
            self._alerts = self.optional.alert_states(session)
            self._deliveries = self.optional.delivery_counts(session)
        return tallies

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            try:
                tallies = self._fold_new_runs()
            except (DriftwardenError, SQLAlchemyError) as exc:
                self._warn(f"cannot read the store for /metrics: {exc}")
                yield from self._process_families()
                yield _gauge("store_up", "1 when the last scrape could read the store", [], [0.0])
                return
            yield from self._families(tallies)
            yield from self._process_families()
            yield _gauge("store_up", "1 when the last scrape could read the store", [], [1.0])

    def _warn(self, message: str) -> None:
        # a scraper retries every few seconds; one line a minute is enough to be seen
        if time.monotonic() - self._warned_at > 60:
            self._warned_at = time.monotonic()
            log.warning(message)

    # -- building the families

    def _families(self, tallies: list[tuple[str, _MonitorTally]]) -> Iterator[Metric]:
        known = {name for name, _ in tallies}
        if self.monitors is not None:  # a configured monitor without runs yet still shows
            tallies = sorted(
                tallies + [(name, _MonitorTally()) for name in self.monitors if name not in known]
            )
        yield from self._latest_families(tallies)
        yield from self._counter_families(tallies)
        yield from self._optional_families()

    def _latest_families(self, tallies: list[tuple[str, _MonitorTally]]) -> Iterator[Metric]:
        g = _Gauges()
        for name, tally in tallies:
            info = self.monitors.get(name) if self.monitors is not None else None
            if info is not None:
                g.add("schedule_interval_seconds", [name], info.schedule_interval_seconds)
            if tally.model_version is not None:
                model = info.model if info is not None else "unknown"
                g.add("model_info", [name, model, tally.model_version], 1.0)
            run = tally.latest_ok
            if run is None:
                continue
            values = self._values.get(run.run_id, [])
            metrics = {v.name: v.value for v in values if not v.feature and v.value is not None}
            g.add("window_rows", [name], float(run.rows))
            g.add("window_quarantined_rows", [name], float(run.quarantined))
            g.add("last_success_timestamp_seconds", [name], run.finished_at.timestamp())
            g.add("window_end_timestamp_seconds", [name], run.window_end.timestamp())
            for series, key in (
                ("drifted_features_share", "drifted_share"),
                ("dataset_drift", "dataset_drift"),
                ("prediction_drift_score", "prediction_drift_score"),
                ("embedding_drift_score", "embedding_drift_score"),
            ):
                if key in metrics:
                    g.add(series, [name], metrics[key])
            for metric in QUALITY_METRICS:
                if metric in metrics:
                    g.add("model_quality", [name, metric], metrics[metric])
            estimate = estimated_accuracy(metrics)
            if estimate is not None:
                g.add("estimated_model_quality", [name, "accuracy"], estimate)
            features = [v for v in values if v.name == FEATURE_DRIFT and v.value is not None]
            features.sort(key=drift_severity, reverse=True)
            for value in sorted(features[: self.max_features], key=lambda v: v.feature):
                assert value.value is not None
                g.add("feature_drift_score", [name, value.feature, value.method or ""], value.value)
                g.add("feature_drifted", [name, value.feature], float(bool(value.drifted)))
        yield from g.families()

    def _counter_families(self, tallies: list[tuple[str, _MonitorTally]]) -> Iterator[Metric]:
        runs = _counter("runs", "Cycles recorded in the store, by outcome", ["outcome"])
        rows = _counter("rows_scored", "Rows scored by the model, all windows", [])
        quarantined = _counter("quarantined_rows", "Rows set aside as unusable, all windows", [])
        duration = HistogramMetricFamily(
            PREFIX + "run_duration_seconds",
            "Seconds each stage of a cycle took (read, score, metrics, store, total)",
            labels=["monitor", "stage"],
        )
        for name, tally in tallies:
            for outcome in sorted(tally.runs):
                runs.add_metric([name, outcome], float(tally.runs[outcome]))
            rows.add_metric([name], float(tally.rows))
            quarantined.add_metric([name], float(tally.quarantined))
            for stage in sorted(tally.stages, key=_stage_order):
                histogram = tally.stages[stage]
                duration.add_metric([name, stage], histogram.cumulative(), histogram.total)
        yield from (runs, rows, quarantined, duration)

    def _optional_families(self) -> Iterator[Metric]:
        wanted = self.monitors
        if self._alerts is not None:
            firing = GaugeMetricFamily(
                PREFIX + "alert_firing",
                "1 while the monitor's alert rule is firing, else 0",
                labels=["monitor", "rule"],
            )
            for monitor, rule, is_firing in sorted(self._alerts):
                if wanted is None or monitor in wanted:
                    firing.add_metric([monitor, rule], float(is_firing))
            yield firing
        if self._deliveries is not None:
            deliveries = _counter(
                "hook_deliveries", "Hook delivery attempts, by outcome", ["hook", "outcome"]
            )
            for monitor, hook, outcome, count in self._deliveries:
                if wanted is None or monitor in wanted:
                    deliveries.add_metric([monitor, hook, outcome], float(count))
            yield deliveries

    def _process_families(self) -> Iterator[Metric]:
        if self.counters is None:
            return
        events = _counter(
            "scheduler_events",
            "Scheduler job events since start: missed, max_instances, error",
            ["event"],
        )
        for (monitor, event), count in sorted(self.counters.scheduler_events().items()):
            events.add_metric([monitor, event], float(count))
        unrecorded = _counter(
            "unrecorded_failures",
            "Failed cycles the store could not record (locked, read-only, unreachable)",
            [],
        )
        for monitor, count in sorted(self.counters.unrecorded_failures().items()):
            unrecorded.add_metric([monitor], float(count))
        yield events
        yield unrecorded


_GAUGE_HELP = {
    "feature_drift_score": (
        "Drift score of an input feature in the latest window",
        ["feature", "method"],
    ),
    "feature_drifted": ("1 when the feature drifted in the latest window", ["feature"]),
    "drifted_features_share": ("Share of input features that drifted in the latest window", []),
    "dataset_drift": ("1 when the latest window drifted as a whole (features or embeddings)", []),
    "prediction_drift_score": ("Drift score of the predicted class in the latest window", []),
    "embedding_drift_score": ("Embedding drift score of the latest window", []),
    "model_quality": ("Measured quality on the latest labelled window", ["metric"]),
    "estimated_model_quality": (
        "Label-free quality estimate of the latest window: accuracy as the mean top-class "
        "probability (exact in expectation for a calibrated model)",
        ["metric"],
    ),
    "window_rows": ("Rows scored in the latest window", []),
    "window_quarantined_rows": ("Rows set aside in the latest window", []),
    "last_success_timestamp_seconds": ("Unix time the latest successful cycle finished", []),
    "window_end_timestamp_seconds": ("Unix time the latest successful window ends", []),
    "model_info": (
        "The model version scoring the monitor's windows (always 1)",
        ["model", "version"],
    ),
    "schedule_interval_seconds": ("Seconds between the monitor's scheduled cycles", []),
}


class _Gauges:
    """Gauge families in a fixed order, each created on first use."""

    def __init__(self) -> None:
        self._families: dict[str, GaugeMetricFamily] = {}

    def add(self, name: str, labels: list[str], value: float) -> None:
        family = self._families.get(name)
        if family is None:
            doc, extra = _GAUGE_HELP[name]
            family = GaugeMetricFamily(PREFIX + name, doc, labels=["monitor", *extra])
            self._families[name] = family
        family.add_metric(labels, value)

    def families(self) -> Iterator[Metric]:
        for name in _GAUGE_HELP:
            if name in self._families:
                yield self._families[name]


def _gauge(name: str, doc: str, labels: list[str], values: list[float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(PREFIX + name, doc, labels=labels)
    for value in values:
        family.add_metric([], value)
    return family


def _counter(name: str, doc: str, labels: list[str]) -> CounterMetricFamily:
    return CounterMetricFamily(PREFIX + name, doc, labels=["monitor", *labels])


def _stage_order(stage: str) -> tuple[int, str]:
    return (STAGES.index(stage) if stage in STAGES else len(STAGES), stage)
