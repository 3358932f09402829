"""The pure part of a cycle: read the window, score it, compute its metrics, and return the
complete record to store. It writes nothing, so it can run wherever the model is loaded.

A window that cannot be scored gives an error record (kept with its window's bounds), not an
exception: the store part records whatever this part returns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np

from monitor.clock import Clock
from monitor.config import MonitorConfig
from monitor.cycle.outcome import Stopwatch
from monitor.cycle.reference import frame_bytes
from monitor.cycle.runtime import Scoring
from monitor.cycle.scoring import (
    NON_FINITE_SCORES,
    finite_rows,
    input_features,
    input_keys,
    model_inputs,
    score_isolating,
    scores_of,
    target_ids,
)
from monitor.errors import DriftwardenError
from monitor.metrics.engine import Observed
from monitor.records.pool import PooledWindow
from monitor.records.results import SetAside
from monitor.records.rows import EMPTY_REASONS, ROW_ID, Rejected
from monitor.sources.base import Source, Window
from monitor.store import RunRecord

log = logging.getLogger("driftwarden.cycle")


@dataclass(frozen=True)
class CycleStart:
    """Where a cycle starts: the watermark it reads after, when it began, and the monitor's
    last stored windows of the sequential test's pool."""

    after: str | None
    #: the end of the last recorded window (the next one starts there without timestamps)
    last_end: datetime | None
    started: datetime
    #: the store's shares of the monitor's last windows in the sequential pool, oldest
    #: first (`monitor.store.sequential_pool`)
    pooled: tuple[PooledWindow, ...] = ()


def compute_window(
    config: MonitorConfig,
    source: Source,
    scoring: Scoring,
    start: CycleStart,
    clock: Clock,
    watch: Stopwatch,
) -> RunRecord | None:
    """The record of the next complete window (None when there is none yet)."""
    window: Window | None = None
    try:
        with watch.stage("read"):
            window = source.read(start.after, start.started)
        if window is None:
            return None
        record = _score_window(config, scoring, window, start, clock, watch)
        record.quarantined += source.unreadable_files()  # the store keeps each file once
        return record
    except DriftwardenError as exc:
        return error_record(
            config.name, scoring.model.version, start, clock, watch, window, str(exc)
        )
    except Exception as exc:  # a bug or a library surprise: record it, never lose the daemon
        log.exception("monitor %s: unexpected failure", config.name)
        message = f"{type(exc).__name__}: {exc}"
        return error_record(
            config.name, scoring.model.version, start, clock, watch, window, message
        )


