"""Quality versions: each change late labels make to a window's quality is a new version,
and the latest is what `runs`, the exporter and the rules read. Drift is never versioned.

A run without versions (a monitor without a labels source, or a window that was past the
labels horizon when labels were first configured) keeps the quality it was recorded with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.schema import (
    MetricValueRow,
    PredictionRow,
    QualityVersionRow,
    RunRow,
)

_CHUNK = 500
#: the run metrics a quality version replaces (the catalog's quality metrics and label counts)
VERSIONED = ("accuracy", "precision", "recall", "f1", "roc_auc", "labelled_rows", "label_coverage")


@dataclass(frozen=True)
class QualityUpdate:
    """A new version of a run's quality (the store numbers it and keeps the previous one)."""

    run_id: int
    rows: int
    labelled_rows: int
    metrics: dict[str, float]
    final_reason: str | None
    new_labels: int = 0
    label_lag_seconds: float | None = None

    @property
    def coverage(self) -> float:
        return self.labelled_rows / self.rows if self.rows else 0.0


def add_version(session: Session, mid: int, update_: QualityUpdate, now: datetime) -> int:
    """Store `update_` as the run's next version, the latest from now on."""
    previous = session.scalar(
        select(QualityVersionRow).where(
            QualityVersionRow.run_id == update_.run_id, QualityVersionRow.latest.is_(True)
        )
    )
    if previous is not None:
        previous.latest = False
    row = QualityVersionRow(
        run_id=update_.run_id,
        monitor_id=mid,
        version=1 if previous is None else previous.version + 1,
        latest=True,
        final=update_.final_reason is not None,
        final_reason=update_.final_reason,
        rows=update_.rows,
        labelled_rows=update_.labelled_rows,
        coverage=update_.coverage,
        new_labels=update_.new_labels,
        label_lag_seconds=update_.label_lag_seconds,
        metrics=dict(update_.metrics),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row.version


def open_versions(session: Session, mid: int) -> list[tuple[QualityVersionRow, datetime]]:
    """The latest versions that are not final yet, with their window's end, in run order."""
    rows = session.execute(
        select(QualityVersionRow, RunRow.window_end)
        .join(RunRow, RunRow.id == QualityVersionRow.run_id)
        .where(
            QualityVersionRow.monitor_id == mid,
            QualityVersionRow.latest.is_(True),
            QualityVersionRow.final.is_(False),
        )
        .order_by(QualityVersionRow.run_id)
    )
    return [(version, end) for version, end in rows]


def runs_to_open(session: Session, mid: int, after_run_id: int) -> list[RunRow]:
    """The monitor's successful runs recorded after `after_run_id`, in order."""
    return list(
        session.scalars(
            select(RunRow)
            .where(RunRow.monitor_id == mid, RunRow.id > after_run_id, RunRow.status == "ok")
            .order_by(RunRow.id)
        )
    )


def recorded_quality(session: Session, run_ids: Sequence[int]) -> dict[int, dict[str, float]]:
    """The versioned metrics as each run recorded them (its window's own labels)."""
    found: dict[int, dict[str, float]] = {}
    ids = list(run_ids)
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(MetricValueRow.run_id, MetricValueRow.name, MetricValueRow.value).where(
                MetricValueRow.run_id.in_(ids[start : start + _CHUNK]),
                MetricValueRow.name.in_(VERSIONED),
                MetricValueRow.feature == "",
            )
        )
        for run_id, name, value in rows:
            if value is not None:
                found.setdefault(run_id, {})[name] = value
    return found


@dataclass(frozen=True)
class LoggedWindow:
    """A run's prediction log as quality needs it: predictions, probabilities, labels."""

    predicted_ids: np.ndarray
    probabilities: np.ndarray | None
    targets: list[str | None]
    labelled_at: list[datetime | None]
    observed_at: list[datetime | None]


def logged_window(session: Session, run_id: int) -> LoggedWindow:
    rows = session.execute(
        select(
            PredictionRow.predicted_id,
            PredictionRow.probabilities,
            PredictionRow.target,
            PredictionRow.labelled_at,
            PredictionRow.label_observed_at,
        )
        .where(PredictionRow.run_id == run_id)
        .order_by(PredictionRow.position)
    ).all()
    probabilities = [row[1] for row in rows]
    return LoggedWindow(
        np.array([row[0] for row in rows], dtype=int),
        None if not rows or any(p is None for p in probabilities) else np.array(probabilities),
        [row[2] for row in rows],
        [row[3] for row in rows],
        [row[4] for row in rows],
    )


def latest_versions(session: Session, run_ids: Sequence[int]) -> dict[int, QualityVersionRow]:
    """The latest quality version of each run that has one."""
    found: dict[int, QualityVersionRow] = {}
    ids = list(run_ids)
    for start in range(0, len(ids), _CHUNK):
        for row in session.scalars(
            select(QualityVersionRow).where(
                QualityVersionRow.run_id.in_(ids[start : start + _CHUNK]),
                QualityVersionRow.latest.is_(True),
            )
        ):
            found[row.run_id] = row
    return found


def versions_of(session: Session, run_id: int) -> list[QualityVersionRow]:
    """Every quality version of a run, oldest first."""
    return list(
        session.scalars(
            select(QualityVersionRow)
            .where(QualityVersionRow.run_id == run_id)
            .order_by(QualityVersionRow.version)
        )
    )


def finalise(session: Session, version: QualityVersionRow, reason: str, now: datetime) -> None:
    """A new final version with the same numbers (the horizon passed without new labels)."""
    add_version(
        session,
        version.monitor_id,
        QualityUpdate(
            version.run_id, version.rows, version.labelled_rows, dict(version.metrics), reason
        ),
        now,
    )


class Versioned(Protocol):
    """The numbers a quality version holds (a stored row, or the exporter's plain read)."""

    @property
    def labelled_rows(self) -> int: ...

    @property
    def coverage(self) -> float: ...

    @property
    def metrics(self) -> dict[str, float]: ...


def version_value(version: Versioned, metric: str) -> float | None:
    """A versioned run metric's value in `version` (None: not measured)."""
    if metric == "labelled_rows":
        return float(version.labelled_rows)
    if metric == "label_coverage":
        return float(version.coverage)
    value = version.metrics.get(metric)
    return None if value is None else float(value)
