"""Reads of recorded runs: their metric values, drift tests, predictions and quarantine.

The writes are `monitor.store.repository`'s; these read what one cycle recorded, for
`runs`, `report`, the views and the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.store.quality import latest_versions
from monitor.store.schema import (
    MetricValueRow,
    MonitorRow,
    PredictionRow,
    QualityVersionRow,
    QuarantinedRow,
    RunRow,
    RunSnapshotRow,
)

_CHUNK = 500  # run ids per IN (...): SQLite caps bound parameters per statement


@dataclass(frozen=True)
class StoredRun:
    """A run row, its monitor's name, its metric values in insertion order, and the latest
    version of its quality where late labels gave it versions."""

    run: RunRow
    monitor: str
    values: list[MetricValueRow]
    quality: QualityVersionRow | None = None


def stored_runs(
    session: Session,
    monitor: str | None = None,
    limit: int | None = None,
    run_ids: Sequence[int] | None = None,
) -> list[StoredRun]:
    """Runs with their metric values, oldest first (the newest `limit` when given)."""
    query = select(RunRow, MonitorRow.name).join(MonitorRow, MonitorRow.id == RunRow.monitor_id)
    if monitor is not None:
        query = query.where(MonitorRow.name == monitor)
    if run_ids is not None:
        query = query.where(RunRow.id.in_(list(run_ids)))
    query = query.order_by(RunRow.id.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = list(reversed(session.execute(query).all()))
    values: dict[int, list[MetricValueRow]] = {}
    ids = [run.id for run, _ in rows]
    for start in range(0, len(ids), _CHUNK):
        for value in session.scalars(
            select(MetricValueRow)
            .where(MetricValueRow.run_id.in_(ids[start : start + _CHUNK]))
            .order_by(MetricValueRow.id)  # insertion order: the same on every backend
        ):
            values.setdefault(value.run_id, []).append(value)
    versions = latest_versions(session, ids)
    return [
        StoredRun(run, name, values.get(run.id, []), versions.get(run.id)) for run, name in rows
    ]


def drift_details(session: Session, run_id: int) -> list[MetricValueRow]:
    """Every drift test of a run (features, prediction, embedding)."""
    return list(
        session.scalars(
            select(MetricValueRow)
            .where(MetricValueRow.run_id == run_id, MetricValueRow.method.is_not(None))
            .order_by(MetricValueRow.id)
        )
    )


def snapshot(session: Session, run_id: int) -> bytes | None:
    """The Evidently snapshot a run stored before reports were built on demand."""
    row = session.get(RunSnapshotRow, run_id)
    return None if row is None else row.body


def run_exists(session: Session, run_id: int) -> bool:
    return session.get(RunRow, run_id) is not None


def predictions(session: Session, run_id: int) -> list[PredictionRow]:
    return list(
        session.scalars(
            select(PredictionRow)
            .where(PredictionRow.run_id == run_id)
            .order_by(PredictionRow.position)
        )
    )


def quarantined_count(session: Session, monitor: str) -> int:
    return int(
        session.scalar(
            select(func.count(QuarantinedRow.id)).join(MonitorRow).where(MonitorRow.name == monitor)
        )
        or 0
    )