def _score_window(
    config: MonitorConfig,
    scoring: Scoring,
    window: Window,
    start: CycleStart,
    clock: Clock,
    watch: Stopwatch,
) -> RunRecord:
    if window.rows.empty:
        return _unscored_record(config, scoring, window, start, clock, watch)
    model = scoring.model
    rows = window.rows
    rejected = list(window.rejected)
    ids, unknown = target_ids(model, rows, config)
    if unknown:  # a source that did not apply the row rule: its rows are set aside here
        keep = ~rows[ROW_ID].astype(str).isin({r.row_id for r in unknown}).to_numpy()
        rows, ids = rows[keep], None if ids is None else ids[keep]
        rejected += unknown
    with watch.stage("score"):
        inputs = model_inputs(model, rows, config)
        scores, failing = score_isolating(model, inputs)
    if failing:
        rejected += [
            Rejected(
                str(rows[ROW_ID].iloc[i]), "the model raised on this row", {"position": int(i)}
            )
            for i in failing
        ]
        keep = np.ones(len(rows), dtype=bool)
        keep[failing] = False
        rows, ids = rows[keep], None if ids is None else ids[keep]
        inputs = model_inputs(model, rows, config)
    finite = finite_rows(scores)
    if not finite.all():  # a row the model scores NaN or infinite is that row's problem
        rejected += [
            Rejected(str(row_id), NON_FINITE_SCORES, {"position": int(i)})
            for i, row_id in enumerate(rows[ROW_ID])
            if not finite[i]
        ]
        rows, ids = rows[finite], None if ids is None else ids[finite]
        scores = scores_of(scores, finite)
        if rows.empty:
            window = replace(window, rows=rows, rejected=rejected)
            return _unscored_record(config, scoring, window, start, clock, watch)
        inputs = model_inputs(model, rows, config)
    texts = rows[config.columns.text].astype(str).tolist() if config.columns.text else None
    with watch.stage("metrics"):
        observed = Observed(
            input_features(rows, config),
            scores,
            input_keys(rows, config),
            texts,
            rows[ROW_ID].astype(str).tolist(),
        )
        set_aside = SetAside(len(rejected), sum(r.reason in EMPTY_REASONS for r in rejected))
        seen = scoring.estimation_input(scores, inputs)
        estimates = None if seen is None else scoring.estimator.estimate(seen).run_metrics()
        result = scoring.engine.calculate(observed, ids, set_aside, estimates, start.pooled)
    # `report` rebuilds a text window's features from its logged text; a tabular window's
    # feature values are kept beside the run
    feature_bytes = None
    if config.snapshot and config.columns.text is None:
        feature_bytes = frame_bytes(observed.features)
    probabilities = scores.probabilities
    target_names = scoring.names_of(ids)
    predictions = [
        {
            "row_id": str(row_id),
            "position": i,
            "text": texts[i] if texts is not None else None,
            "predicted_id": int(scores.predicted_ids[i]),
            "predicted_name": scores.class_names[int(scores.predicted_ids[i])],
            "probabilities": None if probabilities is None else probabilities[i].tolist(),
            "target": None if target_names is None else target_names[i],
        }
        for i, row_id in enumerate(rows[ROW_ID])
    ]
    return _window_record(
        config,
        window,
        start,
        clock,
        watch,
        rows=len(rows),
        model_version=scores.version or model.version,
        result=result,
        predictions=predictions,
        quarantined=rejected,
        reference_key=scoring.reference_key,
        inputs=feature_bytes,
    )


def _window_record(
    config: MonitorConfig,
    window: Window,
    start: CycleStart,
    clock: Clock,
    watch: Stopwatch,
    **fields: Any,
) -> RunRecord:
    """The record of a read window: its bounds, timings and the watermark move (guarded)."""
    return RunRecord(
        monitor=config.name,
        window_start=window.start or start.last_end or start.started,
        window_end=window.end or start.started,
        started_at=start.started,
        finished_at=clock.now(),
        stage_seconds=dict(watch.seconds),
        position=window.position,
        guard=True,
        after=start.after,
        **fields,
    )


def _unscored_record(
    config: MonitorConfig,
    scoring: Scoring,
    window: Window,
    start: CycleStart,
    clock: Clock,
    watch: Stopwatch,
) -> RunRecord:
    """A window without one usable row (every row quarantined, or none in its time): it is
    recorded as such (rows 0, its share quarantined), so rules and dashboards see it."""
    rejected = list(window.rejected)
    total = len(rejected)
    empty = sum(r.reason in EMPTY_REASONS for r in rejected)
    return _window_record(
        config,
        window,
        start,
        clock,
        watch,
        rows=0,
        model_version=scoring.model.version,
        quarantined=rejected,
        metrics={"quarantined_share": 1.0, "empty_share": empty / total} if total else {},
    )


def error_record(
    monitor: str,
    model_version: str | None,
    start: CycleStart,
    clock: Clock,
    watch: Stopwatch,
    window: Window | None,
    message: str,
) -> RunRecord:
    """A failed run of `window` (or of the cycle's start, when no window was read)."""
    return RunRecord(
        monitor=monitor,
        window_start=(window.start if window else None) or start.started,
        window_end=(window.end if window else None) or start.started,
        started_at=start.started,
        finished_at=clock.now(),
        status="error",
        error=message,
        model_version=model_version,
        stage_seconds=dict(watch.seconds),
    )
