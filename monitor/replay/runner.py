"""Replaying a scenario: every window through `run_cycle` on a simulated clock, never sleeping.

The cycle is the daemon's own (source, model, metrics, store, alerts); hooks are delivered
only when the scenario defines them, on the same simulated clock.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from monitor.clock import SimulatedClock
from monitor.config import MonitorConfig
from monitor.cycle import CycleOutcome, MonitorRuntime, run_cycle
from monitor.cycle.scoring import row_check
from monitor.errors import DriftwardenError, UsageError
from monitor.exporter.collector import MonitorInfo, StoreCollector
from monitor.models.base import Model
from monitor.models.specs import EmbeddingHeadModelConfig
from monitor.replay.mix import PlannedWindow, WindowPlanner
from monitor.replay.openmetrics import TimestampedSeries
from monitor.replay.scenario import LABEL, TEXT, Scenario
from monitor.replay.scoring import RuleScore, check_expectations, score_rule
from monitor.replay.source import ScenarioLabels, ScenarioSource
from monitor.store import Store, open_store
from monitor.store.repository import watermark
from monitor.views.runs import run_summaries

log = logging.getLogger("driftwarden.replay")

IN_MEMORY = "sqlite://"
Progress = Callable[[int, int], None]


class ReplayError(DriftwardenError):
    """A replayed window failed in the cycle; the replay stops there (exit code 1)."""


@dataclass
class ReplayedWindow:
    """One replayed window: where it sits in the scenario and what the cycle stored."""

    index: int
    phase: int
    phase_name: str
    drift: bool
    onset: bool
    progress: float
    window_start: datetime
    window_end: datetime
    run_id: int
    rows: int
    quarantined: int
    metrics: dict[str, float] = field(default_factory=dict)
    #: threshold and method of the drift scores plotted (embedding, predicted class)
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    firing: list[str] = field(default_factory=list)  # rules firing after this window
    transitions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ReplayReport:
    """A finished replay: the windows, each rule's score and whether `expect:` holds."""

    scenario: Scenario
    #: the monitor as replayed (with the fitted head's folder when the scenario fits one)
    monitor: MonitorConfig
    model_version: str
    windows: list[ReplayedWindow]
    onsets: list[int]
    scores: dict[str, RuleScore]
    failures: list[str]
    seconds: float
    series: TimestampedSeries
    storage: str

    @property
    def met(self) -> bool:
        return not self.failures


def replay(
    scenario: Scenario,
    *,
    db: str | None = None,
    home: Path | None = None,
    progress: Progress | None = None,
) -> ReplayReport:
    """Replay `scenario` into the store at `db` (default: in memory) and score its rules."""
    began = time.perf_counter()
    spec = scenario.spec
    store = open_store(db or IN_MEMORY)
    try:
        _refuse_used_store(store, scenario.monitor.name, db)
        planner = WindowPlanner(scenario)
        reference = planner.reference()  # first: CSV pools serve the reference before windows
        planned = planner.windows()
        model, config = _build_model(scenario, reference, home)
        check = row_check(model, config)
        late = spec.labels
        source = ScenarioSource(
            planned, config.columns, spec.clock.start, spec.clock.step, check, late is None
        )
        labels = None if late is None else ScenarioLabels(source, late, spec.seed)
        runtime = MonitorRuntime(config, source, model, reference[[TEXT, LABEL]], labels)
        windows, series = _run_windows(scenario, runtime, store, source, planned, progress)
    finally:
        store.close()
    onsets = scenario.onsets()
    scores = {
        rule.name: score_rule(
            onsets,
            [w.index for w in windows for t in w.transitions if _is(t, rule.name, "firing")],
            [w.index for w in windows for t in w.transitions if _is(t, rule.name, "resolved")],
        )
        for rule in config.alerts
    }
    failures = check_expectations(spec.expect, scores)
    return ReplayReport(
        scenario,
        config,
        model.version,
        windows,
        onsets,
        scores,
        failures,
        time.perf_counter() - began,
        series,
        db or IN_MEMORY,
    )


def _is(transition: dict[str, Any], rule: str, state: str) -> bool:
    return bool(transition["rule"] == rule and transition["state"] == state)


def _build_model(
    scenario: Scenario, reference: pd.DataFrame, home: Path | None
) -> tuple[Model, MonitorConfig]:
    """Load the monitor's model; an embedding head without `head:` is fitted on the reference."""
    config = scenario.monitor
    model_config = config.model
    if not isinstance(model_config, EmbeddingHeadModelConfig):
        from monitor.models.registry import load_model

        return load_model(model_config), config
    from monitor.models.embedding_head import EmbeddingHeadModel
    from monitor.models.encoder import SentenceEncoder

    encoder = SentenceEncoder.from_config(
        model_config,
        # the reference is encoded to fit the head and again to fit the metrics: once is enough
        cache_size=(
            max(model_config.cache_size, len(reference))
            if scenario.fit_head
            else model_config.cache_size
        ),
    )
    if scenario.fit_head:
        from monitor.replay.heads import ensure_reference_head

        head = ensure_reference_head(encoder, reference, home)
        model_config = model_config.model_copy(update={"head": head})
        config = config.model_copy(update={"model": model_config})
    return EmbeddingHeadModel(model_config, encoder=encoder), config


