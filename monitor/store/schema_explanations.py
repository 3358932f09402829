"""SQLAlchemy models of what changed in each window and of the rows asked of labellers.

`monitor.store.schema` imports this module, so its `Base.metadata` is the whole schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from monitor.store.schema_types import Base, NulFreeText, UTCDateTime


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
