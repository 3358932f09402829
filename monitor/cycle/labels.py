"""The label join, the last step of a cycle on a monitor with a `labels:` source.

It reads the labels that arrived since the last join, writes them into the prediction log
by row id, and gives every window that gained labels a new quality version (its drift is
never touched). A window's quality becomes final when its coverage reaches
`labels.final_coverage` or `labels.horizon` has passed since it ended; the late quality
rules then evaluate the windows in window order as they become final. Each batch of labels
is one transaction with its position, so nothing is lost or counted twice on a restart.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.alerts import Transition, evaluate_rules
from monitor.clock import Clock
from monitor.cycle.runtime import MonitorRuntime
from monitor.errors import DriftwardenError
from monitor.labels.base import LABEL, RAW
from monitor.labels.join import decide
from monitor.metrics.quality import classification_quality
from monitor.plugins import LabelsConfig
from monitor.records.catalog import QUALITY_METRICS
from monitor.records.labels import JOINED, REJOINED, ArrivedLabel, Decision
from monitor.records.rows import ROW_ID, TIMESTAMP, Rejected
from monitor.sources.base import Window
from monitor.store import Store
from monitor.store.label_files import quarantine_label_files
from monitor.store.labels import (
    LabelsTaken,
    apply_decisions,
    count_outcomes,
    label_position,
    label_state,
    logged_predictions,
    move_position,
    quarantine_invalid,
    unknown_labels_scored_in,
)
from monitor.store.quality import (
    LoggedWindow,
    QualityUpdate,
    add_version,
    finalise,
    logged_window,
    open_versions,
    recorded_quality,
    runs_to_open,
)
from monitor.store.repository import monitor_id
from monitor.store.schema import LabelStateRow, RunRow

log = logging.getLogger("driftwarden.labels")

MAX_BATCHES = 20  # batches of labels joined per cycle; the rest wait for the next one


@dataclass
class LabelOutcome:
    """What one label join did: label rows by outcome, quality versions written, the runs
    whose quality became final, the late rules' transitions, and an error that stopped it."""

    counts: dict[str, int] = field(default_factory=dict)
    versions: int = 0
    finalised: list[int] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> str | None:
        """One line for `once` and the log (None when no label came and nothing changed)."""
        if self.error is not None:
            return f"labels not joined: {self.error}"
        if not self.counts and not self.finalised:
            return None
        read = ", ".join(f"{count} {name}" for name, count in self.counts.items()) or "none"
        return (
            f"labels: {read}; {self.versions} quality version(s), "
            f"{len(self.finalised)} window(s) final"
        )


def join_labels(runtime: MonitorRuntime, store: Store, clock: Clock) -> LabelOutcome:
    """Join the labels that arrived, one transaction per batch; never raises a DriftwardenError
    (a source or store failure is logged, kept in the outcome, and retried next cycle)."""
    outcome = LabelOutcome()
    config = runtime.config
    if config.labels is None or runtime.labels is None:
        return outcome
    for _ in range(MAX_BATCHES):
        now = clock.now()
        try:
            with store.reading() as session:
                after = label_position(session, config.name)
            batch = runtime.labels.read(after, now)
            with store.transaction() as session:
                _join(session, runtime, config.labels, batch, after, now, outcome)
        except (LabelsTaken, IntegrityError) as exc:  # rolled back whole: the other stands
            # (IntegrityError: another process created the monitor's labels state at once)
            log.warning("monitor %s: another process joined these labels: %s", config.name, exc)
            break
        except DriftwardenError as exc:
            outcome.error = str(exc)
            log.error("monitor %s: labels not joined: %s", config.name, exc)
            break
        if batch is None:
            break
    line = outcome.summary()
    if line is not None and outcome.error is None:
        log.info("monitor %s: %s", config.name, line)
    return outcome


def _join(
    session: Session,
    runtime: MonitorRuntime,
    labels: LabelsConfig,
    batch: Window | None,
    after: str | None,
    now: datetime,
    outcome: LabelOutcome,
) -> None:
    mid = monitor_id(session, runtime.name, now)
    state = label_state(session, mid, now, now - labels.horizon)
    opened, finalised = _open_new_runs(session, mid, state, labels, now)
    open_runs = {version.run_id for version, _ in open_versions(session, mid)}
    model = runtime.model

    def class_name(value: Any) -> str | None:
        class_id = model.class_id(value)
        return None if class_id is None else model.class_names[class_id]

    def join(arrived: Sequence[ArrivedLabel]) -> list[Decision]:
        found = logged_predictions(session, mid, [a.row_id for a in arrived], open_runs)
        decisions = decide(arrived, found, class_name, ", ".join(model.class_names))
        apply_decisions(session, mid, decisions, now)
        return decisions

    decisions: list[Decision] = []
    retried = unknown_labels_scored_in(session, mid, opened)
    if retried:
        for row, _ in retried:
            row.released = True  # decided again below: joined, or quarantined anew
        again = join([arrived for _, arrived in retried])
        _count(state, outcome, [REJOINED if d.joins else d.outcome for d in again])
        decisions += again
    if runtime.labels is not None:  # label files set aside whole: kept and counted once
        files = quarantine_label_files(session, mid, runtime.labels.unreadable_files(), now)
        _count(state, outcome, ["invalid"] * len(files))
        for aside in files:
            log.error(
                "monitor %s: labels set aside %s: %s", runtime.name, aside.row_id, aside.reason
            )
    if batch is not None:
        invalid = [(r.row_id, r.reason, r.raw) for r in batch.rejected]
        quarantine_invalid(session, mid, invalid, now)
        fresh = join(_arrived(batch))
        _count(state, outcome, ["invalid"] * len(invalid) + [d.outcome for d in fresh])
        decisions += fresh
        move_position(session, state, after, batch.position, now)
    for run_id, joined in _by_run(decisions).items():
        finalised |= _new_version(session, mid, run_id, joined, labels, model.class_id, now)
        outcome.versions += 1
    for version, window_end in open_versions(session, mid):
        if window_end + labels.horizon <= now:
            finalise(session, version, "horizon", now)
            finalised.add(version.run_id)
    still_open = [version.run_id for version, _ in open_versions(session, mid)]
    frontier = min(still_open) - 1 if still_open else state.opened_through_run_id
    outcome.finalised += sorted(finalised)
    outcome.transitions += evaluate_rules(
        session, runtime.config, frontier, now, finalised=finalised
    )