def _refuse_used_store(store: Store, monitor: str, db: str | None) -> None:
    with store.reading() as session:
        if watermark(session, monitor) is not None:
            raise UsageError(
                f"the store {db} already holds windows of monitor {monitor!r}; "
                "replay into a fresh --db (or leave --db out: an in-memory store)"
            )


def _run_windows(
    scenario: Scenario,
    runtime: MonitorRuntime,
    store: Store,
    source: ScenarioSource,
    planned: list[PlannedWindow],
    progress: Progress | None,
) -> tuple[list[ReplayedWindow], TimestampedSeries]:
    spec = scenario.spec
    clock = SimulatedClock(spec.clock.start)
    dispatcher = _dispatcher(scenario, runtime, store, clock)
    collector = StoreCollector(
        store,
        [MonitorInfo(runtime.name, runtime.model.name, spec.clock.step.total_seconds())],
    )
    series = TimestampedSeries(collector)
    onsets = set(scenario.onsets())
    windows: list[ReplayedWindow] = []
    firing: set[str] = set()
    for window in planned:
        start, end = source.bounds(window.index)
        if clock.now() < end:  # hook retries may have moved the clock past it already
            clock.set(end)
        outcome = run_cycle(runtime, store, clock)
        if outcome.status != "ok" or outcome.run_id is None:
            raise ReplayError(
                f"window {window.index} ({window.phase_name}): "
                f"{outcome.error or 'the source returned no window'}"
            )
        if dispatcher is not None:
            dispatcher.deliver_pending()
        series.scrape(end)
        for transition in outcome.transitions:
            (firing.add if transition.state == "firing" else firing.discard)(transition.rule)
        windows.append(_replayed(window, window.index in onsets, start, end, outcome, firing))
        if progress is not None:
            progress(window.index + 1, len(planned))
    _fill_stored_metrics(store, runtime.name, windows)
    return windows, series


def _dispatcher(
    scenario: Scenario, runtime: MonitorRuntime, store: Store, clock: SimulatedClock
) -> Any:
    if not scenario.spec.hooks:
        return None
    from monitor.hooks.dispatcher import Dispatcher

    return Dispatcher(
        store,
        scenario.spec.hooks,
        clock,
        monitors={runtime.name: runtime},
        workers=1,
        share_models=True,
        # retries wait on the simulated clock: a replay never sleeps
        sleep=lambda seconds: _advance(clock, seconds),
    )


def _advance(clock: SimulatedClock, seconds: float) -> None:
    clock.advance(timedelta(seconds=seconds))


def _replayed(
    window: PlannedWindow,
    onset: bool,
    start: datetime,
    end: datetime,
    outcome: CycleOutcome,
    firing: set[str],
) -> ReplayedWindow:
    assert outcome.run_id is not None
    tests: dict[str, dict[str, Any]] = {}
    result = outcome.result
    if result is not None:
        scores = {"embedding_drift_score": result.embedding}
        scores["prediction_drift_score"] = result.prediction.get("predicted_class")
        for key, score in scores.items():
            if score is not None and not math.isnan(score.threshold):  # mmd: no threshold
                tests[key] = {"method": score.method, "threshold": score.threshold}
    return ReplayedWindow(
        window.index,
        window.phase,
        window.phase_name,
        window.drift,
        onset,
        window.progress,
        start,
        end,
        outcome.run_id,
        outcome.rows,
        outcome.quarantined,
        tests=tests,
        firing=sorted(firing),
        transitions=[
            {"rule": t.rule, "state": t.state, "value": t.value, "threshold": t.threshold}
            for t in outcome.transitions
        ],
    )


def _fill_stored_metrics(store: Store, monitor: str, windows: list[ReplayedWindow]) -> None:
    """Each window's metrics as stored (what `runs --json` shows), not as computed."""
    with store.reading() as session:
        stored = run_summaries(session, monitor, run_ids=[w.run_id for w in windows])
    by_run = {run["run_id"]: run["metrics"] for run in stored}
    for window in windows:
        window.metrics = dict(by_run.get(window.run_id, {}))


@contextmanager
def quiet_alert_logs() -> Iterator[None]:
    """Alert transitions log a warning each; a replay reports them itself, after its bar."""
    logger = logging.getLogger("driftwarden.alerts")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
