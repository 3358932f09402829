"""Per monitor, what `driftwarden status` needs from the store: the last run, the rules
firing and the hook deliveries still pending or given up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.store.schema import MonitorRow, QuarantinedRow, RunRow
from monitor.store.schema_operations import AlertEventRow, AlertStateRow, HookDeliveryRow

FIRING = "firing"


@dataclass
class StoredStatus:
    """One monitor as the store sees it."""

    name: str
    last_run_id: int | None = None
    last_finished_at: datetime | None = None
    firing: list[str] = field(default_factory=list)
    deliveries: dict[str, int] = field(default_factory=dict)  # outbox status -> count
    #: the stream files set aside whole (quarantined rows of kind `file`): name -> when
    set_aside: dict[str, datetime] = field(default_factory=dict)


def stored_statuses(session: Session) -> dict[str, StoredStatus]:
    """Every monitor the store knows, by name."""
    ids = {mid: name for mid, name in session.execute(select(MonitorRow.id, MonitorRow.name))}
    statuses = {name: StoredStatus(name) for name in ids.values()}
    last = (
        select(RunRow.monitor_id, func.max(RunRow.id).label("run_id"))
        .group_by(RunRow.monitor_id)
        .subquery()
    )
    for mid, run_id, finished in session.execute(
        select(RunRow.monitor_id, RunRow.id, RunRow.finished_at).join(
            last, last.c.run_id == RunRow.id
        )
    ):
        statuses[ids[mid]].last_run_id = run_id
        statuses[ids[mid]].last_finished_at = finished
    for mid, rule in session.execute(
        select(AlertStateRow.monitor_id, AlertStateRow.rule)
        .where(AlertStateRow.state == FIRING)
        .order_by(AlertStateRow.rule)
    ):
        statuses[ids[mid]].firing.append(rule)
    for mid, status, count in session.execute(
        select(AlertEventRow.monitor_id, HookDeliveryRow.status, func.count())
        .join(AlertEventRow, AlertEventRow.id == HookDeliveryRow.event_id)
        .group_by(AlertEventRow.monitor_id, HookDeliveryRow.status)
    ):
        statuses[ids[mid]].deliveries[status] = int(count)
    for mid, name, when in session.execute(
        select(
            QuarantinedRow.monitor_id, QuarantinedRow.row_id, func.max(QuarantinedRow.created_at)
        )
        .where(QuarantinedRow.kind == "file")
        .group_by(QuarantinedRow.monitor_id, QuarantinedRow.row_id)
        .order_by(QuarantinedRow.row_id)
    ):
        statuses[ids[mid]].set_aside[name] = when
    return statuses
