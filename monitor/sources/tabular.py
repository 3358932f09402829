"""Windowing for sources that present their whole stream as one DataFrame (`_frame()`).

Rows are ordered by timestamp when the stream has one, else by (file, line); the rows past
the watermark are cut into windows by `monitor.sources.cutting`. A plugin subclasses
`TabularSource` and gives `_frame()`; the file source reads incrementally instead and
shares the ordering and cutting.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from datetime import datetime
from typing import Any

import pandas as pd

from monitor.records.rows import ROW_ID, TIMESTAMP, Rejected
from monitor.sources.base import Source, SourceContext, Window
from monitor.sources.cutting import Cut, cut_duration, cut_rows, first_timestamp, last_timestamp
from monitor.sources.rows import json_safe
from monitor.sources.values import parse_timestamps
from monitor.sources.windowing import end_position, key_position

FILE = "_file"
LINE = "_line"

__all__ = ["FILE", "LINE", "TabularSource", "dated", "first_timestamp", "last_timestamp"]


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
        ordered, undated = order_rows(self._frame(), self.columns.id, self.timestamp_column)
        keys = sort_keys(ordered, self.timestamp_column is not None)
        start_at = first_after(keys, after)
        pending = ordered.iloc[start_at:]
        cut = self._cut(pending, after, now)
        if cut is None:
            return None
        if self.window.rows is not None:
            position = key_position(keys[start_at + cut.consumed - 1])
        else:
            assert cut.end is not None
            position = end_position(cut.end)
        # rows without a timestamp have no place in the order: each window carries them,
        # and the store keeps each once
        return Window(cut.usable, undated + cut.rejected, position, cut.start, cut.end)

    def _cut(self, pending: pd.DataFrame, after: str | None, now: datetime) -> Cut | None:
        if self.window.rows is not None:
            return cut_rows(pending, self.context.check, self.window.rows)
        assert self.window.duration is not None
        return cut_duration(pending, self.context.check, after, now, self.window.duration)


def order_rows(
    frame: pd.DataFrame, id_column: str | None, timestamp_column: str | None
) -> tuple[pd.DataFrame, list[Rejected]]:
    """`frame` with row ids, sorted by its key; rows whose timestamp cannot be read apart."""
    frame = frame.copy()
    if id_column is not None and id_column in frame.columns:
        frame[ROW_ID] = frame[id_column].astype(str)
    else:
        frame[ROW_ID] = frame[FILE].astype(str) + ":" + frame[LINE].astype(str)
    if timestamp_column is None:
        return frame.sort_values([FILE, LINE], kind="stable"), []
    frame, undated = dated(frame, timestamp_column)
    return frame.sort_values([TIMESTAMP, FILE, LINE], kind="stable"), undated


def dated(frame: pd.DataFrame, column: str, unit: str = "s") -> tuple[pd.DataFrame, list[Rejected]]:
    """`frame` with a UTC `_ts` column parsed from `column` (an epoch number in `unit`, or
    text: `monitor.sources.values`); rows it cannot parse, rejected.

    A frame without the column (no row of the stream has arrived yet) has no rows to date.
    """
    if column not in frame.columns:
        raw = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    else:
        raw = frame[column]
    stamps = parse_timestamps(raw, unit)
    bad = stamps.isna()
    undated = [
        Rejected(str(row_id), f"unparseable timestamp {_shown(value)}", json_safe(record))
        for row_id, value, record in zip(
            frame.loc[bad, ROW_ID], raw[bad], frame[bad].to_dict("records"), strict=True
        )
    ]
    return frame.loc[~bad].assign(**{TIMESTAMP: stamps[~bad]}), undated


def _shown(value: Any) -> str:
    text = repr(None if isinstance(value, float) and pd.isna(value) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def sort_keys(ordered: pd.DataFrame, dated: bool) -> list[tuple[Any, ...]]:
    """Each row's place in the stream's order: (timestamp ns, file, line) or (file, line)."""
    files, lines = ordered[FILE].astype(str).tolist(), ordered[LINE].astype(int).tolist()
    if dated:
        stamps = ordered[TIMESTAMP].astype("int64").tolist()
        return list(zip(stamps, files, lines, strict=True))
    return list(zip(files, lines, strict=True))


def first_after(keys: list[tuple[Any, ...]], after: str | None) -> int:
    """Index of the first row whose key is past the watermark (keys are sorted): past the
    last row a `rows` window consumed, or at or after a `duration` window's end."""
    if after is None:
        return 0
    stored = json.loads(after)
    if stored.get("key") is not None:
        mark = tuple(stored["key"])
    else:  # (end,) sorts before every (end, file, line): rows from the end on are past it
        mark = (pd.Timestamp(stored["end"]).value,)
    # bisect by hand: keys are tuples of mixed types that compare fine pairwise
    lo, hi = 0, len(keys)
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] <= mark:
            lo = mid + 1
        else:
            hi = mid
    return lo
