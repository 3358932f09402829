"""Labels from CSV, Parquet or JSON Lines files matched by a glob, in file-name then line
order: a new file or lines appended to one are read at the next cycle."""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime

import pandas as pd

from monitor.errors import SourceError
from monitor.labels.base import BATCH_ROWS, label_batch
from monitor.labels.specs import FilesLabelsConfig
from monitor.sources.base import SourceContext, Window
from monitor.sources.files import FileSource
from monitor.sources.tabular import FILE, LINE
from monitor.sources.windowing import key_of, key_position


class FileLabelSource(FileSource):
    """The file stream's reading and caching; batches are cut by arrival, not by windows."""

    def __init__(self, config: FilesLabelsConfig, context: SourceContext) -> None:
        super().__init__(config, context)
        self.labels = config

    def read(self, after: str | None, now: datetime) -> Window | None:
        frame = self._frame()
        if frame.empty:
            return None
        ordered = frame.sort_values([FILE, LINE], kind="stable")
        keys = list(zip(ordered[FILE].astype(str), ordered[LINE].astype(int), strict=True))
        start = 0 if after is None else bisect_right(keys, tuple(key_of(after)))
        batch = ordered.iloc[start : start + BATCH_ROWS]
        if batch.empty:
            return None
        return label_batch(batch, self.labels, key_position(keys[start + len(batch) - 1]))

    def _check_columns(self, frame: pd.DataFrame) -> None:
        config = self.labels
        needed = [config.id_column, config.label_column, config.timestamp_column]
        missing = [c for c in needed if c is not None and c not in frame.columns]
        if missing:
            raise SourceError(
                f"labels {config.path}: column(s) {', '.join(map(repr, missing))} not found "
                f"(columns: {', '.join(c for c in frame.columns if not c.startswith('_'))})"
            )
