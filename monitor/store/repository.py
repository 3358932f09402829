"""Writes of runs, metric values, predictions, quarantine and watermarks (reads of runs are
`monitor.store.run_reads`'s).

Functions take a session so the caller decides the transaction: a cycle records its run,
metrics, predictions, quarantined rows and watermark in one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.errors import StoreError
from monitor.records.results import FAMILY_TEST, Result
from monitor.records.rows import FILE_KIND, Rejected
from monitor.store.database import finite
from monitor.store.schema import (
    MetricValueRow,
    MonitorRow,
    PredictionRow,
    QuarantinedRow,
    RunInputsRow,
    RunRow,
    WatermarkRow,
)
from monitor.store.schema_types import without_nul
from monitor.store.sequential_pool import keep_pooled

_CHUNK = 500  # rows per INSERT: SQLite caps bound parameters per statement


class WindowTaken(StoreError):
    """Another process recorded this window first: the watermark moved since it was read."""


@dataclass
class RunRecord:
    """Everything one cycle stores; `position` moves the watermark (None: it stays).

    With `guard`, the watermark moves only from `after`, the position the window was read
    after (None: no watermark yet), else `record_run` raises `WindowTaken`: two processes
    on one monitor (a daemon and `once`, two daemons on one PostgreSQL) never both record
    a window.
    """

    monitor: str
    window_start: datetime
    window_end: datetime
    started_at: datetime
    finished_at: datetime
    status: str = "ok"
    error: str | None = None
    rows: int = 0
    model_version: str | None = None
    result: Result | None = None
    predictions: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[Rejected] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    #: the scored reference the window was compared with (`reference_data.key`)
    reference_key: str | None = None
    #: a tabular window's feature values as Parquet, for `report` (text: the prediction log)
    inputs: bytes | None = None
    position: str | None = None
    guard: bool = False
    after: str | None = None
    #: run-level numbers of a window no `result` measured (no usable row in it)
    metrics: dict[str, float] = field(default_factory=dict)


def monitor_id(session: Session, name: str, now: datetime | None) -> int:
    """The monitor's id, creating the row on first use (at `now`; None: the database's
    clock, for writes that happen before any window, such as a scored reference)."""
    query = select(MonitorRow.id).where(MonitorRow.name == name)
    found = session.scalar(query)
    if found is not None:
        return found
    created: Any = func.now() if now is None else now
    backend = session.get_bind().dialect.name
    if backend not in ("postgresql", "sqlite"):
        row = MonitorRow(name=name, created_at=created)
        session.add(row)
        session.flush()
        return row.id
    # Two processes meeting a new monitor at once (a daemon and `once`): the second waits
    # for the first's row instead of failing on the unique name.
    dialect_insert = postgresql.insert if backend == "postgresql" else sqlite.insert
    session.execute(
        dialect_insert(MonitorRow)
        .values(name=name, created_at=created)
        .on_conflict_do_nothing(index_elements=[MonitorRow.name])
    )
    return int(session.scalars(query).one())


def watermark(session: Session, monitor: str) -> tuple[str, datetime] | None:
    row = session.execute(
        select(WatermarkRow.position, WatermarkRow.window_end)
        .join(MonitorRow, MonitorRow.id == WatermarkRow.monitor_id)
        .where(MonitorRow.name == monitor)
    ).first()
    return None if row is None else (row[0], row[1])


def _canonical(raw: Any) -> str:
    """A row's values as the store keeps them (NaN and infinities as null, NUL as U+FFFD),
    so values read back compare equal to the same values about to be written."""
    text = json.dumps(finite(raw), sort_keys=True, default=str)
    return text.replace("\\u0000", "\\ufffd")


def _new_quarantine(session: Session, mid: int, rejected: Sequence[Rejected]) -> list[Rejected]:
    """Rows not quarantined before, under the id the store keeps them by.

    The same row read again (after a restart, or a row without a timestamp seen by every
    read) is not stored twice. Another row with an id already kept is stored too, under
    `<id> @ <hash of its values>`, with the reason saying so: never dropped silently.
    """
    primary = {without_nul(r.row_id) for r in rejected}
    alternates = {_alternate_id(r) for r in rejected}
    known: dict[str, str] = {}
    ids = list(primary | alternates)
    for start in range(0, len(ids), _CHUNK):
        for row_id, raw in session.execute(
            select(QuarantinedRow.row_id, QuarantinedRow.raw).where(
                QuarantinedRow.monitor_id == mid,
                QuarantinedRow.row_id.in_(ids[start : start + _CHUNK]),
            )
        ):
            known[row_id] = _canonical(raw)
    fresh: dict[str, Rejected] = {}
    for row in rejected:
        stored_id = without_nul(row.row_id)  # the id as the store keeps it
        values = _canonical(row.raw)
        if stored_id not in known:
            known[stored_id] = values
            fresh[stored_id] = row
            continue
        if known[stored_id] == values:
            continue  # this very row, seen again
        alternate = _alternate_id(row)
        if alternate in known:
            continue
        known[alternate] = values
        reason = f"{row.reason} (another row with id {row.row_id!r} was quarantined first)"
        fresh[alternate] = replace(row, row_id=alternate, reason=reason)
    return list(fresh.values())


def _alternate_id(row: Rejected) -> str:
    digest = hashlib.sha256(_canonical(row.raw).encode()).hexdigest()[:10]
    return f"{without_nul(row.row_id)} @ {digest}"


def _insert_many(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _CHUNK):
        session.execute(insert(table), rows[start : start + _CHUNK])


def record_run(session: Session, record: RunRecord) -> int:
    """Insert the run and everything it carries; move the watermark when `position` is set."""
    mid = monitor_id(session, record.monitor, record.finished_at)
    quarantined = _new_quarantine(session, mid, record.quarantined)
    record.quarantined = quarantined  # the caller reports what was newly set aside
    files = sum(q.kind == FILE_KIND for q in quarantined)
    run = RunRow(
        monitor_id=mid,
        window_start=record.window_start,
        window_end=record.window_end,
        status=record.status,
        error=record.error,
        rows=record.rows,
        quarantined=len(quarantined) - files,
        quarantined_files=files,
        model_version=record.model_version,
        started_at=record.started_at,
        finished_at=record.finished_at,
        stage_seconds=record.stage_seconds,
        reference_key=record.reference_key,
    )
    session.add(run)
    session.flush()
    if record.result is not None:
        metric_rows = [
            {"run_id": run.id, "name": name, "feature": "", "value": value}
            for name, value in record.result.run_metrics().items()
        ]
        metric_rows += [
            {
                "run_id": run.id,
                "name": kind,
                "feature": score.column,
                "value": score.score,
                "method": score.method,
                "threshold": score.threshold,
                "drifted": score.drifted,
            }
            for kind, score in record.result.drift_rows()
        ]
        metric_rows += [
            {
                "run_id": run.id,
                "name": FAMILY_TEST,
                "feature": test.name,
                "value": test.statistic,
                "method": test.method,
                "threshold": test.level,
                "drifted": test.drifted,
                "p_value": test.p_value,
            }
            for test in record.result.family_tests()
        ]
        _insert_many(session, MetricValueRow, metric_rows)
    elif record.metrics:
        _insert_many(
            session,
            MetricValueRow,
            [
                {"run_id": run.id, "name": name, "feature": "", "value": value}
                for name, value in record.metrics.items()
            ],
        )
    _insert_many(session, PredictionRow, [{**p, "run_id": run.id} for p in record.predictions])
    _insert_quarantine(session, mid, run.id, quarantined, record.finished_at)
    if record.inputs is not None:
        session.add(RunInputsRow(run_id=run.id, body=record.inputs))
    family = None if record.result is None else record.result.family
    if family is not None and family.pooled is not None:
        keep_pooled(session, mid, run.id, family.pooled)
    if record.position is not None and record.guard:
        _move_watermark(session, mid, record)
    elif record.position is not None:
        mark = session.get(WatermarkRow, mid)
        if mark is None:
            session.add(
                WatermarkRow(
                    monitor_id=mid,
                    position=record.position,
                    window_end=record.window_end,
                    updated_at=record.finished_at,
                )
            )
        else:
            mark.position = record.position
            mark.window_end = record.window_end
            mark.updated_at = record.finished_at
    session.flush()
    return run.id


def _insert_quarantine(
    session: Session, mid: int, run_id: int | None, rows: Sequence[Rejected], now: datetime
) -> None:
    _insert_many(
        session,
        QuarantinedRow,
        [
            {
                "monitor_id": mid,
                "run_id": run_id,
                "row_id": q.row_id,
                "reason": q.reason,
                "raw": q.raw,
                "created_at": now,
                "kind": q.kind,
            }
            for q in rows
        ],
    )


def record_set_aside(
    session: Session, monitor: str, rejected: Sequence[Rejected], now: datetime
) -> list[Rejected]:
    """Quarantine what a read set aside while no window was recorded (a stream file that
    cannot be read, met while the monitor waits), with no run; returns what was new."""
    mid = monitor_id(session, monitor, now)
    fresh = _new_quarantine(session, mid, rejected)
    _insert_quarantine(session, mid, None, fresh, now)
    return fresh


def _move_watermark(session: Session, mid: int, record: RunRecord) -> None:
    """Compare and set: from `record.after` to `record.position`, or `WindowTaken`."""
    assert record.position is not None
    values = {
        "position": record.position,
        "window_end": record.window_end,
        "updated_at": record.finished_at,
    }
    taken = WindowTaken(
        f"monitor {record.monitor}: another process recorded the window ending "
        f"{record.window_end.isoformat()} first; this run is not stored"
    )
    if record.after is None:
        if session.get(WatermarkRow, mid) is not None:
            raise taken
        session.add(WatermarkRow(monitor_id=mid, **values))
        try:
            session.flush()
        except IntegrityError:  # the other process's first window committed meanwhile
            raise taken from None
        return
    # a row lock: a second writer waits for the first to commit, then matches nothing
    moved = session.execute(
        update(WatermarkRow)
        .where(WatermarkRow.monitor_id == mid, WatermarkRow.position == record.after)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise taken


def set_stage_seconds(session: Session, run_id: int, seconds: dict[str, float]) -> None:
    """Replace a run's stage timings (the cycle adds the store stage before committing)."""
    run = session.get(RunRow, run_id)
    if run is not None:
        run.stage_seconds = dict(seconds)
