"""Bulk reads of one monitor's stored history for the backtest: a few queries per backtest,
whatever the number of windows (a month of 5-minute windows is 8,640 runs).

Read only: the daemon's own readers (`monitor.store.alerts`) read one rule's runs since its
last evaluation; these read every run of a time range at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from monitor.records.results import FAMILY_TEST
from monitor.store.alerts import metric_key
from monitor.store.quality import version_value
from monitor.store.schema import (
    LabelStateRow,
    MetricValueRow,
    MonitorRow,
    QualityVersionRow,
    RunRow,
)

#: a query of any columns (the helpers below add conditions whatever it selects)
AnySelect = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class StoredRun:
    """One recorded window: its run id, bounds and whether it measured anything."""

    run_id: int
    window_start: datetime
    window_end: datetime
    ok: bool


@dataclass(frozen=True)
class LatestQuality:
    """A run's latest quality version: its numbers and whether they are final."""

    final: bool
    labelled_rows: int
    coverage: float
    metrics: dict[str, float]

    def value(self, metric: str) -> float | None:
        return version_value(self, metric)


def find_monitor(session: Session, name: str) -> int | None:
    return session.scalar(select(MonitorRow.id).where(MonitorRow.name == name))


def _in_range(
    query: AnySelect, mid: int, start: datetime | None, end: datetime | None
) -> AnySelect:
    query = query.where(RunRow.monitor_id == mid)
    if start is not None:
        query = query.where(RunRow.window_end > start)
    if end is not None:
        query = query.where(RunRow.window_end <= end)
    return query


def stored_runs(
    session: Session, mid: int, start: datetime | None, end: datetime | None
) -> list[StoredRun]:
    """The monitor's runs whose window ended in `(start, end]`, in run order (the order the
    daemon evaluated them in)."""
    query = select(RunRow.id, RunRow.window_start, RunRow.window_end, RunRow.status)
    query = _in_range(query, mid, start, end).order_by(RunRow.id)
    return [
        StoredRun(run_id, window_start, window_end, status == "ok")
        for run_id, window_start, window_end, status in session.connection().execute(query).all()
    ]


def recorded_values(
    session: Session, mid: int, metrics: set[str], start: datetime | None, end: datetime | None
) -> dict[str, dict[int, float]]:
    """Each rule metric's value by run, as the run recorded it (missing: not measured).

    One row per run, the metrics pivoted in SQL: a month of windows is 8,640 rows to
    read, not 8,640 for each metric."""
    ordered = sorted(metrics)
    found: dict[str, dict[int, float]] = {metric: {} for metric in ordered}
    if not ordered:
        return found
    keys = [metric_key(metric) for metric in ordered]
    columns = [
        func.max(
            case(
                (
                    and_(MetricValueRow.name == name, MetricValueRow.feature == feature),
                    MetricValueRow.value,
                )
            )
        )
        for name, feature in keys
    ]
    query = select(MetricValueRow.run_id, *columns).join(RunRow, RunRow.id == MetricValueRow.run_id)
    query = _in_range(query, mid, start, end).where(
        MetricValueRow.name.in_(sorted({name for name, _ in keys}))
    )
    targets = [found[metric] for metric in ordered]
    for row in session.connection().execute(query.group_by(MetricValueRow.run_id)).all():
        run_id: int = row[0]
        value: float | None
        for target, value in zip(targets, row[1:], strict=True):
            if value is not None:
                target[run_id] = value
    return found


def latest_quality(
    session: Session, mid: int, start: datetime | None, end: datetime | None
) -> dict[int, LatestQuality]:
    """Each run's latest quality version (runs without one are left out)."""
    query = select(
        QualityVersionRow.run_id,
        QualityVersionRow.final,
        QualityVersionRow.labelled_rows,
        QualityVersionRow.coverage,
        QualityVersionRow.metrics,
    ).join(
        RunRow,
        and_(RunRow.id == QualityVersionRow.run_id, QualityVersionRow.latest.is_(True)),
    )
    query = _in_range(query, mid, start, end)
    found: dict[int, LatestQuality] = {}
    for run_id, final, labelled, coverage, metrics in session.connection().execute(query).all():
        found[run_id] = LatestQuality(bool(final), labelled, coverage or 0.0, dict(metrics or {}))
    return found


def late_frontier(session: Session, mid: int) -> int | None:
    """The last run the daemon's late rules have evaluated: the run before the first window
    whose quality is still open, else the last run opened for labels (None: no labels state,
    so the late rules have seen nothing)."""
    opened = session.scalar(
        select(LabelStateRow.opened_through_run_id).where(LabelStateRow.monitor_id == mid)
    )
    if opened is None:
        return None
    first_open = session.scalar(
        select(func.min(QualityVersionRow.run_id)).where(
            QualityVersionRow.monitor_id == mid,
            QualityVersionRow.latest.is_(True),
            QualityVersionRow.final.is_(False),
        )
    )
    return int(opened) if first_open is None else int(first_open) - 1


def family_p_values(
    session: Session,
    mid: int,
    start: datetime | None,
    end: datetime | None,
    stored: dict[int, float],
) -> dict[int, float]:
    """Each run's drift-family p-value: `dataset_drift` is 1 exactly when it is at or below
    `drift.alpha`. It is the run's recorded `dataset_drift_p_value` (`stored`: the combined
    min-p test's for text models, Holm's adjusted one for tabular models); a run recorded
    before that metric existed falls back to Holm over its stored family tests (the
    smallest test's p-value times the number of tests, capped at 1), which is what such a
    run's flag was decided by."""
    query = select(
        MetricValueRow.run_id, func.min(MetricValueRow.p_value), func.count(MetricValueRow.id)
    ).join(RunRow, RunRow.id == MetricValueRow.run_id)
    query = _in_range(query, mid, start, end).where(
        MetricValueRow.name == FAMILY_TEST, MetricValueRow.p_value.is_not(None)
    )
    found = dict(stored)
    grouped = session.connection().execute(query.group_by(MetricValueRow.run_id)).all()
    for run_id, smallest, count in grouped:
        found.setdefault(run_id, min(1.0, count * float(smallest or 0.0)))
    return found
