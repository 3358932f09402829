"""Label files set aside whole (unreadable, or without the id or label column), kept in the
labels' quarantine once per file and reason, so `quarantine --labels` and the `invalid`
label count show them, not only the log. The caller (the label join) owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.records.rows import Rejected
from monitor.store.schema import QuarantinedLabelRow
from monitor.store.schema_types import without_nul

FILE_SET_ASIDE = "invalid"  # the outcome a label file set aside counts under


def quarantine_label_files(
    session: Session, mid: int, files: Sequence[Rejected], now: datetime
) -> list[Rejected]:
    """Quarantine the label files set aside that are not already (same file, same reason);
    returns the ones newly quarantined."""
    if not files:
        return []
    names = sorted({without_nul(f.row_id) for f in files})
    known: set[tuple[str, str]] = set(
        (str(row_id), str(reason))
        for row_id, reason in session.execute(
            select(QuarantinedLabelRow.row_id, QuarantinedLabelRow.reason).where(
                QuarantinedLabelRow.monitor_id == mid,
                QuarantinedLabelRow.row_id.in_(names),
                QuarantinedLabelRow.kind == FILE_SET_ASIDE,
            )
        )
    )
    fresh = []
    for rejected in files:
        key = (without_nul(rejected.row_id), without_nul(rejected.reason))
        if key in known:
            continue
        known.add(key)
        fresh.append(rejected)
        session.add(
            QuarantinedLabelRow(
                monitor_id=mid,
                row_id=key[0],
                label=None,
                observed_at=None,
                kind=FILE_SET_ASIDE,
                reason=key[1],
                raw=dict(rejected.raw),
                released=False,
                created_at=now,
            )
        )
    return fresh
