"""Labels from CSV, Parquet or JSON Lines files matched by a glob, in file-name then line
order: a new file or lines appended to one are read at the next cycle.

Files are read incrementally, as stream files are (`monitor.sources.file_scan`); a line
that cannot be read is set aside as a label row with its reason, and a file that cannot be
read at all (or lacks the id or label column) is set aside whole, as a stream's is, and logged.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from datetime import datetime

import pandas as pd

from monitor.labels.base import BATCH_ROWS, label_batch
from monitor.labels.specs import FilesLabelsConfig
from monitor.records.rows import PROBLEM, Rejected
from monitor.sources.base import Source, SourceContext, Window
from monitor.sources.file_scan import StreamFiles
from monitor.sources.rows import json_safe
from monitor.sources.tabular import FILE, LINE
from monitor.sources.windowing import key_of, key_position

log = logging.getLogger("driftwarden.labels")


class FileLabelSource(Source):
    """Every label file the glob matches; batches are cut by arrival, not by windows."""

    def __init__(self, config: FilesLabelsConfig, context: SourceContext) -> None:
        self.labels = config
        assert config.id_column is not None and config.label_column is not None
        required = [config.id_column, config.label_column]
        if config.timestamp_column is not None:
            required.append(config.timestamp_column)
        # ids are read as values, as before: an id column with a gap reads 7 as 7.0, which
        # `label_batch` turns back into the id 7 (as the stream's ids)
        self.files = StreamFiles(config.path, config.format, required, ())
        # every row read so far, in (file, line) order; a batch is cut past the position
        self._rows = pd.DataFrame({FILE: pd.Series(dtype=str), LINE: pd.Series(dtype=int)})
        self._announced: set[tuple[str, str]] = set()
        # rows at or before this position were dropped: the store's position only moves on
        self._dropped_through: tuple[str, int] | None = None

    def waiting_reason(self) -> str | None:
        return None if self.files.matching() else f"no label files match {self.labels.path} yet"

    def unreadable_files(self) -> list[Rejected]:
        return self.files.set_aside()

    def read(self, after: str | None, now: datetime) -> Window | None:
        mark = None if after is None else (str(key_of(after)[0]), int(key_of(after)[1]))
        if self._dropped_through is not None and (mark is None or mark < self._dropped_through):
            # asked for rows already dropped (a store reset under a running process): anew
            self.files.start_at({}, None)
            self._rows, self._dropped_through = self._rows.iloc[:0], None
        fresh = [
            rows.assign(**{FILE: name})
            for name, rows in self.files.scan().chunks.items()
            if not rows.empty
        ]
        for rejected in self.files.set_aside():  # once per file and reason: it stays aside
            key = (rejected.row_id, rejected.reason)
            if key not in self._announced:
                self._announced.add(key)
                log.error("labels %s: set aside %s: %s", self.labels.path, *key)
        if fresh:
            rows = pd.concat([self._rows, *fresh], ignore_index=True)
            self._rows = rows.sort_values([FILE, LINE], kind="stable").reset_index(drop=True)
        if self._rows.empty:
            return None
        keys = list(zip(self._rows[FILE].astype(str), self._rows[LINE].astype(int), strict=True))
        start = 0 if mark is None else bisect_right(keys, mark)
        if start:  # consumed for good: a read costs what is new, not the labels' history
            self._rows, keys = self._rows.iloc[start:].reset_index(drop=True), keys[start:]
            self._dropped_through, start = mark, 0
        batch = self._rows.iloc[start : start + BATCH_ROWS]
        if batch.empty:
            return None
        position = key_position(keys[start + len(batch) - 1])
        broken = batch[PROBLEM].notna() if PROBLEM in batch.columns else None
        if broken is None or not broken.any():
            return label_batch(batch, self.labels, position)
        window = label_batch(batch[~broken], self.labels, position)
        unreadable = [
            Rejected(f"{record[FILE]}:{record[LINE]}", str(record[PROBLEM]), json_safe(record))
            for record in batch[broken].to_dict("records")
        ]
        return Window(window.rows, unreadable + list(window.rejected), position, None, None)
