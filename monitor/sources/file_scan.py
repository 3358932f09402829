"""Where each file of a stream was read up to, and reading what was added since.

A scan lists the glob, and reads each file only past the point it reached before (a byte
offset; a row count for Parquet): the cost of a scan follows what is new, not the stream's
history. A file that cannot be read (from some point on) is set aside whole, with its
reason, until it changes; the other files go on.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from monitor.records.rows import FILE_KIND, Rejected
from monitor.sources.file_readers import Chunk, Unreadable, read_chunk
from monitor.sources.headers import format_of

Stamp = tuple[int, int]  # (size, mtime in ns): a file that changed has another


@dataclass
class FileState:
    """How far one file was read, and why it is set aside (None: it is not)."""

    name: str
    offset: int = 0
    lines: int = 0
    header: list[str] | None = None
    stamp: Stamp | None = None
    unreadable: str | None = None


@dataclass
class ScanResult:
    """New rows per file (data columns plus `_line` and `_start`), read by one scan."""

    chunks: dict[str, pd.DataFrame] = field(default_factory=dict)


class StreamFiles:
    """The files one glob matches, each read incrementally.

    `required` are the columns every file must have (a CSV header or a Parquet schema
    without one is set aside); `text_columns` are read as text, never as numbers.
    """

    def __init__(
        self,
        pattern: str,
        declared_format: str | None,
        required: list[str],
        text_columns: tuple[str, ...],
    ) -> None:
        self.pattern = pattern
        self.declared_format = declared_format
        self.required = required
        self.text_columns = text_columns
        self.states: dict[str, FileState] = {}
        self._skip_before: str | None = None

    def start_at(self, offsets: dict[str, tuple[int, int]], skip_before: str | None) -> None:
        """Forget what was read; start each file at `offsets` (name: (offset, lines)), and
        files named before `skip_before` (file-order streams) as read to the end."""
        self.states = {name: FileState(name, o, n) for name, (o, n) in offsets.items()}
        self._skip_before = skip_before

    def matching(self) -> bool:
        return bool(glob.glob(self.pattern))

    def scan(self) -> ScanResult:
        """Read what every file holds past its state; set aside what cannot be read."""
        result = ScanResult()
        seen: dict[str, str] = {}
        for path in sorted(glob.glob(self.pattern)):
            name = os.path.basename(path)
            if self._skip_before is not None and name < self._skip_before:
                continue  # wholly before the watermark of a stream read in file order
            state = self.states.setdefault(name, FileState(name))
            if name in seen:
                state.unreadable = f"another stream file is named {name} ({seen[name]})"
                continue
            seen[name] = path
            frame = self._read(Path(path), state)
            if frame is not None and not frame.empty:
                result.chunks[name] = frame
        return result

    def set_aside(self) -> list[Rejected]:
        """Files set aside whole (`kind` file, the file's name as id), with their reasons."""
        return [
            Rejected(name, f"unreadable file: {state.unreadable}", {"file": name}, FILE_KIND)
            for name, state in sorted(self.states.items())
            if state.unreadable is not None
        ]

    def _read(self, path: Path, state: FileState) -> pd.DataFrame | None:
        try:
            stat = path.stat()
        except FileNotFoundError:  # deleted between the listing and now: nothing new in it
            return None
        except OSError as exc:
            state.unreadable = f"cannot see it: {exc.strerror or type(exc).__name__}"
            return None
        stamp = (stat.st_size, stat.st_mtime_ns)
        if stamp == state.stamp:
            return None  # unchanged since the last read (or since it was set aside)
        state.stamp, state.unreadable = stamp, None
        if path.is_dir():
            state.unreadable = "it is a folder, not a file"
            return None
        fmt = format_of(path, self.declared_format)
        if fmt is None:
            state.unreadable = (
                f"cannot tell its format from {path.suffix or 'no suffix'!r}; use .csv, "
                ".parquet, .jsonl, or set stream.format"
            )
            return None
        if fmt != "parquet" and stat.st_size < state.offset:
            state.offset, state.lines, state.header = 0, 0, None  # rewritten shorter: anew
        if fmt != "parquet" and stat.st_size == state.offset:
            return None  # nothing past where it was read to (a restart need not open it)
        try:
            chunk = read_chunk(
                path, fmt, state.offset, state.lines, stat.st_size, state.header,
                self.text_columns,
            )  # fmt: skip
        except Unreadable as exc:
            state.unreadable = exc.reason
            return None
        except OSError as exc:
            state.unreadable = f"cannot read it: {exc.strerror or type(exc).__name__}"
            return None
        missing = self._missing(chunk)
        if missing:
            state.unreadable = missing
            return None
        state.offset, state.lines, state.header = chunk.offset, chunk.lines, chunk.header
        state.unreadable = chunk.unreadable_after
        return chunk.rows

    def _missing(self, chunk: Chunk) -> str | None:
        """Why a CSV or Parquet file lacks a column the monitor reads (JSON Lines rows are
        checked one by one, as rows)."""
        if chunk.schema is None:
            return None
        absent = [name for name in self.required if name not in chunk.schema]
        if not absent:
            return None
        shown = ", ".join(chunk.schema[:20]) + (", ..." if len(chunk.schema) > 20 else "")
        return f"no column(s) {', '.join(map(repr, absent))} (columns: {shown})"
