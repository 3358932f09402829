"""Read-only queries behind the Prometheus exporter: new runs, latest values, alert and hook state.

The alert-state and hook-delivery tables belong to later migrations; their readers find them
by reflection and return None while a store does not have them.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, Table, bindparam, func, inspect, select
from sqlalchemy.orm import Session

from monitor.store.schema import MetricValueRow, MonitorRow, RunRow

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


# ---------------------------------------------------------------- optional tables


@dataclass(frozen=True)
class _Shape:
    """A table found by reflection, the columns that play each role in it, and the query."""

    table: Table
    monitor: str  # a monitor id (joined to `monitors`) or a monitor name column
    by_id: bool
    key: str  # rule name, or hook name
    state: str  # rule state, or delivery outcome
    query: Any = None


_ALERT_TABLES = ("alert_states", "alert_rule_states", "alert_state", "rule_states")
# `hook_deliveries_total` counts attempts: the audit table has one row per attempt; an
# outbox table (one row per delivery, no monitor column) is passed over.
_DELIVERY_TABLES = ("hook_attempts", "hook_delivery_attempts", "delivery_attempts")
_RULE_COLUMNS = ("rule", "rule_name", "name")
_HOOK_COLUMNS = ("hook", "hook_name")
_STATE_COLUMNS = ("state", "status")
_OUTCOME_COLUMNS = ("outcome", "status", "state")
# Stored delivery statuses as the exporter's `outcome` label (DESIGN: delivered|retry|failed).
_OUTCOMES = {
    "delivered": "delivered",
    "ok": "delivered",
    "success": "delivered",
    "succeeded": "delivered",
    "retry": "retry",
    "retrying": "retry",
    "error": "retry",
    "failed": "failed",
    "gave_up": "failed",
    "dead": "failed",
}


def _pick(columns: Collection[str], candidates: Sequence[str]) -> str | None:
    return next((name for name in candidates if name in columns), None)


class OptionalTables:
    """Finds the alert-state and hook-delivery tables when a store has them.

    A table that is absent is looked for again at most every `recheck_s` seconds, so a
    scrape does not reflect the schema each time; a found table is kept.
    """

    def __init__(self, engine: Engine, recheck_s: float = 60.0) -> None:
        self.engine = engine
        self.recheck_s = recheck_s
        self._alerts: _Shape | None = None
        self._deliveries: _Shape | None = None
        self._checked_at = -float("inf")

    def _refresh(self) -> None:
        if (self._alerts and self._deliveries) or (
            time.monotonic() - self._checked_at < self.recheck_s
        ):
            return
        self._checked_at = time.monotonic()
        names = set(inspect(self.engine).get_table_names())
        if self._alerts is None:
            shape = self._shape(names, _ALERT_TABLES, _RULE_COLUMNS, _STATE_COLUMNS)
            self._alerts = shape and replace(shape, query=self._alert_query(shape))
        if self._deliveries is None:
            shape = self._shape(names, _DELIVERY_TABLES, _HOOK_COLUMNS, _OUTCOME_COLUMNS)
            self._deliveries = shape and replace(shape, query=self._delivery_query(shape))

    def _shape(
        self, names: set[str], tables: Sequence[str], keys: Sequence[str], states: Sequence[str]
    ) -> _Shape | None:
        for name in tables:
            if name not in names:
                continue
            table = Table(name, MetaData(), autoload_with=self.engine)
            columns = set(table.c.keys())
            monitor = _pick(columns, ("monitor_id", "monitor"))
            key = _pick(columns, keys)
            state = _pick(columns, [s for s in states if s != key])
            if monitor and key and state:
                return _Shape(table, monitor, monitor == "monitor_id", key, state)
        return None

    def _alert_query(self, shape: _Shape) -> Any:
        return self._select(shape, shape.table.c[shape.state])

    def _delivery_query(self, shape: _Shape) -> Any:
        monitor, key, status = self._columns(shape)
        return self._select(shape, status, func.count()).group_by(monitor, key, status)

    def alert_states(self, session: Reader) -> list[tuple[str, str, bool]] | None:
        """(monitor, rule, firing) per stored rule state; None without an alert-state table."""
        self._refresh()
        shape = self._alerts
        if shape is None:
            return None
        rows = session.execute(shape.query)
        return [(monitor, str(key), str(state) == "firing") for monitor, key, state in rows]

    def delivery_counts(self, session: Reader) -> list[tuple[str, str, str, int]] | None:
        """(monitor, hook, outcome, attempts); None without a hook-delivery table."""
        self._refresh()
        shape = self._deliveries
        if shape is None:
            return None
        rows = session.execute(shape.query)
        counts: dict[tuple[str, str, str], int] = {}
        for monitor, hook, outcome, count in rows:
            label = _OUTCOMES.get(str(outcome).lower(), str(outcome).lower())
            key = (monitor, str(hook), label)
            counts[key] = counts.get(key, 0) + int(count)
        return [(*key, count) for key, count in sorted(counts.items())]

    @staticmethod
    def _columns(shape: _Shape) -> tuple[Any, Any, Any]:
        """The monitor-name, key and state columns of a shape."""
        table = shape.table
        monitor = MonitorRow.name if shape.by_id else table.c[shape.monitor]
        return monitor, table.c[shape.key], table.c[shape.state]

    def _select(self, shape: _Shape, *extra: Any) -> Any:
        monitor, key, _ = self._columns(shape)
        query = select(monitor, key, *extra).select_from(shape.table)
        if shape.by_id:
            query = query.join(MonitorRow, MonitorRow.id == shape.table.c[shape.monitor])
        return query
