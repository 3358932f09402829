"""What each monitor's last scan read past its stored position (`Source.scan_extent`).

One row per monitor, rewritten by a short transaction of its own after a scan that read
something new, never with the window: the watermark alone says what is consumed. A process
that starts reads it back, so rows the last process read and no window stored, whose file
was rewritten since, become a quarantine entry instead of vanishing unseen.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.repository import monitor_id
from monitor.store.schema import MonitorRow
from monitor.store.schema_operations import ScanExtentRow


def kept_scan_extent(session: Session, monitor: str) -> str | None:
    """The extents the monitor's last scan kept (None: none kept yet)."""
    return session.scalar(
        select(ScanExtentRow.extents)
        .join(MonitorRow, MonitorRow.id == ScanExtentRow.monitor_id)
        .where(MonitorRow.name == monitor)
    )


def keep_scan_extent(session: Session, monitor: str, extents: str, now: datetime) -> None:
    """Replace the monitor's kept extents (one row, by primary key)."""
    mid = monitor_id(session, monitor, now)
    row = session.get(ScanExtentRow, mid)
    if row is None:
        session.add(ScanExtentRow(monitor_id=mid, extents=extents, updated_at=now))
    else:
        row.extents, row.updated_at = extents, now
