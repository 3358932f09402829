"""SQLAlchemy models of everything driftwarden keeps: runs, metric values, predictions,
references, watermarks, quality versions and labels (`schema_operations`: alerts, hooks,
model versions; `schema_types`: the column types and the declarative base).

Importing this module defines every table: `Base.metadata` is the whole schema, which the
migrations produce exactly (tests/store/test_migrations_match_schema.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from monitor.store import (
    schema_explanations,  # noqa: F401  (its tables join Base.metadata)
    schema_operations,  # noqa: F401  (its tables join Base.metadata)
)
from monitor.store.schema_types import Base, MeasuredFloat, NulFreeString, NulFreeText, UTCDateTime


class MonitorRow(Base):
    __tablename__ = "monitors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(NulFreeString(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(NulFreeString(16))
    error: Mapped[str | None] = mapped_column(NulFreeText)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    #: stream files this run's read set aside as unreadable (rows count apart, above)
    quarantined_files: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    model_version: Mapped[str | None] = mapped_column(NulFreeString(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stage_seconds: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    #: the scored reference the window was compared with (`reference_data.key`)
    reference_key: Mapped[str | None] = mapped_column(NulFreeString(64))
    __table_args__ = (Index("ix_runs_monitor_window", "monitor_id", "window_end"),)


class MetricValueRow(Base):
    __tablename__ = "metric_values"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(NulFreeString(100))
    feature: Mapped[str] = mapped_column(NulFreeText, default="")  # a column name
    value: Mapped[float | None] = mapped_column(MeasuredFloat)
    method: Mapped[str | None] = mapped_column(NulFreeString(50))
    threshold: Mapped[float | None] = mapped_column(MeasuredFloat)
    drifted: Mapped[bool | None] = mapped_column(Boolean)
    #: a drift-family test's p-value (its statistic is `value`, its Holm level `threshold`)
    p_value: Mapped[float | None] = mapped_column(MeasuredFloat)


class PredictionRow(Base):
    __tablename__ = "predictions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    row_id: Mapped[str] = mapped_column(NulFreeText)  # a stream's own ids: any length
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(NulFreeText)
    predicted_id: Mapped[int | None] = mapped_column(Integer)
    predicted_name: Mapped[str] = mapped_column(NulFreeText)
    probabilities: Mapped[list[float] | None] = mapped_column(JSON)
    target: Mapped[str | None] = mapped_column(NulFreeText)
    #: when a late label was joined to the row (None: no label, or it came with the row)
    labelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when that label was observed (the labels source's timestamp, else `labelled_at`)
    label_observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # late labels find their rows by id
    __table_args__ = (Index("ix_predictions_row_id", "row_id"),)


class QuarantinedRow(Base):
    __tablename__ = "quarantined_rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    row_id: Mapped[str] = mapped_column(NulFreeText)  # a file's name when `kind` is file
    reason: Mapped[str] = mapped_column(NulFreeText)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: `row`, or `file`: a stream file that could not be read, set aside whole
    kind: Mapped[str] = mapped_column(NulFreeString(8), default="row", server_default="row")
    __table_args__ = (UniqueConstraint("monitor_id", "row_id", name="uq_quarantine_row"),)


class RunSnapshotRow(Base):
    """The run's Evidently snapshot, kept apart from `runs` so listings stay light."""

    __tablename__ = "run_snapshots"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)  # zlib-compressed snapshot JSON


class SequentialPoolRow(Base):
    """A window's share of the sequential test's pool (`monitor.records.pool`), kept with its
    run so the next windows' cycles pool it wherever and whenever they run; only a
    monitor's newest `POOL_KEPT` are kept."""

    __tablename__ = "sequential_pool"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    monitor_id: Mapped[int] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), index=True
    )
    #: what the scores are comparable with (`PooledWindow.key`)
    pool_key: Mapped[str] = mapped_column(NulFreeString(64))
    #: the window's identity (`seed_of` its keys), a 64-bit unsigned integer in decimal
    identity: Mapped[str] = mapped_column(NulFreeString(20))
    keys: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian uint64, one per row
    scores: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian float64, one per row


class ReferenceDataRow(Base):
    """A monitor's reference as one model version scored it, under a key of the reference's
    rows, the model version and its settings: what `report` and a starting process reuse."""

    __tablename__ = "reference_data"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(NulFreeString(64))
    model_version: Mapped[str | None] = mapped_column(NulFreeString(200))
    rows: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)  # numpy .npz: features, scores, labels
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    __table_args__ = (UniqueConstraint("monitor_id", "key", name="uq_reference_data_key"),)


class RunInputsRow(Base):
    """A tabular run's feature values, for `report` (a text run's are in its prediction log)."""

    __tablename__ = "run_inputs"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)  # Parquet


class WatermarkRow(Base):
    __tablename__ = "watermarks"
    monitor_id: Mapped[int] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[str] = mapped_column(NulFreeText)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# ---------------------------------------------------------------- late labels and quality versions


class QualityVersionRow(Base):
    """One version of a window's quality: a new one each time late labels change it.

    Drift is never versioned (it stays in `metric_values`); the run's `latest` version is what
    `runs`, the exporter and the rules see, and a `final` one is never followed by another.
    """

    __tablename__ = "quality_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    latest: Mapped[bool] = mapped_column(Boolean)
    final: Mapped[bool] = mapped_column(Boolean)
    final_reason: Mapped[str | None] = mapped_column(NulFreeString(16))  # coverage | horizon
    rows: Mapped[int] = mapped_column(Integer)
    labelled_rows: Mapped[int] = mapped_column(Integer)
    # nullable, as migration 0006 created it (MeasuredFloat stores a NaN as NULL); written
    # as a number for every version
    coverage: Mapped[float] = mapped_column(MeasuredFloat, nullable=True)
    new_labels: Mapped[int] = mapped_column(Integer, default=0)
    label_lag_seconds: Mapped[float | None] = mapped_column(MeasuredFloat)
    metrics: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (
        UniqueConstraint("run_id", "version", name="uq_quality_version"),
        Index("ix_quality_versions_open", "monitor_id", "latest", "final"),
    )


class LabelStateRow(Base):
    """Where a monitor's labels source stands: its position, the runs opened for late labels,
    and how many label rows each outcome had (`labels_total`)."""

    __tablename__ = "label_states"
    monitor_id: Mapped[int] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[str | None] = mapped_column(NulFreeText)
    opened_through_run_id: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QuarantinedLabelRow(Base):
    """A label that was not joined (unknown id, duplicate, conflicting, ambiguous, invalid).

    An `unknown_id` label is decided again (`released`: joined, or quarantined anew for
    another reason) when a later window scores its row.
    """

    __tablename__ = "quarantined_labels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    row_id: Mapped[str] = mapped_column(NulFreeText)
    label: Mapped[str | None] = mapped_column(NulFreeText)
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(NulFreeString(16))
    reason: Mapped[str] = mapped_column(NulFreeText)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    released: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_quarantined_labels_kind", "monitor_id", "kind", "released"),)
