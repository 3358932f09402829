"""Windowing shared by sources that present their whole stream as one DataFrame.

Rows are ordered by timestamp when the stream has one, else by (file, line); a `rows: N`
window is the next N usable rows after the watermark, a `duration` window the rows of one
aligned interval once it is complete.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from monitor.sources.base import Source, SourceContext, Window
from monitor.sources.rows import ROW_ID, TIMESTAMP, Rejected, json_safe, split_usable
from monitor.sources.windowing import duration_bounds, end_position, key_of, key_position

FILE = "_file"
LINE = "_line"


class TabularSource(Source):
    """Subclasses give `_frame()` with the columns `_file` and `_line` (the row's place)."""

    def __init__(self, context: SourceContext, timestamp_column: str | None) -> None:
        self.context = context
        self.columns = context.columns
        self.window = context.window
        self.timestamp_column = timestamp_column

    @abstractmethod
    def _frame(self) -> pd.DataFrame: ...

    def read(self, after: str | None, now: datetime) -> Window | None:
        frame = self._frame()
        ordered, undated = self._order(frame)
        keys = _keys(ordered, self.timestamp_column is not None)
        if self.window.rows is not None:
            return self._rows_window(ordered, keys, undated, after)
        assert self.window.duration is not None
        return self._duration_window(ordered, undated, after, now, self.window.duration)

    # -- ordering

    def _order(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Rejected]]:
        frame = frame.copy()
        if self.columns.id is not None and self.columns.id in frame.columns:
            frame[ROW_ID] = frame[self.columns.id].astype(str)
        else:
            frame[ROW_ID] = frame[FILE].astype(str) + ":" + frame[LINE].astype(str)
        if self.timestamp_column is None:
            return frame.sort_values([FILE, LINE], kind="stable"), []
        frame, undated = dated(frame, self.timestamp_column)
        return frame.sort_values([TIMESTAMP, FILE, LINE], kind="stable"), undated

    # -- cutting

    def _rows_window(
        self,
        ordered: pd.DataFrame,
        keys: list[tuple[Any, ...]],
        undated: list[Rejected],
        after: str | None,
    ) -> Window | None:
        size = self.window.rows
        assert size is not None
        start_at = _first_after(keys, after)
        # look at a slice twice the window first: a long backlog need not be walked whole
        chunk = 2 * size
        while True:
            candidates = ordered.iloc[start_at : start_at + chunk]
            usable, rejected, consumed = split_usable(candidates, self.context.check, limit=size)
            if len(usable) >= size:
                break
            if start_at + chunk >= len(ordered):
                return None
            chunk *= 4
        return Window(
            rows=usable,
            rejected=undated + rejected,
            position=key_position(keys[start_at + consumed - 1]),
            start=first_timestamp(usable),
            end=last_timestamp(usable),
        )

    def _duration_window(
        self,
        ordered: pd.DataFrame,
        undated: list[Rejected],
        after: str | None,
        now: datetime,
        duration: timedelta,
    ) -> Window | None:
        if TIMESTAMP not in ordered.columns:
            raise AssertionError("duration windows need a timestamp column (config checks this)")
        bounds = duration_bounds(after, first_timestamp(ordered), duration, now)
        if bounds is None:
            return None
        start, end = bounds
        inside = ordered[(ordered[TIMESTAMP] >= start) & (ordered[TIMESTAMP] < end)]
        usable, rejected, _ = split_usable(inside, self.context.check, limit=None)
        return Window(usable, undated + rejected, end_position(end), start, end)


def dated(frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, list[Rejected]]:
    """`frame` with a UTC `_ts` column parsed from `column`; rows it cannot parse, rejected."""
    raw = frame[column]
    stamps = pd.to_datetime(raw, utc=True, errors="coerce", format="mixed")
    bad = stamps.isna()
    undated = [
        Rejected(str(row_id), f"unparseable timestamp {value!r}", json_safe(record))
        for row_id, value, record in zip(
            frame.loc[bad, ROW_ID], raw[bad], frame[bad].to_dict("records"), strict=True
        )
    ]
    return frame.loc[~bad].assign(**{TIMESTAMP: stamps[~bad]}), undated


def _keys(ordered: pd.DataFrame, dated: bool) -> list[tuple[Any, ...]]:
    files, lines = ordered[FILE].astype(str).tolist(), ordered[LINE].astype(int).tolist()
    if dated:
        stamps = ordered[TIMESTAMP].astype("int64").tolist()
        return list(zip(stamps, files, lines, strict=True))
    return list(zip(files, lines, strict=True))


def _first_after(keys: list[tuple[Any, ...]], after: str | None) -> int:
    """Index of the first row whose key is past the watermark (keys are sorted)."""
    if after is None:
        return 0
    mark = key_of(after)
    # bisect by hand: keys are tuples of mixed types that compare fine pairwise
    lo, hi = 0, len(keys)
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] <= mark:
            lo = mid + 1
        else:
            hi = mid
    return lo


def first_timestamp(frame: pd.DataFrame) -> datetime | None:
    return _timestamp(frame, 0)


def last_timestamp(frame: pd.DataFrame) -> datetime | None:
    return _timestamp(frame, -1)


def _timestamp(frame: pd.DataFrame, index: int) -> datetime | None:
    if TIMESTAMP not in frame.columns or frame.empty:
        return None
    value: datetime = frame[TIMESTAMP].iloc[index].to_pydatetime()
    return value
