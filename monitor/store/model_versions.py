"""Reads and writes of model versions (which head is live), retrain decisions, and the
labelled prediction log a retrain learns from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.store.repository import monitor_id
from monitor.store.schema import MonitorRow, PredictionRow, RunRow
from monitor.store.schema_operations import ModelVersionRow, RetrainDecisionRow


@dataclass(frozen=True)
class LabelledRow:
    run_id: int
    position: int
    text: str
    target: str


def labelled_rows(session: Session, monitor: str, windows: int) -> list[LabelledRow]:
    """The labelled, text-bearing predictions of the newest `windows` ok runs, oldest first."""
    run_ids = list(
        session.scalars(
            select(RunRow.id)
            .join(MonitorRow, MonitorRow.id == RunRow.monitor_id)
            .where(MonitorRow.name == monitor, RunRow.status == "ok")
            .order_by(RunRow.id.desc())
            .limit(windows)
        )
    )
    if not run_ids:
        return []
    query = (
        select(
            PredictionRow.run_id, PredictionRow.position, PredictionRow.text, PredictionRow.target
        )
        .where(
            PredictionRow.run_id.in_(run_ids),
            PredictionRow.target.is_not(None),
            PredictionRow.text.is_not(None),
        )
        .order_by(PredictionRow.run_id, PredictionRow.position)
    )
    return [LabelledRow(r, p, t or "", g or "") for r, p, t, g in session.execute(query)]


def versions(session: Session, monitor: str) -> list[ModelVersionRow]:
    return list(
        session.scalars(
            select(ModelVersionRow)
            .join(MonitorRow, MonitorRow.id == ModelVersionRow.monitor_id)
            .where(MonitorRow.name == monitor)
            .order_by(ModelVersionRow.id)
        )
    )


def live_version(session: Session, monitor: str) -> ModelVersionRow | None:
    return next((row for row in versions(session, monitor) if row.live), None)


def add_version(
    session: Session,
    monitor: str,
    version: str,
    path: str,
    source: str,
    now: datetime,
    metrics: dict[str, Any] | None = None,
    sha256: str | None = None,
) -> ModelVersionRow:
    """Register a head (a no-op when the version is known); it is not made live here.

    `sha256` is the hash of its files now; a cycle checks them against it before scoring.
    """
    mid = monitor_id(session, monitor, now)
    found = session.scalar(
        select(ModelVersionRow).where(
            ModelVersionRow.monitor_id == mid, ModelVersionRow.version == version
        )
    )
    if found is not None:
        return found
    row = ModelVersionRow(
        monitor_id=mid,
        version=version,
        path=path,
        source=source,
        live=False,
        metrics=metrics or {},
        created_at=now,
        sha256=sha256,
    )
    session.add(row)
    session.flush()
    return row


def set_live(session: Session, monitor: str, version: str, now: datetime) -> bool:
    """Make `version` the monitor's only live head; False when the version is unknown."""
    rows = versions(session, monitor)
    target = next((row for row in rows if row.version == version), None)
    if target is None:
        return False
    session.execute(
        update(ModelVersionRow)
        .where(ModelVersionRow.monitor_id == target.monitor_id, ModelVersionRow.id != target.id)
        .values(live=False)
        .execution_options(synchronize_session="fetch")
    )
    target.live = True
    target.promoted_at = now
    session.flush()
    return True


def record_decision(session: Session, monitor: str, now: datetime, **fields: Any) -> int:
    row = RetrainDecisionRow(monitor_id=monitor_id(session, monitor, now), created_at=now, **fields)
    session.add(row)
    session.flush()
    return row.id


def decisions(session: Session, monitor: str) -> list[RetrainDecisionRow]:
    return list(
        session.scalars(
            select(RetrainDecisionRow)
            .join(MonitorRow, MonitorRow.id == RetrainDecisionRow.monitor_id)
            .where(MonitorRow.name == monitor)
            .order_by(RetrainDecisionRow.id)
        )
    )


@dataclass(frozen=True)
class ScoredLabel:
    """A labelled prediction of a stored window: what the live version predicted, and the truth."""

    run_id: int
    model_version: str | None
    text: str
    predicted: str
    target: str


def newest_run_id(session: Session, monitor: str) -> int:
    """The id of the monitor's newest run (0: none yet)."""
    found = session.scalar(
        select(RunRow.id)
        .join(MonitorRow, MonitorRow.id == RunRow.monitor_id)
        .where(MonitorRow.name == monitor)
        .order_by(RunRow.id.desc())
        .limit(1)
    )
    return int(found or 0)


def labelled_after(session: Session, monitor: str, after_run: int) -> list[ScoredLabel]:
    """The labelled, text-bearing predictions of the monitor's ok runs after `after_run`."""
    query = (
        select(
            PredictionRow.run_id,
            RunRow.model_version,
            PredictionRow.text,
            PredictionRow.predicted_name,
            PredictionRow.target,
        )
        .join(RunRow, RunRow.id == PredictionRow.run_id)
        .join(MonitorRow, MonitorRow.id == RunRow.monitor_id)
        .where(
            MonitorRow.name == monitor,
            RunRow.status == "ok",
            RunRow.id > after_run,
            PredictionRow.target.is_not(None),
            PredictionRow.text.is_not(None),
        )
        .order_by(PredictionRow.run_id, PredictionRow.position)
    )
    return [ScoredLabel(r, v, t or "", p, g or "") for r, v, t, p, g in session.execute(query)]


def update_metrics(session: Session, monitor: str, version: str, changes: dict[str, Any]) -> None:
    """Merge `changes` into a registered version's metrics (a shadow candidate's state)."""
    row = next((r for r in versions(session, monitor) if r.version == version), None)
    if row is not None:
        row.metrics = {**(row.metrics or {}), **changes}
        session.flush()
