"""The replay's stream: the scenario's planned windows, each due when the simulated clock
reaches its end, read through the same `Source` contract as files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from monitor.config import ColumnsConfig
from monitor.errors import SourceError
from monitor.replay.mix import PlannedWindow
from monitor.sources.base import Source, Window
from monitor.sources.rows import ROW_ID, RowCheck, split_usable


class ScenarioSource(Source):
    """Window `i` covers `[start + i * step, start + (i + 1) * step)`; the watermark is `i`.

    Rows that cannot be used (emptied text) are set aside, as a file source does; the window
    is the planned one whatever their number, so the phases line up with the clock.
    """

    def __init__(
        self,
        windows: Sequence[PlannedWindow],
        columns: ColumnsConfig,
        start: datetime,
        step: timedelta,
        check: RowCheck | None = None,
    ) -> None:
        self.windows = list(windows)
        self.columns = columns
        self.check = check or RowCheck(columns)
        self.start = start
        self.step = step

    def bounds(self, index: int) -> tuple[datetime, datetime]:
        return self.start + index * self.step, self.start + (index + 1) * self.step

    def read(self, after: str | None, now: datetime) -> Window | None:
        index = 0 if after is None else self._index(after) + 1
        if index >= len(self.windows):
            return None
        start, end = self.bounds(index)
        if now < end:
            return None
        planned = self.windows[index]
        rows = planned.rows.assign(**{ROW_ID: [f"w{index}:{i}" for i in range(len(planned.rows))]})
        usable, rejected, _ = split_usable(rows, self.check, limit=None)
        return Window(
            rows=usable,
            rejected=rejected,
            position=json.dumps({"window": index}),
            start=start,
            end=end,
            extra={"phase": planned.phase_name, "drift": planned.drift},
        )

    @staticmethod
    def _index(after: str) -> int:
        try:
            return int(json.loads(after)["window"])
        except (ValueError, KeyError, TypeError):
            raise SourceError(
                f"the stored watermark {after!r} is not a replay's; replay into a fresh --db"
            ) from None
