"""Where windows start and end, and the watermark positions that say so, for every source.

A `rows: N` window's position is the sort key of the last row it consumed; a `duration`
window's is its end. Both are JSON, stored with the run that recorded the window.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np


def key_position(key: tuple[Any, ...] | list[Any]) -> str:
    """The watermark after a row whose sort key is `key`."""
    return json.dumps({"key": list(key)})


def key_of(after: str) -> tuple[Any, ...]:
    return tuple(json.loads(after)["key"])


def end_position(end: datetime) -> str:
    """The watermark after a duration window ending at `end`."""
    return json.dumps({"end": end.isoformat()})


def align(moment: datetime, duration: timedelta) -> datetime:
    """The start of the `duration`-long window holding `moment` (multiples since the epoch)."""
    step = duration.total_seconds()
    return datetime.fromtimestamp(np.floor(moment.timestamp() / step) * step, tz=UTC)


def duration_bounds(
    after: str | None, first: datetime | None, duration: timedelta, now: datetime
) -> tuple[datetime, datetime] | None:
    """The next duration window after `after` (or the one holding the first row, `first`),
    when it is complete at `now`; None while it is not (or no row exists yet)."""
    if after is not None:
        start = datetime.fromisoformat(json.loads(after)["end"])
    elif first is None:
        return None
    else:
        start = align(first, duration)
    end = start + duration
    return None if end > now else (start, end)
