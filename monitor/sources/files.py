"""A stream of CSV, Parquet or JSON Lines files matched by a glob, read incrementally.

Each read takes in only what the files gained since the last one (new files, appended
bytes); rows past the watermark wait in memory until a window takes them. The watermark
(position) holds the key of the last row consumed and, per file, the point before which
every row is consumed, so a restarted process reads on from there instead of from the
start of the stream. A row that cannot be read is quarantined; a file that cannot be read
is set aside whole (`unreadable_files`); neither stops the stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from monitor.errors import SourceError
from monitor.records.rows import PROBLEM, ROW_ID, TIMESTAMP, Rejected
from monitor.sources.base import Source, SourceContext, Window
from monitor.sources.cutting import Cut, cut_duration, cut_rows
from monitor.sources.file_readers import LINE, START
from monitor.sources.file_scan import StreamFiles
from monitor.sources.headers import format_of
from monitor.sources.rows import json_safe
from monitor.sources.specs import FilesStreamConfig
from monitor.sources.tabular import FILE, dated, sort_keys

Offsets = dict[str, tuple[int, int]]  # file name: (offset, rows before it)


def detect_format(path: Path, declared: str | None = None) -> str:
    fmt = format_of(path, declared)
    if fmt is None:
        raise SourceError(
            f"{path}: cannot tell the format from {path.suffix.lower()!r}; use .csv, .parquet, "
            ".jsonl, or set stream.format"
        )
    return fmt


def read_table(path: Path, declared: str | None = None) -> pd.DataFrame:
    """Read one whole CSV/Parquet/JSON Lines file (a reference); failures name the file."""
    fmt = detect_format(path, declared)
    try:
        if fmt == "csv":
            return pd.read_csv(path)
        if fmt == "parquet":
            return pd.read_parquet(path)
        return pd.read_json(path, lines=True)
    except FileNotFoundError:
        raise SourceError(f"{path} does not exist") from None
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SourceError(f"cannot read {path} as {fmt}: {exc}") from None


@dataclass
class _Issued:
    """The last window handed out: adopted when the next read starts from its position."""

    position: str
    consumed: int
    offsets: Offsets


class FileSource(Source):
    """Every file the glob matches; each read takes in what is new since the last."""

    def __init__(self, config: FilesStreamConfig, context: SourceContext) -> None:
        self.stream = config
        self.context = context
        self.columns = context.columns
        self.window = context.window
        self.timestamp_column = config.timestamp_column
        required = [self.columns.text] if self.columns.text else list(self.columns.features or [])
        if self.timestamp_column:
            required.append(self.timestamp_column)
        text_columns = tuple(c for c in (self.columns.text, self.columns.id) if c is not None)
        self.files = StreamFiles(config.path, config.format, required, text_columns)
        self._after: str | bool | None = False  # False: nothing read yet
        self._pending = pd.DataFrame()
        self._loose: list[Rejected] = []
        self._mark: tuple[Any, ...] | None = None
        self._issued: _Issued | None = None

    def waiting_reason(self) -> str | None:
        if self.files.matching():
            return None
        return f"no stream files match {self.stream.path} yet"

    def unreadable_files(self) -> list[Rejected]:
        return self.files.set_aside()

    # -- reading

    def read(self, after: str | None, now: datetime) -> Window | None:
        if self._after is False or after != self._after:
            issued = self._issued
            if issued is not None and after == issued.position:
                self._adopt(issued)
            else:
                self._restart(after)
            self._after = after
        self._issued = None
        self._take_in(self.files.scan().chunks)
        cut = self._cut(after, now)
        if cut is None:
            return None
        if self.window.rows is not None:
            # a window of loose rows alone consumes no ordered row: the key stays
            last = (
                self._key_of(self._pending.iloc[cut.consumed - 1]) if cut.consumed else self._mark
            )
            mark: dict[str, Any] = {"key": None if last is None else list(last)}
        else:
            assert cut.end is not None
            mark = {"end": cut.end.isoformat()}
        offsets = self._offsets_after(cut.consumed)
        position = json.dumps({**mark, "files": offsets}, sort_keys=True)
        self._issued = _Issued(position, cut.consumed, offsets)
        rejected = self._loose + cut.rejected
        return Window(cut.usable, rejected, position, cut.start, cut.end)

    def _cut(self, after: str | None, now: datetime) -> Cut | None:
        check = self.context.check
        if self.window.rows is not None:
            cut = cut_rows(self._pending, check, self.window.rows)
            if cut is None and len(self._loose) >= self.window.rows:
                # rows without a place in the order, enough for a window: one of their own
                return Cut(self._pending.iloc[:0], [], 0, None, None)
            return cut
        assert self.window.duration is not None
        return cut_duration(self._pending, check, after, now, self.window.duration)

    # -- the rows waiting for a window

    def _take_in(self, chunks: dict[str, pd.DataFrame]) -> None:
        """Add newly read rows to the pending ones, in key order, past the watermark."""
        frames = [self._prepared(name, rows) for name, rows in chunks.items()]
        frames = [f for f in frames if not f.empty]
        if not frames:
            return
        fresh = pd.concat(frames, ignore_index=True)
        if self._mark is not None:
            keys = sort_keys(fresh, self.timestamp_column is not None)
            fresh = fresh[[key > self._mark for key in keys]]  # consumed before: skipped
        pending = (
            pd.concat([self._pending, fresh], ignore_index=True) if len(self._pending) else fresh
        )
        order = [TIMESTAMP, FILE, LINE] if self.timestamp_column else [FILE, LINE]
        self._pending = pending.sort_values(order, kind="stable").reset_index(drop=True)

    def _prepared(self, name: str, rows: pd.DataFrame) -> pd.DataFrame:
        """Rows of one file with their place, id and timestamp; the ones that have no place
        in a dated order (unreadable, or no timestamp) go to the loose rows."""
        rows = rows.assign(**{FILE: name})
        place = name + ":" + rows[LINE].astype(str)
        if self.columns.id is not None and self.columns.id in rows.columns:
            given = rows[self.columns.id]
            rows[ROW_ID] = given.map(_id_text).where(given.notna(), place)  # no id: its place
        else:
            rows[ROW_ID] = place
        if self.timestamp_column is None:
            return rows
        bad = rows[PROBLEM].notna() if PROBLEM in rows.columns else pd.Series(False, rows.index)
        self._loose += [
            Rejected(str(record[ROW_ID]), str(record[PROBLEM]), json_safe(record))
            for record in rows[bad].to_dict("records")
        ]
        rows, undated = dated(rows[~bad], self.timestamp_column)
        self._loose += undated
        return rows

    def _key_of(self, row: pd.Series) -> tuple[Any, ...]:
        if self.timestamp_column is not None:
            return (int(row[TIMESTAMP].value), str(row[FILE]), int(row[LINE]))
        return (str(row[FILE]), int(row[LINE]))

    def _offsets_after(self, consumed: int) -> Offsets:
        """Per file, the point before which every row is consumed once `consumed` pending
        rows (and every loose row) go: the first remaining row's start, else all read."""
        remaining = self._pending.iloc[consumed:]
        firsts: dict[str, tuple[int, int]] = {}
        if not remaining.empty:
            heads = remaining.sort_values([FILE, LINE]).groupby(FILE, sort=False).head(1)
            for name, start, line in zip(heads[FILE], heads[START], heads[LINE], strict=True):
                firsts[str(name)] = (int(start), int(line) - 1)
        offsets: Offsets = {}
        skip_before = self._file_order_floor(consumed)
        for name, state in self.files.states.items():
            if skip_before is not None and name < skip_before:
                continue  # a file-order stream never reads these again
            offset = firsts.get(name, (state.offset, state.lines))
            if offset != (0, 0):
                offsets[name] = offset
        return offsets

    def _file_order_floor(self, consumed: int) -> str | None:
        """The file of the last consumed row, for a stream read in file order."""
        if self.timestamp_column is not None or consumed == 0:
            return None
        return str(self._pending[FILE].iloc[consumed - 1])

    def _adopt(self, issued: _Issued) -> None:
        """The window handed out was recorded: its rows and the loose ones are consumed."""
        self._mark = _mark_of(json.loads(issued.position))
        self._pending = self._pending.iloc[issued.consumed :].reset_index(drop=True)
        self._loose = []

    def _restart(self, after: str | None) -> None:
        """Read anew from a stored position: each file from its recorded offset (a position
        stored before offsets were kept has none: every file is read from its start)."""
        try:
            stored: dict[str, Any] = json.loads(after) if after else {}
            offsets = {
                str(name): (int(value[0]), int(value[1]))
                for name, value in (stored.get("files") or {}).items()
            }
            self._mark = _mark_of(stored)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise SourceError(
                f"the stored watermark is not a file stream's ({(after or '')[:80]!r}); "
                "use a fresh store"
            ) from None
        key = stored.get("key")
        skip_before = str(key[0]) if key and self.timestamp_column is None else None
        self.files.start_at(offsets, skip_before)
        self._pending = pd.DataFrame()
        self._loose = []


def _id_text(value: Any) -> str:
    """A row id as text: 10, not 10.0, when a column with gaps made it a float."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _mark_of(stored: dict[str, Any]) -> tuple[Any, ...] | None:
    """The key every consumed row sorts at or before: the last row's, or (end,) for a
    duration window, which every row from its end on sorts after."""
    if stored.get("key") is not None:
        return tuple(stored["key"])
    if stored.get("end") is not None:
        return (pd.Timestamp(stored["end"]).value,)
    return None
