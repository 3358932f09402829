"""Read-only queries behind the Prometheus exporter: new runs, latest values, alert rule
states, hook attempts and late-label quality, on the tables the migrations create
(`monitor.store.schema`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from monitor.store.schema import (
    LabelStateRow,
    MetricValueRow,
    MonitorRow,
    QualityVersionRow,
    QuarantinedRow,
    RunRow,
)
from monitor.store.schema_operations import AlertStateRow, HookAttemptRow, RetrainDecisionRow

FIRING = "firing"  # AlertStateRow.state of a firing rule (monitor.alerts.rules.FIRING)

_CHUNK = 500
# A Connection is cheaper than a Session for a scrape's few plain reads; both work.
Reader = Connection | Session


@dataclass(frozen=True)
class RunFacts:
    """The columns of a run the exporter folds into counters and histograms."""

    run_id: int
    monitor_id: int
    status: str
    rows: int
    quarantined: int
    model_version: str | None
    window_end: datetime
    finished_at: datetime
    stage_seconds: dict[str, float]


@dataclass(frozen=True)
class MetricValue:
    name: str
    feature: str
    value: float | None
    method: str | None
    threshold: float | None
    drifted: bool | None


def monitor_names(session: Reader) -> dict[int, str]:
    return {row.id: row.name for row in session.execute(select(MonitorRow.id, MonitorRow.name))}


# Built once: a scrape runs this every time, and building a statement costs more than
# SQLite takes to answer it.
_RUNS_SINCE = (
    select(
        RunRow.id,
        RunRow.monitor_id,
        RunRow.status,
        RunRow.rows,
        RunRow.quarantined,
        RunRow.model_version,
        RunRow.window_end,
        RunRow.finished_at,
        RunRow.stage_seconds,
    )
    .where(RunRow.id > bindparam("after_id"), RunRow.id.not_in(bindparam("skip", expanding=True)))
    .order_by(RunRow.id)
)


def runs_since(session: Reader, after_id: int, skip: Collection[int] = ()) -> list[RunFacts]:
    """Runs with an id above `after_id` (minus those in `skip`), in id order."""
    rows = session.execute(_RUNS_SINCE, {"after_id": after_id, "skip": list(skip)})
    return [
        RunFacts(
            row.id,
            row.monitor_id,
            row.status,
            row.rows or 0,
            row.quarantined or 0,
            row.model_version,
            row.window_end,
            row.finished_at,
            dict(row.stage_seconds or {}),
        )
        for row in rows
    ]


def metric_values(session: Reader, run_ids: Sequence[int]) -> dict[int, list[MetricValue]]:
    """Every metric value of the given runs, by run id."""
    found: dict[int, list[MetricValue]] = {}
    ids = list(run_ids)
    for start in range(0, len(ids), _CHUNK):
        query = select(
            MetricValueRow.run_id,
            MetricValueRow.name,
            MetricValueRow.feature,
            MetricValueRow.value,
            MetricValueRow.method,
            MetricValueRow.threshold,
            MetricValueRow.drifted,
        ).where(MetricValueRow.run_id.in_(ids[start : start + _CHUNK]))
        for row in session.execute(query.order_by(MetricValueRow.id)):
            found.setdefault(row.run_id, []).append(
                MetricValue(
                    row.name, row.feature, row.value, row.method, row.threshold, row.drifted
                )
            )
    return found


def store_reachable(session: Reader) -> None:
    """Raise (as the session does) unless a trivial query answers."""
    session.execute(select(func.count()).select_from(MonitorRow).limit(1)).scalar()


# ---------------------------------------------------------------- alerts and hook attempts

_ALERT_STATES = select(MonitorRow.name, AlertStateRow.rule, AlertStateRow.state).join(
    MonitorRow, MonitorRow.id == AlertStateRow.monitor_id
)
# `hook_deliveries_total` counts attempts: the audit table has one row per attempt
_ATTEMPT_COUNTS = select(
    HookAttemptRow.monitor, HookAttemptRow.hook, HookAttemptRow.outcome, func.count()
).group_by(HookAttemptRow.monitor, HookAttemptRow.hook, HookAttemptRow.outcome)


_QUARANTINED_FILES = (
    select(MonitorRow.name, func.count())
    .select_from(QuarantinedRow)
    .join(MonitorRow, MonitorRow.id == QuarantinedRow.monitor_id)
    .where(QuarantinedRow.kind == "file")
    .group_by(MonitorRow.name)
)


def quarantined_files(session: Reader) -> dict[str, int]:
    """Stream files set aside whole, per monitor name."""
    return {name: int(count) for name, count in session.execute(_QUARANTINED_FILES)}


def alert_states(session: Reader) -> list[tuple[str, str, bool]]:
    """(monitor, rule, firing) for every stored rule state."""
    return [
        (monitor, rule, state == FIRING) for monitor, rule, state in session.execute(_ALERT_STATES)
    ]


def attempt_counts(session: Reader) -> list[tuple[str, str, str, int]]:
    """(monitor, hook, outcome, attempts), sorted; outcomes: delivered, retry, failed."""
    rows = session.execute(_ATTEMPT_COUNTS)
    return sorted((monitor, hook, outcome, int(count)) for monitor, hook, outcome, count in rows)


_RETRAIN_DECISIONS = (
    select(MonitorRow.name, RetrainDecisionRow.promoted, func.count())
    .join(MonitorRow, MonitorRow.id == RetrainDecisionRow.monitor_id)
    .group_by(MonitorRow.name, RetrainDecisionRow.promoted)
)


def retrain_decision_counts(session: Reader) -> dict[tuple[str, str], int]:
    """(monitor, "promoted" or "rejected") -> how many retrains decided so."""
    return {
        (monitor, "promoted" if promoted else "rejected"): int(count)
        for monitor, promoted, count in session.execute(_RETRAIN_DECISIONS)
    }


# ---------------------------------------------------------------- late labels and quality versions


@dataclass(frozen=True)
class FinalQuality:
    """The latest final window's quality, as the exporter shows it."""

    labelled_rows: int
    coverage: float
    metrics: dict[str, float]
    window_end: datetime


