"""Cutting the next window from the rows past a watermark, for every tabular source.

The rows come sorted by their key (timestamp, file, line; or file, line). A window consumes
a prefix of them: a `rows: N` window the rows up to its N-th usable one, a `duration`
window the rows before its end. When the first N rows past the watermark are all unusable,
they make a window of their own with no usable row (rows 0, quarantined N), so a stream
that turned bad shows up in the store instead of waiting for ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from monitor.records.rows import TIMESTAMP, Rejected
from monitor.sources.rows import RowCheck, split_usable
from monitor.sources.windowing import duration_bounds


@dataclass(frozen=True)
class Cut:
    """A window cut from the front of the pending rows: `consumed` of them, in order."""

    usable: pd.DataFrame
    rejected: list[Rejected]
    consumed: int
    start: datetime | None
    end: datetime | None


def cut_rows(pending: pd.DataFrame, check: RowCheck, size: int) -> Cut | None:
    """The next `rows: size` window, an all-unusable one, or None to wait."""
    # look at a slice twice the window first: a long backlog need not be walked whole
    chunk = 2 * size
    while True:
        usable, rejected, consumed = split_usable(pending.iloc[:chunk], check, limit=size)
        if len(usable) >= size:
            return Cut(usable, rejected, consumed, first_timestamp(usable), last_timestamp(usable))
        if chunk >= len(pending):
            break
        chunk *= 4
    if len(pending) >= size:
        front = pending.iloc[:size]
        usable, rejected, _ = split_usable(front, check, limit=None)
        if usable.empty:  # the first `size` rows, none usable: a window of their own
            return Cut(usable, rejected, size, first_timestamp(front), last_timestamp(front))
    return None


def cut_duration(
    pending: pd.DataFrame,
    check: RowCheck,
    after: str | None,
    now: datetime,
    duration: timedelta,
) -> Cut | None:
    """The next complete `duration` window after `after`, or None while there is none."""
    bounds = duration_bounds(after, first_timestamp(pending), duration, now)
    if bounds is None:
        return None
    start, end = bounds
    consumed = int((pending[TIMESTAMP] < end).sum()) if TIMESTAMP in pending.columns else 0
    inside = pending.iloc[:consumed]
    inside = inside[inside[TIMESTAMP] >= start] if consumed else inside
    usable, rejected, _ = split_usable(inside, check, limit=None)
    return Cut(usable, rejected, consumed, start, end)


def first_timestamp(frame: pd.DataFrame) -> datetime | None:
    return _timestamp(frame, 0)


def last_timestamp(frame: pd.DataFrame) -> datetime | None:
    return _timestamp(frame, -1)


def _timestamp(frame: pd.DataFrame, index: int) -> datetime | None:
    if TIMESTAMP not in frame.columns or frame.empty:
        return None
    value: datetime = frame[TIMESTAMP].iloc[index].to_pydatetime()
    return value
