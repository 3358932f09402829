"""Reads and writes of late labels: the labels source's state, the predictions labels join,
and the labels set aside. The caller (the cycle's label join) owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from monitor.errors import StoreError
from monitor.records.labels import QUARANTINED, UNKNOWN_ID, ArrivedLabel, Decision, LoggedPrediction
from monitor.store.schema import (
    LabelStateRow,
    MonitorRow,
    PredictionRow,
    QuarantinedLabelRow,
    RunRow,
)
from monitor.store.schema_types import without_nul

_CHUNK = 500


class LabelsTaken(StoreError):
    """Another process joined this batch of labels first (the position moved meanwhile)."""


def label_state(
    session: Session, mid: int, now: datetime, horizon_start: datetime
) -> LabelStateRow:
    """The monitor's labels state, created at first use: windows that ended before
    `horizon_start` are already final then, and are never opened for late labels."""
    state = session.get(LabelStateRow, mid)
    if state is None:
        past = session.scalar(
            select(func.max(RunRow.id)).where(
                RunRow.monitor_id == mid, RunRow.window_end <= horizon_start
            )
        )
        state = LabelStateRow(
            monitor_id=mid,
            position=None,
            opened_through_run_id=past or 0,
            counts={},
            updated_at=now,
        )
        session.add(state)
        session.flush()
    return state


def label_position(session: Session, monitor: str) -> str | None:
    """Where the monitor's labels source was read up to (None: not yet)."""
    return session.scalar(
        select(LabelStateRow.position)
        .join(MonitorRow, MonitorRow.id == LabelStateRow.monitor_id)
        .where(MonitorRow.name == monitor)
    )


def move_position(
    session: Session, state: LabelStateRow, after: str | None, position: str, now: datetime
) -> None:
    """Compare and set the labels position, from `after` to `position`, or `LabelsTaken`."""
    moved = session.execute(
        update(LabelStateRow)
        .where(
            LabelStateRow.monitor_id == state.monitor_id,
            LabelStateRow.position.is_(None) if after is None else LabelStateRow.position == after,
        )
        .values(position=position, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise LabelsTaken("its position moved since it was read; this batch is not stored")
    session.refresh(state)


def count_outcomes(state: LabelStateRow, outcomes: Iterable[str]) -> None:
    counts = dict(state.counts or {})
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    state.counts = counts  # a new dict: JSON columns track assignment, not mutation


def logged_predictions(
    session: Session, mid: int, row_ids: Sequence[str], open_runs: set[int]
) -> dict[str, list[LoggedPrediction]]:
    """The monitor's predictions with these row ids; a run not in `open_runs` is final."""
    ids = sorted({without_nul(r) for r in row_ids})
    found: dict[str, list[LoggedPrediction]] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(
                PredictionRow.id, PredictionRow.run_id, PredictionRow.row_id, PredictionRow.target
            )
            .join(RunRow, RunRow.id == PredictionRow.run_id)
            .where(RunRow.monitor_id == mid, PredictionRow.row_id.in_(ids[start : start + _CHUNK]))
        )
        for pid, run_id, row_id, target in rows:
            found.setdefault(row_id, []).append(
                LoggedPrediction(pid, run_id, target, run_id not in open_runs)
            )
    return found


def apply_decisions(
    session: Session, mid: int, decisions: Sequence[Decision], now: datetime
) -> None:
    """Write the joined labels into the prediction log and quarantine the others."""
    joined = [
        {
            "id": d.prediction.prediction_id,
            "target": d.name,
            "labelled_at": now,
            "label_observed_at": d.label.observed_at or now,
        }
        for d in decisions
        if d.joins and d.prediction is not None
    ]
    for start in range(0, len(joined), _CHUNK):
        session.execute(update(PredictionRow), joined[start : start + _CHUNK])
    quarantined = [
        QuarantinedLabelRow(
            monitor_id=mid,
            row_id=without_nul(d.label.row_id),
            label=None if d.label.value is None else str(d.label.value),
            observed_at=d.label.observed_at,
            kind=d.outcome,
            reason=d.reason,
            raw=d.label.raw,
            released=False,
            created_at=now,
        )
        for d in decisions
        if d.outcome in QUARANTINED
    ]
    session.add_all(quarantined)


def quarantine_invalid(
    session: Session, mid: int, rows: Iterable[tuple[str, str, dict[str, Any]]], now: datetime
) -> int:
    """Label rows the source could not read (no id, no label, bad timestamp)."""
    added = [
        QuarantinedLabelRow(
            monitor_id=mid,
            row_id=without_nul(row_id),
            label=None,
            observed_at=None,
            kind="invalid",
            reason=reason,
            raw=raw,
            released=False,
            created_at=now,
        )
        for row_id, reason, raw in rows
    ]
    session.add_all(added)
    return len(added)


def unknown_labels_scored_in(
    session: Session, mid: int, run_ids: Sequence[int]
) -> list[tuple[QuarantinedLabelRow, ArrivedLabel]]:
    """Labels quarantined for an unknown id whose row one of these runs scored."""
    if not run_ids:
        return []
    found = []
    for start in range(0, len(run_ids), _CHUNK):
        scored = select(PredictionRow.row_id).where(
            PredictionRow.run_id.in_(run_ids[start : start + _CHUNK])
        )
        rows = session.scalars(
            select(QuarantinedLabelRow)
            .where(
                QuarantinedLabelRow.monitor_id == mid,
                QuarantinedLabelRow.kind == UNKNOWN_ID,
                QuarantinedLabelRow.released.is_(False),
                QuarantinedLabelRow.row_id.in_(scored),
            )
            .order_by(QuarantinedLabelRow.id)
        )
        found += [
            (row, ArrivedLabel(row.row_id, row.label, row.observed_at, dict(row.raw or {})))
            for row in rows
        ]
    return found
