"""SQLAlchemy models of the operational state: alert rules and events, hook deliveries and
attempts, model versions and retrain decisions, and the store probe.

`monitor.store.schema` imports this module, so its `Base.metadata` is the whole schema.
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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from monitor.store.schema_types import Base, MeasuredFloat, NulFreeString, NulFreeText, UTCDateTime


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


class ScanExtentRow(Base):
    """What a monitor's last scan read past its watermark (`monitor.store.scan_extents`),
    kept apart from it: positions move only with windows."""

    __tablename__ = "scan_extents"
    monitor_id: Mapped[int] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    extents: Mapped[str] = mapped_column(NulFreeText)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