@dataclass(frozen=True)
class MonitorQuality:
    """A monitor's late-label picture: its latest final window's quality, the windows still
    open, the lag of the newest labels, and how many label rows each outcome had."""

    final: FinalQuality | None
    open_windows: int
    label_lag_seconds: float | None
    counts: dict[str, int]


def monitor_quality(session: Session | Connection) -> dict[str, MonitorQuality]:
    """Per monitor with a labels state (a `labels:` source), by name."""
    names = dict(
        session.execute(
            select(LabelStateRow.monitor_id, MonitorRow.name).join(
                MonitorRow, MonitorRow.id == LabelStateRow.monitor_id
            )
        ).all()
    )
    counts = dict(session.execute(select(LabelStateRow.monitor_id, LabelStateRow.counts)).all())
    found: dict[str, MonitorQuality] = {}
    for mid, name in names.items():
        latest = QualityVersionRow.latest.is_(True)
        final = session.execute(
            select(
                QualityVersionRow.labelled_rows,
                QualityVersionRow.coverage,
                QualityVersionRow.metrics,
                RunRow.window_end,
            )
            .join(RunRow, RunRow.id == QualityVersionRow.run_id)
            .where(QualityVersionRow.monitor_id == mid, latest, QualityVersionRow.final.is_(True))
            .order_by(QualityVersionRow.run_id.desc())
            .limit(1)
        ).first()
        open_count = len(
            session.execute(
                select(QualityVersionRow.id).where(
                    QualityVersionRow.monitor_id == mid, latest, QualityVersionRow.final.is_(False)
                )
            ).all()
        )
        lag = session.scalar(
            select(QualityVersionRow.label_lag_seconds)
            .where(QualityVersionRow.monitor_id == mid, QualityVersionRow.new_labels > 0)
            .order_by(QualityVersionRow.id.desc())
            .limit(1)
        )
        found[name] = MonitorQuality(
            None if final is None else FinalQuality(final[0], final[1] or 0.0, final[2], final[3]),
            open_count,
            lag,
            dict(counts.get(mid) or {}),
        )
    return found
