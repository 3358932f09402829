"""The replay's stream and late labels: the scenario's planned windows, each due when the
simulated clock reaches its end, and their labels, due `delay` windows later, read through
the same `Source` contract as files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from monitor.config import ColumnsConfig
from monitor.errors import SourceError
from monitor.labels.base import LABEL, RAW
from monitor.records.rows import ROW_ID, TIMESTAMP
from monitor.replay.mix import PlannedWindow
from monitor.replay.scenario import LabelDelay
from monitor.sources.base import Source, Window
from monitor.sources.rows import RowCheck, split_usable


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
        inline_labels: bool = True,
    ) -> None:
        self.windows = list(windows)
        self.columns = columns
        self.check = check or RowCheck(columns)
        self.start = start
        self.step = step
        #: False: the rows come without their labels (the scenario delivers them late)
        self.inline_labels = inline_labels

    def bounds(self, index: int) -> tuple[datetime, datetime]:
        return self.start + index * self.step, self.start + (index + 1) * self.step

    def read(self, after: str | None, now: datetime) -> Window | None:
        index = 0 if after is None else window_index(after) + 1
        if index >= len(self.windows):
            return None
        start, end = self.bounds(index)
        if now < end:
            return None
        planned = self.windows[index]
        rows = planned.rows.assign(**{ROW_ID: row_ids(index, len(planned.rows))})
        if not self.inline_labels and self.columns.target is not None:
            rows = rows.drop(columns=[self.columns.target])
        usable, rejected, _ = split_usable(rows, self.check, limit=None)
        return Window(
            rows=usable,
            rejected=rejected,
            position=json.dumps({"window": index}),
            start=start,
            end=end,
            extra={"phase": planned.phase_name, "drift": planned.drift},
        )


def row_ids(index: int, rows: int) -> list[str]:
    return [f"w{index}:{i}" for i in range(rows)]


def window_index(after: str) -> int:
    try:
        return int(json.loads(after)["window"])
    except (ValueError, KeyError, TypeError):
        raise SourceError(
            f"the stored position {after!r} is not a replay's; replay into a fresh --db"
        ) from None


class ScenarioLabels(Source):
    """The labels of window `i`, for a seeded `coverage` share of its rows, observed when
    window `i + delay` ends; the position is the last window whose labels were read."""

    def __init__(self, stream: ScenarioSource, late: LabelDelay, seed: int) -> None:
        self.stream = stream
        self.late = late
        self.seed = seed

    def read(self, after: str | None, now: datetime) -> Window | None:
        first = 0 if after is None else window_index(after) + 1
        due = [
            i
            for i in range(first, len(self.stream.windows))
            if self.stream.bounds(i + self.late.delay)[1] <= now
        ]
        if not due:
            return None
        frames = [self._labels(i) for i in due]
        rows = pd.concat(frames, ignore_index=True)
        return Window(rows, [], json.dumps({"window": due[-1]}), None, None)

    def _labels(self, index: int) -> pd.DataFrame:
        planned = self.stream.windows[index].rows
        count = round(self.late.coverage * len(planned))
        chosen = np.sort(
            np.random.default_rng([self.seed, index]).choice(len(planned), count, replace=False)
        )
        ids = row_ids(index, len(planned))
        observed = self.stream.bounds(index + self.late.delay)[1]
        labels = planned[self.stream.columns.target or "label"].to_numpy()
        return pd.DataFrame(
            {
                ROW_ID: [ids[i] for i in chosen],
                LABEL: [labels[i] for i in chosen],
                TIMESTAMP: pd.Series([observed] * count, dtype="datetime64[ns, UTC]"),
                RAW: [{"id": ids[i], "label": labels[i]} for i in chosen],
            }
        )
