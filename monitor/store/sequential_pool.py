"""The sequential test's pool in the store: each window's share (`PooledWindow`), written
with its run, read back by the next cycle wherever it runs (`monitor.metrics.sequential`).

Only a monitor's newest `POOL_KEPT` windows are kept (the config allows at most 50 pooled
windows); older shares are deleted when a new one is written, and a run's share goes with
the run.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor.records.pool import PooledWindow
from monitor.store.schema import MonitorRow, RunRow, SequentialPoolRow

log = logging.getLogger("driftwarden.store")

#: the windows kept per monitor: `drift.sequential.windows` at its largest
POOL_KEPT = 50


def keep_pooled(session: Session, monitor_id: int, run_id: int, pooled: PooledWindow) -> None:
    """Keep the run's share of the pool, and drop the monitor's shares past `POOL_KEPT`."""
    session.add(
        SequentialPoolRow(
            run_id=run_id,
            monitor_id=monitor_id,
            pool_key=pooled.key,
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


def pooled_windows(session: Session, monitor: str, count: int) -> tuple[PooledWindow, ...]:
    """The shares of the monitor's newest `count` windows, oldest first, as far back as they
    run unbroken: a window stored without a share (the test was off, the model gave no
    embeddings) or with one that cannot be read ends the run, so the pool never joins
    windows that were not consecutive."""
    if count <= 0:
        return ()
    rows = session.execute(
        select(
            RunRow.id,
            SequentialPoolRow.pool_key,
            SequentialPoolRow.identity,
            SequentialPoolRow.keys,
            SequentialPoolRow.scores,
        )
        .join(MonitorRow, MonitorRow.id == RunRow.monitor_id)
        .outerjoin(SequentialPoolRow, SequentialPoolRow.run_id == RunRow.id)
        .where(MonitorRow.name == monitor, RunRow.status == "ok", RunRow.rows > 0)
        .order_by(RunRow.id.desc())
        .limit(count)
    ).all()
    found: list[PooledWindow] = []
    for run_id, key, identity, keys, scores in rows:
        if key is None:
            break
        try:
            found.append(PooledWindow.from_bytes(key, identity, keys, scores))
        except ValueError as exc:
            log.warning(
                "monitor %s: run %s's share of the sequential pool cannot be read (%s); "
                "the pool starts after it",
                monitor,
                run_id,
                exc,
            )
            break
    return tuple(reversed(found))
