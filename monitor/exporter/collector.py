"""The Prometheus collector: every scrape reads the store, so a restart loses no series.

Gauges come from each monitor's latest successful run; counters and the duration histogram
are folded from the runs table (`monitor.exporter.tally`). It reads the tables the
migrations create, through `monitor.store.latest`, and computes no metric itself.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from monitor.config.drift import PVALUE_METHODS
from monitor.errors import DriftwardenError
from monitor.exporter.configured import (
    HOOK_OUTCOMES,
    RETRAIN_DECISIONS,
    SCHEDULER_EVENTS,
    MonitorInfo,
    configured_gauges,
)
from monitor.exporter.deadline import Deadline
from monitor.exporter.series import Gauges, counter, gauge, histogram
from monitor.exporter.tally import DURATION_BUCKETS, MonitorTally, stage_order
from monitor.exporter.window_gauges import explanation_gauges, late_quality
from monitor.records.catalog import RUN_METRICS
from monitor.records.explanations import Explanation
from monitor.records.labels import OUTCOMES
from monitor.records.results import EMBEDDING_DRIFT, FEATURE_DRIFT, PREDICTION_DRIFT
from monitor.store import Store
from monitor.store.explanations import explanations
from monitor.store.latest import (
    MetricValue,
    MonitorQuality,
    alert_states,
    attempt_counts,
    metric_values,
    monitor_names,
    monitor_quality,
    quarantined_files,
    retrain_decision_counts,
    runs_since,
)
from monitor.store.quality import VERSIONED

log = logging.getLogger("driftwarden.exporter")

# Stored drift tests (name, feature) whose threshold is a series of its own, beside the score.
_TEST_THRESHOLDS = {
    (PREDICTION_DRIFT, "predicted_class"): "prediction_drift_threshold",
    (EMBEDDING_DRIFT, "embedding"): "embedding_drift_threshold",
}

__all__ = [
    "DURATION_BUCKETS",
    "PVALUE_METHODS",
    "MonitorInfo",
    "ProcessCounters",
    "StoreCollector",
]

# Runs re-read behind the newest one seen: a backend that commits ids out of order (not
# SQLite, which has one writer at a time) must not make a run invisible to the counters.
_LOOKBACK_IDS = 16


class ProcessCounters(Protocol):
    """Counts kept by the running daemon that the store cannot hold."""

    def scheduler_events(self) -> Mapping[tuple[str, str], int]: ...

    def unrecorded_failures(self) -> Mapping[str, int]: ...

    def failing_cycles(self) -> Mapping[str, int]: ...


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
        self._lock = threading.Lock()
        self._store_deadline: Deadline[list[tuple[str, MonitorTally]]] = Deadline("metrics-read")
        self._tallies: dict[int, MonitorTally] = {}
        self._names: dict[int, str] = {}
        self._newest_seen = 0
        self._recent: set[int] = set()
        self._values: dict[int, list[MetricValue]] = {}  # a run's values never change
        self._explained: dict[int, Explanation | None] = {}  # nor its explanation
        self._warned_at = -math.inf
        self._alerts: list[tuple[str, str, bool]] = []
        self._attempts: list[tuple[str, str, str, int]] = []
        self._quality: dict[str, MonitorQuality] = {}
        self._decisions: dict[tuple[str, str], int] = {}
        self._files: dict[str, int] = {}

    # -- reading

    def _read(self) -> list[tuple[str, MonitorTally]]:
        # a bare connection: a Session's ORM layer costs more than these reads
        with self.store.engine.connect() as session:
            floor = max(0, self._newest_seen - _LOOKBACK_IDS)
            fresh = runs_since(session, floor, self._recent)
            if any(run.monitor_id not in self._names for run in fresh) or not self._names:
                self._names = monitor_names(session)
            for run in fresh:
                self._tallies.setdefault(run.monitor_id, MonitorTally()).fold(run)
                self._newest_seen = max(self._newest_seen, run.run_id)
                self._recent.add(run.run_id)
            self._recent = {i for i in self._recent if i > self._newest_seen - _LOOKBACK_IDS}
            tallies = sorted(
                (self._names[mid], tally)
                for mid, tally in self._tallies.items()
                if mid in self._names and self._wanted(self._names[mid])
            )
            latest = [t.latest_ok.run_id for _, t in tallies if t.latest_ok is not None]
            missing = [run_id for run_id in latest if run_id not in self._values]
            if missing:
                found = metric_values(session, missing)
                for run_id in missing:
                    self._values[run_id] = found.get(run_id, [])
                # read with the values, so only a scrape that meets new runs pays for it
                bodies = explanations(session, missing)
                for run_id in missing:
                    body = bodies.get(run_id)
                    self._explained[run_id] = Explanation.from_json(body) if body else None
            self._values = {run_id: self._values[run_id] for run_id in latest}
            self._explained = {run_id: self._explained.get(run_id) for run_id in latest}
            self._alerts = alert_states(session)
            self._attempts = attempt_counts(session)
            self._quality = monitor_quality(session)
            self._decisions = retrain_decision_counts(session)
            self._files = quarantined_files(session)
        return tallies

    def _wanted(self, monitor: str) -> bool:
        return self.monitors is None or monitor in self.monitors

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            try:
                # a store that hangs costs this scrape the deadline, then store_up 0
                tallies = self._store_deadline.call(self._read)
            except (DriftwardenError, SQLAlchemyError) as exc:
                self._warn(f"cannot read the store for /metrics: {exc}")
                # the config's series still list every monitor and its schedule; the
                # counters from the store are left out rather than restarted at 0
                yield from self._configured()
                yield from self._process_families()
                yield self._store_up(0.0)
                return
            yield from self._configured()
            yield from self._families(tallies)
            yield from self._process_families()
            # reads work; writes are up when the store's last one went through
            yield self._store_up(1.0 if self.store.write_problem() is None else 0.0)

    def _warn(self, message: str) -> None:
        # a scraper retries every few seconds; one line a minute is enough to be seen
        if time.monotonic() - self._warned_at > 60:
            self._warned_at = time.monotonic()
            log.warning(message)

    # -- building the families

    def _known_monitors(self) -> list[str]:
        if self.monitors is not None:
            return sorted(self.monitors)
        return sorted(set(self._names.values()))

    def _configured(self) -> Iterator[Metric]:
        if self.monitors is not None:
            yield from configured_gauges([self.monitors[name] for name in sorted(self.monitors)])

    def _store_up(self, value: float) -> Metric:
        """One sample per monitor: every series carries the `monitor` label."""
        up = gauge("store_up")
        for monitor in self._known_monitors():
            up.add_metric([monitor], value)
        return up

    def _families(self, tallies: list[tuple[str, MonitorTally]]) -> Iterator[Metric]:
        known = {name for name, _ in tallies}
        if self.monitors is not None:  # a configured monitor without runs yet still shows
            tallies = sorted(
                tallies + [(name, MonitorTally()) for name in self.monitors if name not in known]
            )
        yield from self._latest_families(tallies)
        yield from self._counter_families(tallies)
        yield from self._alert_and_hook_families()

    def _latest_families(self, tallies: list[tuple[str, MonitorTally]]) -> Iterator[Metric]:
        g = Gauges()
        for name, tally in tallies:
            info = self.monitors.get(name) if self.monitors is not None else None
            if tally.latest_error is not None:
                finished = tally.latest_error.finished_at.timestamp()
                g.add("last_failure_timestamp_seconds", [name], finished)
            if tally.latest is not None and tally.latest.stage_seconds:
                stages = tally.latest.stage_seconds
                total = stages.get("total", sum(stages.values()))
                g.add("last_run_duration_seconds", [name], float(total))
            if tally.model_version is not None:
                model = info.model if info is not None else "unknown"
                g.add("model_info", [name, model, tally.model_version], 1.0)
            run = tally.latest_ok
            if run is None:
                continue
            values = self._values.get(run.run_id, [])
            metrics = {v.name: v.value for v in values if not v.feature and v.value is not None}
            late = self._quality.get(name)
            if late is not None:  # late labels: quality is the latest final window's
                metrics = {k: v for k, v in metrics.items() if k not in VERSIONED}
                metrics.update(late_quality(g, name, late))
            elif "accuracy" in metrics:
                g.add("quality_window_end_timestamp_seconds", [name], run.window_end.timestamp())
            g.add("window_rows", [name], float(run.rows))
            g.add("window_quarantined_rows", [name], float(run.quarantined))
            g.add("last_success_timestamp_seconds", [name], run.finished_at.timestamp())
            g.add("window_end_timestamp_seconds", [name], run.window_end.timestamp())
            for metric in RUN_METRICS:
                latest = metrics.get(metric.name)
                if metric.series is not None and latest is not None:
                    labels = [name, *(label for _, label in metric.series.labels)]
                    g.add(metric.series.name, labels, latest)
            for value in values:
                threshold_series = _TEST_THRESHOLDS.get((value.name, value.feature))
                if threshold_series is not None and value.threshold is not None:
                    g.add(threshold_series, [name], value.threshold)
            features = [v for v in values if v.name == FEATURE_DRIFT and v.value is not None]
            features.sort(key=drift_severity, reverse=True)
            for value in sorted(features[: self.max_features], key=lambda v: v.feature):
                assert value.value is not None
                g.add("feature_drift_score", [name, value.feature, value.method or ""], value.value)
                g.add("feature_drifted", [name, value.feature], float(bool(value.drifted)))
                if value.threshold is not None:
                    labels = [name, value.feature, value.method or ""]
                    g.add("feature_drift_threshold", labels, value.threshold)
            explained = self._explained.get(run.run_id)
            if explained is not None:
                explanation_gauges(g, name, explained)
        yield from g

    def _counter_families(self, tallies: list[tuple[str, MonitorTally]]) -> Iterator[Metric]:
        runs, rows = counter("runs_total"), counter("rows_scored_total")
        quarantined, duration = counter("quarantined_rows_total"), histogram("run_duration_seconds")
        files = counter("quarantined_files_total")
        for name, tally in tallies:
            for outcome in sorted(tally.runs):
                runs.add_metric([name, outcome], float(tally.runs[outcome]))
            rows.add_metric([name], float(tally.rows))
            quarantined.add_metric([name], float(tally.quarantined))
            files.add_metric([name], float(self._files.get(name, 0)))
            for stage in sorted(tally.stages, key=stage_order):
                stage_seconds = tally.stages[stage]
                duration.add_metric([name, stage], stage_seconds.cumulative(), stage_seconds.total)
        yield from (runs, rows, quarantined, duration, files)

    def _alert_and_hook_families(self) -> Iterator[Metric]:
        late = [(name, q) for name, q in sorted(self._quality.items()) if self._wanted(name)]
        if late:  # only monitors with a labels source have label outcomes to count
            labels = counter("labels_total")
            for monitor, quality in late:
                for outcome in OUTCOMES:
                    labels.add_metric([monitor, outcome], float(quality.counts.get(outcome, 0)))
            yield labels
        # every configured rule and hook starts at 0: a first firing or failure is a change
        firing_now = {(m, name): float(is_firing) for m, name, is_firing in self._alerts}
        attempts = {(m, hook, outcome): float(n) for m, hook, outcome, n in self._attempts}
        decisions = {key: float(n) for key, n in self._decisions.items()}
        for info in (self.monitors or {}).values():
            for rule in info.rules:
                firing_now.setdefault((info.name, rule.name), 0.0)
            for hook in info.hooks:
                for outcome in HOOK_OUTCOMES:
                    attempts.setdefault((info.name, hook, outcome), 0.0)
            for decision in RETRAIN_DECISIONS:
                decisions.setdefault((info.name, decision), 0.0)
        firing = gauge("alert_firing")
        for (monitor, rule_name), value in sorted(firing_now.items()):
            if self._wanted(monitor):
                firing.add_metric([monitor, rule_name], value)
        deliveries = counter("hook_deliveries_total")
        for (monitor, hook, outcome), value in sorted(attempts.items()):
            if self._wanted(monitor):
                deliveries.add_metric([monitor, hook, outcome], value)
        retrains = counter("retrain_decisions_total")
        for (monitor, decision), value in sorted(decisions.items()):
            if self._wanted(monitor):
                retrains.add_metric([monitor, decision], value)
        yield from (firing, deliveries, retrains)

    def _process_families(self) -> Iterator[Metric]:
        if self.counters is None:
            return
        configured = sorted(self.monitors or {})
        counted = dict.fromkeys(((m, e) for m in configured for e in SCHEDULER_EVENTS), 0)
        counted.update(self.counters.scheduler_events())
        events = counter("scheduler_events_total")
        for (monitor, event), count in sorted(counted.items()):
            events.add_metric([monitor, event], float(count))
        failures = dict.fromkeys(configured, 0) | dict(self.counters.unrecorded_failures())
        unrecorded = counter("unrecorded_failures_total")
        for monitor, count in sorted(failures.items()):
            unrecorded.add_metric([monitor], float(count))
        failing = gauge("consecutive_failed_cycles")
        # every configured monitor from the first scrape: 0 until its cycles fail
        in_a_row = dict.fromkeys(configured, 0) | dict(self.counters.failing_cycles())
        for monitor, count in sorted(in_a_row.items()):
            failing.add_metric([monitor], float(count))
        yield events
        yield unrecorded
        yield failing
