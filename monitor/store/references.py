"""Scored references by monitor and key, and tabular runs' feature values."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.store.repository import monitor_id
from monitor.store.schema import MonitorRow, ReferenceDataRow, RunInputsRow


def save_reference(
    session: Session, monitor: str, key: str, model_version: str | None, rows: int, body: bytes
) -> None:
    """Keep a scored reference under `key` (another process that kept it first wins: the
    same key holds the same scores)."""
    mid = monitor_id(session, monitor, None)
    values = {"monitor_id": mid, "key": key, "model_version": model_version, "rows": rows}
    backend = session.get_bind().dialect.name
    if backend in ("postgresql", "sqlite"):
        dialect_insert = postgresql.insert if backend == "postgresql" else sqlite.insert
        session.execute(
            dialect_insert(ReferenceDataRow)
            .values(**values, body=body)
            .on_conflict_do_nothing(index_elements=["monitor_id", "key"])
        )
        return
    known = select(ReferenceDataRow.id).where(
        ReferenceDataRow.monitor_id == mid, ReferenceDataRow.key == key
    )
    if session.scalar(known) is None:
        session.execute(insert(ReferenceDataRow).values(**values, body=body))


def load_reference(session: Session, monitor: str, key: str) -> bytes | None:
    body: bytes | None = session.scalar(
        select(ReferenceDataRow.body)
        .join(MonitorRow, MonitorRow.id == ReferenceDataRow.monitor_id)
        .where(MonitorRow.name == monitor, ReferenceDataRow.key == key)
    )
    return body


def run_inputs(session: Session, run_id: int) -> bytes | None:
    row = session.get(RunInputsRow, run_id)
    return None if row is None else row.body
