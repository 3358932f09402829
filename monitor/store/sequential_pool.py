"""The sequential test's pool in the store: each window's share (`PooledWindow`), written
with its run, read back by the next cycle wherever it runs (`monitor.metrics.sequential`).

Only a monitor's newest `POOL_KEPT` windows are kept (the config allows at most 50 pooled
windows); older shares are deleted when a new one is written, and a run's share goes with
the run.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor.records.pool import PooledWindow
from monitor.store.schema import MonitorRow, SequentialPoolRow

#: the windows kept per monitor: `drift.sequential.windows` at its largest
POOL_KEPT = 50


def keep_pooled(
    session: Session, monitor_id: int, run_id: int, reference_key: str | None, pooled: PooledWindow
) -> None:
    """Keep the run's share of the pool, and drop the monitor's shares past `POOL_KEPT`."""
    session.add(
        SequentialPoolRow(
            run_id=run_id,
            monitor_id=monitor_id,
            reference_key=reference_key,
            identity=str(pooled.identity),
            keys=pooled.key_bytes(),
            scores=pooled.score_bytes(),
        )
    )
    session.flush()
    oldest_kept = session.scalar(
        select(SequentialPoolRow.run_id)
        .where(SequentialPoolRow.monitor_id == monitor_id)
        .order_by(SequentialPoolRow.run_id.desc())
        .offset(POOL_KEPT - 1)
        .limit(1)
    )
    if oldest_kept is not None:
        session.execute(
            delete(SequentialPoolRow).where(
                SequentialPoolRow.monitor_id == monitor_id, SequentialPoolRow.run_id < oldest_kept
            )
        )


def pooled_windows(
    session: Session, monitor: str, count: int
) -> tuple[tuple[str | None, PooledWindow], ...]:
    """The monitor's last `count` stored windows of the pool, oldest first, each with the
    key of the scored reference its scores are against."""
    if count <= 0:
        return ()
    rows = session.execute(
        select(
            SequentialPoolRow.reference_key,
            SequentialPoolRow.identity,
            SequentialPoolRow.keys,
            SequentialPoolRow.scores,
        )
        .join(MonitorRow, MonitorRow.id == SequentialPoolRow.monitor_id)
        .where(MonitorRow.name == monitor)
        .order_by(SequentialPoolRow.run_id.desc())
        .limit(count)
    ).all()
    return tuple(
        (key, PooledWindow.from_bytes(int(identity), keys, scores))
        for key, identity, keys, scores in reversed(rows)
    )