def aside_of(rejected: Rejected) -> tuple[str, str]:
    return rejected.row_id, rejected.reason


def _count(state: LabelStateRow, outcome: LabelOutcome, outcomes: list[str]) -> None:
    count_outcomes(state, outcomes)
    for name in outcomes:
        outcome.counts[name] = outcome.counts.get(name, 0) + 1


def _arrived(batch: Window) -> list[ArrivedLabel]:
    rows = batch.rows
    stamps = [None if pd.isna(ts) else ts.to_pydatetime() for ts in rows[TIMESTAMP]]
    return [
        ArrivedLabel(str(row_id), value, stamp, raw)
        for row_id, value, stamp, raw in zip(
            rows[ROW_ID], rows[LABEL], stamps, rows[RAW], strict=True
        )
    ]


def _by_run(decisions: Sequence[Decision]) -> dict[int, list[Decision]]:
    """The labels that joined an open window, by run (a final window's quality stays)."""
    found: dict[int, list[Decision]] = {}
    for decision in decisions:
        if decision.outcome == JOINED and decision.prediction is not None:
            found.setdefault(decision.prediction.run_id, []).append(decision)
    return found


def _final_reason(
    coverage: float, window_end: datetime, labels: LabelsConfig, now: datetime
) -> str | None:
    if coverage >= labels.final_coverage:
        return "coverage"
    if window_end + labels.horizon <= now:
        return "horizon"
    return None


def _open_new_runs(
    session: Session, mid: int, state: LabelStateRow, labels: LabelsConfig, now: datetime
) -> tuple[list[int], set[int]]:
    """Version 1 of every run recorded since the last join: the quality its own labels gave
    it; returns those runs, and the ones among them final from the start."""
    runs = runs_to_open(session, mid, state.opened_through_run_id)
    recorded = recorded_quality(session, [run.id for run in runs])
    finalised = set()
    for run in runs:
        values = recorded.get(run.id, {})
        labelled = int(values.get("labelled_rows", 0))
        metrics = {name: value for name, value in values.items() if name in QUALITY_METRICS}
        coverage = labelled / run.rows if run.rows else 0.0
        reason = _final_reason(coverage, run.window_end, labels, now)
        add_version(session, mid, QualityUpdate(run.id, run.rows, labelled, metrics, reason), now)
        if reason is not None:
            finalised.add(run.id)
    if runs:
        state.opened_through_run_id = runs[-1].id
    return [run.id for run in runs], finalised


def _new_version(
    session: Session,
    mid: int,
    run_id: int,
    joined: list[Decision],
    labels: LabelsConfig,
    class_id: Callable[[object], int | None],
    now: datetime,
) -> set[int]:
    """The run's quality recomputed on every label it has now; {run_id} when it is final."""
    run = session.get(RunRow, run_id)
    assert run is not None
    labelled, metrics = window_quality(logged_window(session, run_id), class_id)
    lags = [((d.label.observed_at or now) - run.window_end) / timedelta(seconds=1) for d in joined]
    coverage = labelled / run.rows if run.rows else 0.0
    reason = _final_reason(coverage, run.window_end, labels, now)
    update = QualityUpdate(
        run_id, run.rows, labelled, metrics, reason, len(joined), statistics.median(lags)
    )
    add_version(session, mid, update, now)
    return {run_id} if reason is not None else set()


def window_quality(
    logged: LoggedWindow, class_id: Callable[[object], int | None]
) -> tuple[int, dict[str, float]]:
    """How many of a window's rows carry a label, and the quality on those rows."""
    found = [None if target is None else class_id(target) for target in logged.targets]
    ids = np.array([-1 if class_id_ is None else class_id_ for class_id_ in found], dtype=int)
    labelled = ids >= 0
    if not labelled.any():
        return 0, {}
    probabilities = None if logged.probabilities is None else logged.probabilities[labelled]
    quality = classification_quality(ids[labelled], logged.predicted_ids[labelled], probabilities)
    return int(labelled.sum()), quality
