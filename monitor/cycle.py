"""One monitoring cycle, source to store: read a window, score it, compare, record.

The cycle takes its clock as an argument and knows no CLI or scheduler; the daemon, `once`
and `replay` all call `run_cycle`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from monitor.alerts import Transition, evaluate_rules
from monitor.clock import Clock
from monitor.config import MonitorConfig
from monitor.errors import DriftwardenError, ModelError, SourceError
from monitor.metrics.descriptors import text_descriptors
from monitor.metrics.engine import MetricsEngine, Observed
from monitor.metrics.result import Result
from monitor.models.base import Model, ModelInputs, Scores
from monitor.sources.base import Source, Window
from monitor.sources.rows import ROW_ID, Rejected, split_usable
from monitor.store import RunRecord, Store
from monitor.store.repository import WindowTaken, record_run, set_stage_seconds, watermark

log = logging.getLogger("driftwarden.cycle")
EMPTY_REASONS = ("empty text", "missing text")
KEY_METRICS = (
    "drifted_share",
    "dataset_drift",
    "embedding_drift_score",
    "prediction_drift_score",
    "accuracy",
    "f1",
    "mean_confidence",
)
# Above this share of rows failing alone, the model is broken, not the rows.
_MAX_FAILING_SHARE = 0.5


@dataclass
class CycleOutcome:
    """What one call of `run_cycle` did: `waiting` (no complete window), `ok` or `error`."""

    monitor: str
    status: str
    run_id: int | None = None
    rows: int = 0
    quarantined: int = 0
    window_start: datetime | None = None
    window_end: datetime | None = None
    result: Result | None = None
    error: str | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    #: alert episodes that fired or resolved on this run (committed with it)
    transitions: list[Transition] = field(default_factory=list)

    @property
    def recorded(self) -> bool:
        return self.run_id is not None

    def key_metrics(self) -> dict[str, float]:
        """The few numbers a summary line or a log line shows, in a fixed order."""
        metrics = self.result.run_metrics() if self.result is not None else {}
        return {name: metrics[name] for name in KEY_METRICS if name in metrics}


class Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def model_inputs(model: Model, rows: pd.DataFrame, config: MonitorConfig) -> ModelInputs:
    if model.reads == "text":
        assert config.columns.text is not None
        return rows[config.columns.text].astype(str).tolist()
    return rows[list(config.columns.features or [])]


def input_features(rows: pd.DataFrame, config: MonitorConfig) -> pd.DataFrame:
    """The columns drift is tested on: text descriptors, or the tabular features."""
    if config.columns.text is not None:
        return text_descriptors(rows[config.columns.text]).reset_index(drop=True)
    return rows[list(config.columns.features or [])].reset_index(drop=True)


def target_ids(
    model: Model, rows: pd.DataFrame, config: MonitorConfig
) -> tuple[np.ndarray | None, list[Rejected]]:
    """Class ids of the target column (-1: unlabelled) and the rows whose label is unknown."""
    column = config.columns.target
    if column is None or column not in rows.columns:
        return None, []
    ids = np.full(len(rows), -1, dtype=int)
    rejected = []
    for i, (row_id, value) in enumerate(zip(rows[ROW_ID], rows[column], strict=True)):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        class_id = model.class_id(value)
        if class_id is None:
            rejected.append(
                Rejected(
                    str(row_id),
                    f"label {value!r} in column {column!r} is not "
                    f"one the model knows ({', '.join(model.class_names)})",
                    {column: str(value)},
                )
            )
        else:
            ids[i] = class_id
    return ids, rejected


def score_isolating(model: Model, inputs: ModelInputs) -> tuple[Scores, list[int]]:
    """Score all rows; when the model raises, find the rows it raises on by halving.

    Returns scores for the rows that scored and the positions of those that did not. A
    model failing on most rows is broken, and that is an error of the whole cycle.
    """
    try:
        return model.score(inputs), []
    except ModelError as first_error:
        failing: list[int] = []
        parts: list[Scores] = []
        kept: list[int] = []

        def take(positions: list[int]) -> None:
            subset = _subset(inputs, positions)
            try:
                parts.append(model.score(subset))
                kept.extend(positions)
            except ModelError:
                if len(positions) == 1:
                    failing.append(positions[0])
                else:
                    middle = len(positions) // 2
                    take(positions[:middle])
                    take(positions[middle:])

        take(list(range(len(inputs))))
        if len(failing) > _MAX_FAILING_SHARE * len(inputs) or not parts:
            raise first_error
        return _concat(parts, kept, len(inputs)), sorted(failing)


def _subset(inputs: ModelInputs, positions: list[int]) -> ModelInputs:
    if isinstance(inputs, pd.DataFrame):
        return inputs.iloc[positions]
    return [inputs[i] for i in positions]


def _concat(parts: list[Scores], kept: list[int], total: int) -> Scores:
    order = np.argsort(kept, kind="stable")

    def join(arrays: list[np.ndarray | None]) -> np.ndarray | None:
        if any(a is None for a in arrays):
            return None
        return np.concatenate([a for a in arrays if a is not None])[order]

    predicted = join([p.predicted_ids for p in parts])
    assert predicted is not None
    versions = sorted({str(p.version) for p in parts})
    if len(versions) > 1:  # a head promoted while the rows were being isolated
        raise ModelError(
            f"the model changed while this window was scored ({' -> '.join(versions)}); "
            "its rows are scored again by one version at the next cycle"
        )
    return Scores(
        predicted,
        parts[0].class_names,
        join([p.probabilities for p in parts]),
        join([p.embeddings for p in parts]),
        parts[0].version,
    )


class MonitorRuntime:
    """A monitor's long-lived parts: source, model, and the metrics fitted on the reference.

    Built once per process (model loading and reference scoring are the slow part) and
    reused by every cycle.
    """

    def __init__(
        self,
        config: MonitorConfig,
        source: Source,
        model: Model,
        reference: pd.DataFrame,
    ) -> None:
        self.config = config
        self.source = source
        self.model = model
        usable, rejected, _ = split_usable(
            reference.assign(**{ROW_ID: [f"reference:{i}" for i in range(len(reference))]}),
            config.columns,
            limit=None,
        )
        if usable.empty:
            raise SourceError(
                f"the reference {config.reference.path} has no usable rows "
                f"({rejected[0].reason if rejected else 'it is empty'})"
            )
        if rejected:
            log.warning(
                "reference %s: %d unusable rows left out (first: %s)",
                config.reference.path,
                len(rejected),
                rejected[0].reason,
            )
        ids, unknown = target_ids(model, usable, config)
        if unknown:
            raise SourceError(
                f"reference {config.reference.path}: {unknown[0].reason} ({len(unknown)} rows)"
            )
        self.reference_rows = usable
        self.reference_target_ids = ids
        scores = model.score(model_inputs(model, usable, config))
        self.reference = Observed(input_features(usable, config), scores)
        self.engine = MetricsEngine(config.drift).fit(self.reference)

    @classmethod
    def build(
        cls, config: MonitorConfig, model: Model | None = None, source: Source | None = None
    ) -> MonitorRuntime:
        from monitor.models.registry import load_model
        from monitor.sources.files import FileSource, read_table

        if source is None:
            source = FileSource(config.stream, config.columns, config.window)
        reference = read_table(config.reference.path)
        if config.columns.target and config.columns.target not in reference.columns:
            log.info(
                "reference %s has no column %r: no quality in snapshots",
                config.reference.path,
                config.columns.target,
            )
        if config.reference.rows is not None and len(reference) > config.reference.rows:
            reference = reference.sample(config.reference.rows, random_state=0).sort_index()
        for column in _needed_columns(config):
            if column not in reference.columns:
                raise SourceError(
                    f"reference {config.reference.path} has no column {column!r} "
                    f"(columns: {', '.join(map(str, reference.columns))})"
                )
        return cls(config, source, model or load_model(config.model), reference)

    @property
    def name(self) -> str:
        return self.config.name

    def names_of(self, ids: np.ndarray | None) -> list[str | None] | None:
        if ids is None:
            return None
        return [self.model.class_names[i] if i >= 0 else None for i in ids]


def _needed_columns(config: MonitorConfig) -> list[str]:
    if config.columns.text is not None:
        return [config.columns.text]
    return list(config.columns.features or [])


def run_cycle(
    runtime: MonitorRuntime,
    store: Store,
    clock: Clock,
    on_recorded: Callable[[CycleOutcome], None] | None = None,
) -> CycleOutcome:
    """Run one cycle: nothing is stored unless the whole window is (watermark included)."""
    config = runtime.config
    started = clock.now()
    watch = Stopwatch()
    window: Window | None = None
    try:
        with watch.stage("read"):
            with store.reading() as session:
                mark = watermark(session, config.name)
            window = runtime.source.read(mark[0] if mark else None, started)
        if window is None:
            return CycleOutcome(config.name, "waiting")
        start = window.start or (mark[1] if mark else started)
        end = window.end or started
        after = mark[0] if mark else None
        record, result = _score_window(runtime, window, watch, start, end, started, clock, after)
    except DriftwardenError as exc:
        return _record_error(runtime, store, clock, watch, window, started, exc)
    except Exception as exc:  # a bug or a library surprise: record it, never lose the daemon
        log.exception("monitor %s: unexpected failure", config.name)
        return _record_error(runtime, store, clock, watch, window, started, exc)
    store_started = time.perf_counter()
    try:
        with store.transaction() as session:
            run_id = record_run(session, record)
            # same transaction: the run, its rule states and their outbox rows commit together
            transitions = evaluate_rules(session, config, run_id, record.finished_at)
            # the store stage as far as the commit, and the total, go into the run row itself
            seconds = {**watch.seconds, "store": time.perf_counter() - store_started}
            seconds["total"] = sum(seconds.values())
            set_stage_seconds(session, run_id, seconds)
    except WindowTaken as exc:  # rolled back whole: the other process's run stands
        log.warning("%s", exc)
        return CycleOutcome(config.name, "waiting")
    outcome = CycleOutcome(
        config.name,
        "ok",
        run_id,
        record.rows,
        len(record.quarantined),
        record.window_start,
        record.window_end,
        result,
        None,
        seconds,
        transitions,
    )
    if on_recorded is not None:
        on_recorded(outcome)
    return outcome


def _score_window(
    runtime: MonitorRuntime,
    window: Window,
    watch: Stopwatch,
    start: datetime,
    end: datetime,
    started: datetime,
    clock: Clock,
    after: str | None,
) -> tuple[RunRecord, Result]:
    config, model = runtime.config, runtime.model
    rows = window.rows
    rejected = list(window.rejected)
    ids, unknown = target_ids(model, rows, config)
    if unknown:
        bad = {r.row_id for r in unknown}
        keep = ~rows[ROW_ID].astype(str).isin(bad).to_numpy()
        rows = rows[keep]
        ids = None if ids is None else ids[keep]
        rejected += unknown
    with watch.stage("score"):
        scores, failing = score_isolating(model, model_inputs(model, rows, config))
    if failing:
        rejected += [
            Rejected(
                str(rows[ROW_ID].iloc[i]), "the model raised on this row", {"position": int(i)}
            )
            for i in failing
        ]
        keep = np.ones(len(rows), dtype=bool)
        keep[failing] = False
        rows = rows[keep]
        ids = None if ids is None else ids[keep]
    with watch.stage("metrics"):
        observed = Observed(input_features(rows, config), scores)
        result = runtime.engine.calculate(observed, ids)
        total = len(rows) + len(rejected)
        result.extras["quarantined_share"] = len(rejected) / total if total else 0.0
        result.extras["empty_share"] = (
            sum(r.reason in EMPTY_REASONS for r in rejected) / total if total else 0.0
        )
        snapshot = None
        if config.snapshot:
            from monitor.metrics.snapshot import build_snapshot

            snapshot = build_snapshot(
                runtime.engine,
                runtime.reference,
                observed,
                runtime.names_of(runtime.reference_target_ids),
                runtime.names_of(ids),
            )
    texts = rows[config.columns.text].astype(str).tolist() if config.columns.text else None
    probabilities = scores.probabilities
    target_names = runtime.names_of(ids)
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
    record = RunRecord(
        monitor=config.name,
        window_start=start,
        window_end=end,
        started_at=started,
        finished_at=clock.now(),
        rows=len(rows),
        model_version=scores.version or model.version,
        result=result,
        predictions=predictions,
        quarantined=rejected,
        stage_seconds=dict(watch.seconds),
        snapshot=snapshot,
        position=window.position,
        guard=True,
        after=after,
    )
    return record, result


def _record_error(
    runtime: MonitorRuntime,
    store: Store,
    clock: Clock,
    watch: Stopwatch,
    window: Window | None,
    started: datetime,
    exc: BaseException,
) -> CycleOutcome:
    message = str(exc) if isinstance(exc, DriftwardenError) else f"{type(exc).__name__}: {exc}"
    start = (window.start if window else None) or started
    end = (window.end if window else None) or started
    record = RunRecord(
        monitor=runtime.name,
        window_start=start,
        window_end=end,
        started_at=started,
        finished_at=clock.now(),
        status="error",
        error=message,
        model_version=getattr(runtime.model, "version", None),
        stage_seconds=dict(watch.seconds),
    )
    run_id = None
    try:
        with store.transaction() as session:
            run_id = record_run(session, record)
    except DriftwardenError as store_exc:  # the store itself is down: log, keep going
        log.error("monitor %s: could not record the failed run: %s", runtime.name, store_exc)
    log.error("monitor %s: cycle failed: %s", runtime.name, message)
    return CycleOutcome(
        runtime.name, "error", run_id, 0, 0, start, end, None, message, dict(watch.seconds)
    )
