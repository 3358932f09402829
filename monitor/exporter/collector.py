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
from dataclasses import dataclass
from typing import Protocol

from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import DriftwardenError
from monitor.exporter.series import Gauges, counter, gauge, histogram
from monitor.exporter.tally import DURATION_BUCKETS, MonitorTally, stage_order
from monitor.metrics.catalog import RUN_METRICS
from monitor.metrics.result import FEATURE_DRIFT
from monitor.store import Store
from monitor.store.latest import (
    MetricValue,
    alert_states,
    attempt_counts,
    metric_values,
    monitor_names,
    quarantined_files,
    runs_since,
)

log = logging.getLogger("driftwarden.exporter")

__all__ = ["DURATION_BUCKETS", "MonitorInfo", "ProcessCounters", "StoreCollector"]

# Runs re-read behind the newest one seen: a backend that commits ids out of order (not
# SQLite, which has one writer at a time) must not make a run invisible to the counters.
_LOOKBACK_IDS = 16
# Drift methods whose score is a p-value (drift when the score is at most the threshold);
# all others are distances (drift when at least the threshold). Used only for ranking.
PVALUE_METHODS = frozenset(
    {"ks", "chisquare", "z", "anderson", "cramer_von_mises", "mannw", "t_test", "fisher_exact"}
    | {"g_test", "es", "epps_singleton", "empirical_mmd", "TVD"}
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
        self._tallies: dict[int, MonitorTally] = {}
        self._names: dict[int, str] = {}
        self._newest_seen = 0
        self._recent: set[int] = set()
        self._values: dict[int, list[MetricValue]] = {}  # a run's values never change
        self._warned_at = -math.inf
        self._alerts: list[tuple[str, str, bool]] = []
        self._attempts: list[tuple[str, str, str, int]] = []
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
            self._values = {run_id: self._values[run_id] for run_id in latest}
            self._alerts = alert_states(session)
            self._attempts = attempt_counts(session)
            self._files = quarantined_files(session)
        return tallies

    def _wanted(self, monitor: str) -> bool:
        return self.monitors is None or monitor in self.monitors

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            try:
                tallies = self._read()
            except (DriftwardenError, SQLAlchemyError) as exc:
                self._warn(f"cannot read the store for /metrics: {exc}")
                yield from self._process_families()
                yield self._store_up(0.0)
                return
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
            for metric in RUN_METRICS:
                latest = metrics.get(metric.name)
                if metric.series is not None and latest is not None:
                    labels = [name, *(label for _, label in metric.series.labels)]
                    g.add(metric.series.name, labels, latest)
            features = [v for v in values if v.name == FEATURE_DRIFT and v.value is not None]
            features.sort(key=drift_severity, reverse=True)
            for value in sorted(features[: self.max_features], key=lambda v: v.feature):
                assert value.value is not None
                g.add("feature_drift_score", [name, value.feature, value.method or ""], value.value)
                g.add("feature_drifted", [name, value.feature], float(bool(value.drifted)))
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
        firing = gauge("alert_firing")
        for monitor, rule, is_firing in sorted(self._alerts):
            if self._wanted(monitor):
                firing.add_metric([monitor, rule], float(is_firing))
        deliveries = counter("hook_deliveries_total")
        for monitor, hook, outcome, count in self._attempts:
            if self._wanted(monitor):
                deliveries.add_metric([monitor, hook, outcome], float(count))
        yield from (firing, deliveries)

    def _process_families(self) -> Iterator[Metric]:
        if self.counters is None:
            return
        events = counter("scheduler_events_total")
        for (monitor, event), count in sorted(self.counters.scheduler_events().items()):
            events.add_metric([monitor, event], float(count))
        unrecorded = counter("unrecorded_failures_total")
        for monitor, count in sorted(self.counters.unrecorded_failures().items()):
            unrecorded.add_metric([monitor], float(count))
        failing = gauge("consecutive_failed_cycles")
        for monitor, count in sorted(self.counters.failing_cycles().items()):
            failing.add_metric([monitor], float(count))
        yield events
        yield unrecorded
        yield failing
