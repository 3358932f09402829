"""Reads and writes of alert rule states, the metric history rules read (late quality rules:
each window's final quality version), and alert events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from monitor.records.catalog import FEATURE_METRIC_PREFIX
from monitor.records.results import FEATURE_DRIFT
from monitor.store.quality import version_value
from monitor.store.schema import MetricValueRow, MonitorRow, QualityVersionRow, RunRow
from monitor.store.schema_operations import AlertEventRow, AlertStateRow


@dataclass(frozen=True)
class MetricPoint:
    """One run as a rule sees it: its window and the metric's value (None: not measured);
    on late quality, also how many of its rows were labelled and what share."""

    run_id: int
    window_start: datetime
    window_end: datetime
    value: float | None
    labelled_rows: int | None = None
    label_coverage: float | None = None


def metric_key(metric: str) -> tuple[str, str]:
    """The (name, feature) a rule metric is stored under in `metric_values`."""
    if metric.startswith(FEATURE_METRIC_PREFIX):
        return FEATURE_DRIFT, metric.removeprefix(FEATURE_METRIC_PREFIX)
    return metric, ""


def metric_history(
    session: Session,
    monitor_id: int,
    metric: str,
    *,
    after_run_id: int | None,
    up_to_run_id: int,
    limit: int,
) -> list[MetricPoint]:
    """The monitor's runs in `(after_run_id, up_to_run_id]`, oldest first, newest `limit`.

    Failed runs are included with `value=None`: they measured nothing.
    """
    name, feature = metric_key(metric)
    query = (
        select(
            RunRow.id, RunRow.window_start, RunRow.window_end, RunRow.status, MetricValueRow.value
        )
        .outerjoin(
            MetricValueRow,
            and_(
                MetricValueRow.run_id == RunRow.id,
                MetricValueRow.name == name,
                MetricValueRow.feature == feature,
            ),
        )
        .where(RunRow.monitor_id == monitor_id, RunRow.id <= up_to_run_id)
        .order_by(RunRow.id.desc())
        .limit(limit)
    )
    if after_run_id is not None:
        query = query.where(RunRow.id > after_run_id)
    points = [
        MetricPoint(run_id, start, end, value if status == "ok" else None)
        for run_id, start, end, status, value in session.execute(query)
    ]
    return points[::-1]


def rule_states(session: Session, monitor_id: int) -> dict[str, AlertStateRow]:
    rows = session.scalars(select(AlertStateRow).where(AlertStateRow.monitor_id == monitor_id))
    return {row.rule: row for row in rows}


def forget_rules(session: Session, monitor_id: int, keep: set[str]) -> None:
    """Drop the states of rules no longer in the config, so no stale `alert_firing` stays."""
    query = delete(AlertStateRow).where(AlertStateRow.monitor_id == monitor_id)
    if keep:
        query = query.where(AlertStateRow.rule.not_in(sorted(keep)))
    session.execute(query)


def add_event(
    session: Session,
    monitor_id: int,
    rule: str,
    state: str,
    episode: int,
    run_id: int,
    payload: dict[str, Any],
    now: datetime,
) -> int:
    row = AlertEventRow(
        monitor_id=monitor_id,
        rule=rule,
        state=state,
        episode=episode,
        run_id=run_id,
        payload=payload,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


def alert_states(session: Session, monitor: str | None = None) -> list[dict[str, Any]]:
    """Every stored rule state with its monitor's name (what `alert_firing{rule}` reads)."""
    query = select(AlertStateRow, MonitorRow.name).join(
        MonitorRow, MonitorRow.id == AlertStateRow.monitor_id
    )
    if monitor is not None:
        query = query.where(MonitorRow.name == monitor)
    # sorted here, not in SQL: code-point order whatever collation the database has
    rows = sorted(session.execute(query), key=lambda found: (found[1], found[0].rule))
    return [
        {
            "monitor": name,
            "rule": row.rule,
            "state": row.state,
            "firing": row.state == "firing",
            "episode": row.episode,
            "value": row.value,
            "fired_at": row.fired_at,
            "resolved_at": row.resolved_at,
            "last_run_id": row.last_run_id,
        }
        for row, name in rows
    ]


def alert_events(session: Session, monitor: str | None = None) -> list[AlertEventRow]:
    query = select(AlertEventRow).order_by(AlertEventRow.id)
    if monitor is not None:
        query = query.join(MonitorRow, MonitorRow.id == AlertEventRow.monitor_id).where(
            MonitorRow.name == monitor
        )
    return list(session.scalars(query))


def final_quality_history(
    session: Session,
    mid: int,
    metric: str,
    *,
    after_run_id: int | None,
    up_to_run_id: int,
    limit: int,
) -> list[MetricPoint]:
    """Runs in `(after_run_id, up_to_run_id]` as a rule on late quality sees them: each with
    its latest version's value (final, as the caller only goes up to final windows), or the
    value it was recorded with when it has no version; oldest first, the newest `limit`."""
    query = (
        select(RunRow, QualityVersionRow, MetricValueRow.value)
        .outerjoin(
            QualityVersionRow,
            and_(QualityVersionRow.run_id == RunRow.id, QualityVersionRow.latest.is_(True)),
        )
        .outerjoin(
            MetricValueRow,
            and_(
                MetricValueRow.run_id == RunRow.id,
                MetricValueRow.name == metric,
                MetricValueRow.feature == "",
            ),
        )
        .where(RunRow.monitor_id == mid, RunRow.id <= up_to_run_id)
        .order_by(RunRow.id.desc())
        .limit(limit)
    )
    if after_run_id is not None:
        query = query.where(RunRow.id > after_run_id)
    points = []
    for run, version, recorded in session.execute(query):
        value = recorded if version is None else version_value(version, metric)
        labelled = None if version is None else version.labelled_rows
        coverage = None if version is None else version.coverage
        points.append(
            MetricPoint(
                run.id,
                run.window_start,
                run.window_end,
                value if run.status == "ok" else None,
                labelled,
                coverage,
            )
        )
    return points[::-1]
