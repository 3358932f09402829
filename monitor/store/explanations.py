"""What changed in a window, kept beside its run (`run_explanations`), and the rows asked
of labellers (`label_requests`), so a row is not requested twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.latest import Reader
from monitor.store.repository import monitor_id
from monitor.store.schema import MonitorRow
from monitor.store.schema_explanations import LabelRequestRow, RunExplanationRow

_CHUNK = 500


def save_explanation(session: Session, run_id: int, body: dict[str, Any]) -> None:
    session.add(RunExplanationRow(run_id=run_id, body=body))


def explanations(session: Reader, run_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The stored explanations of `run_ids` (runs without one are left out); a bare
    Connection (the exporter's) reads them as well as a Session."""
    found: dict[int, dict[str, Any]] = {}
    ids = list(run_ids)
    for start in range(0, len(ids), _CHUNK):
        query = select(RunExplanationRow.run_id, RunExplanationRow.body).where(
            RunExplanationRow.run_id.in_(ids[start : start + _CHUNK])
        )
        for row in session.execute(query):
            found[row.run_id] = row.body
    return found


@dataclass(frozen=True)
class LabelRequest:
    """One requested row: its run, id and the score that chose it."""

    run_id: int
    row_id: str
    score: float


def requested_rows(session: Session, monitor: str) -> set[str]:
    """Row ids of `monitor` already sent to labellers."""
    return set(
        session.scalars(
            select(LabelRequestRow.row_id)
            .join(MonitorRow, MonitorRow.id == LabelRequestRow.monitor_id)
            .where(MonitorRow.name == monitor)
        )
    )


def record_requests(
    session: Session, monitor: str, requests: Sequence[LabelRequest], now: datetime
) -> None:
    mid = monitor_id(session, monitor, now)
    session.add_all(
        LabelRequestRow(
            monitor_id=mid, run_id=r.run_id, row_id=r.row_id, score=r.score, requested_at=now
        )
        for r in requests
    )
