"""SQLAlchemy models of everything driftwarden keeps: runs, metric values, predictions, state.

The column types keep what is stored alike on every backend: aware UTC datetimes, NaN
stored as NULL, and text without NUL characters (PostgreSQL refuses them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def without_nul(text: str) -> str:
    """`text` as the store keeps it: each NUL character replaced by U+FFFD."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _bind_without_nul(value: Any) -> Any:
    return value.replace("\x00", "\ufffd") if type(value) is str and "\x00" in value else value


class NulFreeText(TypeDecorator[str]):
    """Text of any length; a NUL character (a stray byte in a stream) is stored as U+FFFD."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return _bind_without_nul(value)  # SQL rendered with literals; binds: bind_processor

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        # one plain call per value: the prediction log binds several per scored row
        inner = self.impl_instance.bind_processor(dialect)
        if inner is None:
            return _bind_without_nul
        return lambda value: inner(_bind_without_nul(value))


class NulFreeString(NulFreeText):
    """A bounded name (monitor, rule, hook, status): `String(length)` without NULs."""

    impl = String  # type: ignore[assignment]
    cache_ok = True


class MeasuredFloat(TypeDecorator[float]):
    """A float where NaN (nothing measured) is stored as NULL, as SQLite itself does."""

    impl = Float
    cache_ok = True

    def process_bind_param(self, value: float | None, dialect: Dialect) -> float | None:
        if value is None or math.isnan(value):
            return None
        return float(value)


class Base(DeclarativeBase):
    pass


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
    coverage: Mapped[float] = mapped_column(MeasuredFloat)
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


# ---------------------------------------------------------------- alerts, hooks, model versions


class AlertStateRow(Base):
    """Where each alert rule of a monitor stands; `state = 'firing'` drives `alert_firing`."""

    __tablename__ = "alert_states"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(NulFreeString(100))
    state: Mapped[str] = mapped_column(NulFreeString(16))  # ok | pending | firing | resolved
    breaches: Mapped[int] = mapped_column(Integer, default=0)
    clears: Mapped[int] = mapped_column(Integer, default=0)
    episode: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[float | None] = mapped_column(MeasuredFloat)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (UniqueConstraint("monitor_id", "rule", name="uq_alert_state_rule"),)


class AlertEventRow(Base):
    """One alert transition (an episode firing or resolving) and its payload, secrets-free."""

    __tablename__ = "alert_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(NulFreeString(100))
    state: Mapped[str] = mapped_column(NulFreeString(16))  # firing | resolved
    episode: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HookDeliveryRow(Base):
    """The outbox: one row per (event, hook); `delivery_id` is the receivers' idempotency key."""

    __tablename__ = "hook_deliveries"
    delivery_id: Mapped[str] = mapped_column(NulFreeString(36), primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("alert_events.id", ondelete="CASCADE"), index=True
    )
    hook: Mapped[str] = mapped_column(NulFreeString(100))
    status: Mapped[str] = mapped_column(NulFreeString(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_hook_deliveries_due", "status", "next_attempt_at"),)


class HookAttemptRow(Base):
    """The audit trail: one row per delivery attempt (`hook_deliveries_total` counts these)."""

    __tablename__ = "hook_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("hook_deliveries.delivery_id", ondelete="CASCADE"), index=True
    )
    monitor: Mapped[str] = mapped_column(NulFreeString(100))
    rule: Mapped[str] = mapped_column(NulFreeString(100))
    hook: Mapped[str] = mapped_column(NulFreeString(100))
    event: Mapped[str] = mapped_column(NulFreeString(50))
    attempt: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(NulFreeString(16))  # delivered | retry | failed
    status_code: Mapped[int | None] = mapped_column(Integer)  # HTTP response code
    exit_status: Mapped[int | None] = mapped_column(Integer)  # command exit status
    detail: Mapped[str | None] = mapped_column(NulFreeText)
    duration_seconds: Mapped[float] = mapped_column(MeasuredFloat)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ModelVersionRow(Base):
    """A head a monitor can run; exactly one `live` row per monitor once a retrain happened."""

    __tablename__ = "model_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(NulFreeString(200))
    path: Mapped[str] = mapped_column(NulFreeText)
    source: Mapped[str] = mapped_column(NulFreeString(20))  # configured | retrain
    live: Mapped[bool] = mapped_column(Boolean, default=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: SHA-256 of the version's files when it was registered; checked before it scores
    sha256: Mapped[str | None] = mapped_column(NulFreeString(64))
    __table_args__ = (UniqueConstraint("monitor_id", "version", name="uq_model_version"),)


class RetrainDecisionRow(Base):
    """What a retrain-head delivery decided, and the numbers it decided on."""

    __tablename__ = "retrain_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    delivery_id: Mapped[str | None] = mapped_column(NulFreeString(36))
    current_version: Mapped[str | None] = mapped_column(NulFreeString(200))
    candidate_version: Mapped[str | None] = mapped_column(NulFreeString(200))
    current_accuracy: Mapped[float | None] = mapped_column(MeasuredFloat)
    candidate_accuracy: Mapped[float | None] = mapped_column(MeasuredFloat)
    margin: Mapped[float] = mapped_column(MeasuredFloat)
    windows: Mapped[int] = mapped_column(Integer)
    train_rows: Mapped[int] = mapped_column(Integer)
    holdout_rows: Mapped[int] = mapped_column(Integer)
    promoted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(NulFreeText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoreProbeRow(Base):
    """One row per process that proves the store takes writes (`/readyz`, `store_up`)."""

    __tablename__ = "store_probes"
    name: Mapped[str] = mapped_column(NulFreeString(200), primary_key=True)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
