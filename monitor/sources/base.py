"""What a source is: `read(after, now)` gives the next complete window after a watermark.

Sources order rows, cut windows and set aside rows that cannot be used; they know nothing
of models or scoring.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from monitor.config import ColumnsConfig, WindowConfig
from monitor.sources.rows import ROW_ID, TIMESTAMP, Rejected, json_safe, split_usable

FILE = "_file"
LINE = "_line"


@dataclass
class Window:
    """The usable rows of one window, the rows set aside on the way, and where it ends.

    `position` is the watermark to store once this window is recorded; `start`/`end` are
    None when the stream has no timestamps (the cycle then uses its clock).
    """

    rows: pd.DataFrame
    rejected: list[Rejected]
    position: str
    start: datetime | None
    end: datetime | None
    extra: dict[str, Any] = field(default_factory=dict)


class Source(ABC):
    """A stream of rows; `read` returns the next complete window, or None to wait."""

    @abstractmethod
    def read(self, after: str | None, now: datetime) -> Window | None: ...

    def close(self) -> None:  # noqa: B027 - most sources hold nothing
        """Release whatever the source holds open."""


class TabularSource(Source):
    """Windowing shared by sources that can present their whole stream as one DataFrame.

    Subclasses give `_frame()` with the columns `_file` and `_line` (the row's place);
    rows are ordered by timestamp when the stream has one, else by (file, line).
    """

    def __init__(
        self, columns: ColumnsConfig, window: WindowConfig, timestamp_column: str | None
    ) -> None:
        self.columns = columns
        self.window = window
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
        raw = frame[self.timestamp_column]
        stamps = pd.to_datetime(raw, utc=True, errors="coerce", format="mixed")
        bad = stamps.isna()
        undated = [
            Rejected(str(row_id), f"unparseable timestamp {value!r}", json_safe(record))
            for row_id, value, record in zip(
                frame.loc[bad, ROW_ID], raw[bad], frame[bad].to_dict("records"), strict=True
            )
        ]
        frame = frame.loc[~bad].assign(**{TIMESTAMP: stamps[~bad]})
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
            usable, rejected, consumed = split_usable(candidates, self.columns, limit=size)
            if len(usable) >= size:
                break
            if start_at + chunk >= len(ordered):
                return None
            chunk *= 4
        last_key = keys[start_at + consumed - 1]
        return Window(
            rows=usable,
            rejected=undated + rejected,
            position=_encode(last_key),
            start=_ts(usable, 0),
            end=_ts(usable, -1),
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
        if after is not None:
            start = datetime.fromisoformat(json.loads(after)["end"])
        elif ordered.empty:
            return None
        else:
            start = _align(ordered[TIMESTAMP].iloc[0].to_pydatetime(), duration)
        end = start + duration
        if end > now:
            return None
        inside = ordered[(ordered[TIMESTAMP] >= start) & (ordered[TIMESTAMP] < end)]
        usable, rejected, _ = split_usable(inside, self.columns, limit=None)
        return Window(
            rows=usable,
            rejected=undated + rejected,
            position=json.dumps({"end": end.isoformat()}),
            start=start,
            end=end,
        )


def _keys(ordered: pd.DataFrame, dated: bool) -> list[tuple[Any, ...]]:
    files, lines = ordered[FILE].astype(str).tolist(), ordered[LINE].astype(int).tolist()
    if dated:
        stamps = ordered[TIMESTAMP].astype("int64").tolist()
        return list(zip(stamps, files, lines, strict=True))
    return list(zip(files, lines, strict=True))


def _encode(key: tuple[Any, ...]) -> str:
    return json.dumps({"key": list(key)})


def _first_after(keys: list[tuple[Any, ...]], after: str | None) -> int:
    """Index of the first row whose key is past the watermark (keys are sorted)."""
    if after is None:
        return 0
    mark = tuple(json.loads(after)["key"])
    # bisect by hand: keys are tuples of mixed types that compare fine pairwise
    lo, hi = 0, len(keys)
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] <= mark:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _ts(frame: pd.DataFrame, index: int) -> datetime | None:
    if TIMESTAMP not in frame.columns or frame.empty:
        return None
    value: datetime = frame[TIMESTAMP].iloc[index].to_pydatetime()
    return value


def _align(moment: datetime, duration: timedelta) -> datetime:
    step = duration.total_seconds()
    epoch = moment.timestamp()
    return datetime.fromtimestamp(np.floor(epoch / step) * step, tz=UTC)
