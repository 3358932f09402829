"""The hook outbox (one row per event and hook) and its audit trail (one row per attempt).

Deliveries are claimed with a lease (`locked_until`), so two processes on one store never
run the same attempt, and a process that died mid-attempt frees it when the lease ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session

from monitor.store.schema_operations import AlertEventRow, HookAttemptRow, HookDeliveryRow

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
RETRY = "retry"  # an attempt's outcome only: failed, another attempt is scheduled
OUTCOMES = (DELIVERED, RETRY, FAILED)


@dataclass(frozen=True)
class Delivery:
    """A pending delivery with what an attempt needs: the event payload and the hook's name."""

    delivery_id: str
    hook: str
    attempts: int  # attempts made so far
    next_attempt_at: datetime
    locked_until: datetime | None
    monitor: str
    rule: str
    state: str
    payload: dict[str, Any]

    @property
    def event(self) -> dict[str, Any]:
        """The event as hooks receive it: the stored payload plus this delivery's id."""
        return {**self.payload, "delivery_id": self.delivery_id}


def enqueue(session: Session, event_id: int, hooks: Iterable[str], now: datetime) -> list[str]:
    """One pending delivery per hook, due now; returns their delivery ids."""
    ids = []
    for hook in hooks:
        delivery_id = str(uuid.uuid4())
        session.add(
            HookDeliveryRow(
                delivery_id=delivery_id,
                event_id=event_id,
                hook=hook,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        ids.append(delivery_id)
    session.flush()
    return ids


def pending(
    session: Session, *, due_by: datetime | None = None, unlocked_at: datetime | None = None
) -> list[Delivery]:
    """Pending deliveries, soonest first: due by `due_by`, not leased at `unlocked_at`."""
    query = (
        select(HookDeliveryRow, AlertEventRow.payload, AlertEventRow.rule, AlertEventRow.state)
        .join(AlertEventRow, AlertEventRow.id == HookDeliveryRow.event_id)
        .where(HookDeliveryRow.status == PENDING)
    )
    if due_by is not None:
        query = query.where(HookDeliveryRow.next_attempt_at <= due_by)
    if unlocked_at is not None:
        query = query.where(
            or_(HookDeliveryRow.locked_until.is_(None), HookDeliveryRow.locked_until <= unlocked_at)
        )
    found = list(session.execute(query))
    # sorted here, not in SQL: ties (one event's hooks fall due together) break by hook name
    # in code-point order, whatever collation the database has
    found.sort(key=lambda r: (r[0].next_attempt_at, r[0].created_at, r[0].event_id, r[0].hook))
    return [
        Delivery(
            row.delivery_id,
            row.hook,
            row.attempts,
            row.next_attempt_at,
            row.locked_until,
            str(payload.get("monitor", "")),
            rule,
            state,
            payload,
        )
        for row, payload, rule, state in found
    ]


def claim(session: Session, delivery: Delivery, now: datetime, until: datetime) -> bool:
    """Lease a due delivery until `until`; False when another worker holds or just tried it.

    The attempt count in the condition makes a stale read lose: had another process made an
    attempt since `delivery` was read, the count moved on and nothing is claimed.
    """
    result = session.execute(
        update(HookDeliveryRow)
        .where(
            HookDeliveryRow.delivery_id == delivery.delivery_id,
            HookDeliveryRow.status == PENDING,
            HookDeliveryRow.attempts == delivery.attempts,
            HookDeliveryRow.next_attempt_at <= now,
            or_(HookDeliveryRow.locked_until.is_(None), HookDeliveryRow.locked_until <= now),
        )
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


def release(session: Session, delivery_id: str) -> None:
    """Give a lease back without an attempt (the process is stopping)."""
    session.execute(
        update(HookDeliveryRow)
        .where(HookDeliveryRow.delivery_id == delivery_id)
        .values(locked_until=None)
        .execution_options(synchronize_session=False)
    )


def record_attempt(
    session: Session,
    delivery: Delivery,
    *,
    outcome: str,
    started_at: datetime,
    duration_seconds: float,
    status_code: int | None = None,
    exit_status: int | None = None,
    detail: str | None = None,
    next_attempt_at: datetime | None = None,
) -> None:
    """Write the audit row and move the delivery on (delivered, failed, or due again)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    attempt = delivery.attempts + 1
    session.add(
        HookAttemptRow(
            delivery_id=delivery.delivery_id,
            monitor=delivery.monitor,
            rule=delivery.rule,
            hook=delivery.hook,
            event=str(delivery.payload.get("event", delivery.state)),
            attempt=attempt,
            outcome=outcome,
            status_code=status_code,
            exit_status=exit_status,
            detail=detail,
            duration_seconds=duration_seconds,
            started_at=started_at,
        )
    )
    row = session.get(HookDeliveryRow, delivery.delivery_id)
    if row is None:  # deleted under us (its monitor was removed): the audit row stays
        return
    row.attempts = attempt
    row.status = {DELIVERED: DELIVERED, FAILED: FAILED, RETRY: PENDING}[outcome]
    if next_attempt_at is not None:
        row.next_attempt_at = next_attempt_at
    row.locked_until = None
    row.updated_at = started_at


def attempt_rows(
    session: Session, *, monitor: str | None = None, limit: int | None = None
) -> list[tuple[HookAttemptRow, str]]:
    """Delivery attempts with their delivery's status, oldest first (the newest `limit`)."""
    query = select(HookAttemptRow, HookDeliveryRow.status).join(
        HookDeliveryRow, HookDeliveryRow.delivery_id == HookAttemptRow.delivery_id
    )
    if monitor is not None:
        query = query.where(HookAttemptRow.monitor == monitor)
    query = query.order_by(HookAttemptRow.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [(row, status) for row, status in reversed(session.execute(query).all())]


def delivery_counts(session: Session) -> dict[str, int]:
    """Outbox rows by status (pending, delivered, failed)."""
    counts = dict.fromkeys((PENDING, DELIVERED, FAILED), 0)
    for status, count in session.execute(
        select(HookDeliveryRow.status, func.count()).group_by(HookDeliveryRow.status)
    ):
        counts[status] = int(count)
    return counts
