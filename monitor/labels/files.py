"""Labels from CSV, Parquet or JSON Lines files matched by a glob, in the order they arrive:
a new file or lines appended to one are read at the next cycle, whatever its name.

Files are read incrementally and known by identity, as stream files are
(`monitor.sources.file_scan`); the position stored with each batch holds, per file, the
point before which every label row is joined or quarantined. A line that cannot be read is
set aside as a label row with its reason, and a file that cannot be read at all (or lacks
the id or label column) is set aside whole, as a stream's is: the label join quarantines it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from monitor.errors import SourceError
from monitor.labels.base import BATCH_ROWS, label_batch
from monitor.labels.label_studio import LabelStudioExports, is_label_studio_export
from monitor.labels.specs import FilesLabelsConfig
from monitor.records.rows import PROBLEM, Rejected
from monitor.sources.base import Source, SourceContext, Window
from monitor.sources.file_identity import NEVER, FileState, decode_states, encode_states
from monitor.sources.file_readers import START
from monitor.sources.file_scan import SEQ, StreamFiles
from monitor.sources.rows import json_safe
from monitor.sources.tabular import FILE, LINE


@dataclass
class _Issued:
    position: str
    consumed: int


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
        if is_label_studio_export(config.path):
            self.files = LabelStudioExports(
                config.path, config.id_column, config.label_column, config.timestamp_column
            )
        self._rows = pd.DataFrame()  # read and not yet in a recorded batch, in arrival order
        self._after: str | bool | None = False  # False: nothing read yet
        self._issued: _Issued | None = None

    def waiting_reason(self) -> str | None:
        return None if self.files.matching() else f"no label files match {self.labels.path} yet"

    def unreadable_files(self) -> list[Rejected]:
        return self.files.set_aside()

    def read(self, after: str | None, now: datetime) -> Window | None:
        if self._after is False or after != self._after:
            issued = self._issued
            if issued is not None and after == issued.position:
                self._rows = self._rows.iloc[issued.consumed :].reset_index(drop=True)
            else:
                self._restart(after)
            self._after = after
        self._issued = None
        saved = (self.files.snapshot(), self._rows)
        try:
            return self._next_batch()
        except Exception:  # the next read takes in the same rows again
            self.files.restore(saved[0])
            self._rows = saved[1]
            raise

    def _next_batch(self) -> Window | None:
        fresh = [
            rows.assign(**{FILE: self.files.states[seq].name, SEQ: seq})
            for seq, rows in self.files.scan().chunks.items()
            if not rows.empty
        ]
        if fresh:
            rows = pd.concat([self._rows, *fresh], ignore_index=True)
            self._rows = rows.sort_values([SEQ, LINE], kind="stable").reset_index(drop=True)
        if self._rows.empty:
            return None
        batch = self._rows.iloc[:BATCH_ROWS]
        position = json.dumps({"files": self._files_after(len(batch))})
        self._issued = _Issued(position, len(batch))
        broken = batch[PROBLEM].notna() if PROBLEM in batch.columns else None
        if broken is None or not broken.any():
            return label_batch(batch, self.labels, position)
        window = label_batch(batch[~broken], self.labels, position)
        unreadable = [
            Rejected(f"{record[FILE]}:{record[LINE]}", str(record[PROBLEM]), json_safe(record))
            for record in batch[broken].to_dict("records")
        ]
        return Window(window.rows, unreadable + list(window.rejected), position, None, None)

    def _files_after(self, consumed: int) -> list[list[Any]]:
        remaining = self._rows.iloc[consumed:]
        firsts: dict[int, tuple[int, int]] = {}
        if not remaining.empty:
            heads = remaining.groupby(SEQ, sort=False).head(1)
            for seq, start, line in zip(heads[SEQ], heads[START], heads[LINE], strict=True):
                firsts[int(seq)] = (int(start), int(line) - 1)
        entries: list[tuple[FileState, int, int, int]] = []
        for seq, state in sorted(self.files.states.items()):
            offset, lines = firsts.get(seq, (state.offset, state.lines))
            entries.append((state, offset, lines, state.lines))
        return encode_states(entries)

    def _restart(self, after: str | None) -> None:
        """Read on from a stored position; an older one (`{"key": [file, line]}`, in name
        order) counts the files before its file, and its file up to its line, as read."""
        try:
            stored: dict[str, Any] = json.loads(after) if after else {}
            if "files" in stored:
                self.files.start_at(decode_states(stored["files"], None))
            elif stored.get("key"):
                name, line = str(stored["key"][0]), int(stored["key"][1])
                self.files.start_at([FileState(0, name, skip_lines=line)], skip_before=name)
            else:
                self.files.start_at([])
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise SourceError(
                f"the stored labels position is not a label files' ({(after or '')[:80]!r}); "
                "use a fresh store"
            ) from None
        self._rows = pd.DataFrame()


__all__ = ["NEVER", "FileLabelSource"]
