"""What changed in a window, kept beside its run (`run_explanations`), and the rows asked
of labellers (`label_requests`), so a row is not requested twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from monitor.store.repository import monitor_id
from monitor.store.schema import Base, MonitorRow, NulFreeText, UTCDateTime

_CHUNK = 500


class RunExplanationRow(Base):
    """A run's explanation (`monitor.metrics.explain.Explanation.to_json`)."""

    __tablename__ = "run_explanations"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class LabelRequestRow(Base):
    """A row of a window written to a labelling tool's task file by `label-requests`."""

    __tablename__ = "label_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    row_id: Mapped[str] = mapped_column(NulFreeText)  # a stream's own ids: any length
    score: Mapped[float] = mapped_column(Float)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (UniqueConstraint("monitor_id", "row_id", name="uq_label_request_row"),)


def save_explanation(session: Session, run_id: int, body: dict[str, Any]) -> None:
    session.add(RunExplanationRow(run_id=run_id, body=body))


def explanations(session: Session, run_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The stored explanations of `run_ids` (runs without one are left out)."""
    found: dict[int, dict[str, Any]] = {}
    ids = list(run_ids)
    for start in range(0, len(ids), _CHUNK):
        for row in session.scalars(
            select(RunExplanationRow).where(
                RunExplanationRow.run_id.in_(ids[start : start + _CHUNK])
            )
        ):
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
