"""Where each file of a stream was read up to, and reading what was added since.

A scan lists the glob, matches each path to a known file by identity
(`monitor.sources.file_identity`), and reads each file only past the point it reached before
(a byte offset; a row count for Parquet): the cost of a scan follows what is new, not the
stream's history. A last line without its newline waits for it. A file that cannot be read
(from some point on) is set aside, with its reason, until it changes; one refused for
permissions is tried again at every scan; the other files go on.
"""

from __future__ import annotations

import copy
import glob
import os
import stat as stat_kind
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from monitor.records.rows import FILE_KIND, Rejected
from monitor.sources.file_identity import NEVER, Extent, FileState, fingerprint, runs
from monitor.sources.file_readers import LINE, Chunk, Unreadable, read_chunk
from monitor.sources.headers import format_of

SEQ = "_seq"  # the arrival number of the file a row comes from


@dataclass
class ScanResult:
    """New rows per file (data columns plus `_line` and `_start`), keyed by arrival number."""

    chunks: dict[int, pd.DataFrame] = field(default_factory=dict)


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
        #: every file known, by arrival number; a file replaced or gone is dropped
        self.states: dict[int, FileState] = {}
        self._skip_before: str | None = None
        #: set aside whole, by name: also files no state is kept for (a FIFO, a folder)
        self._aside: dict[str, str] = {}
        #: the name and identity a replaced content had, by its arrival number
        self._replaced: dict[int, tuple[str, tuple[int, int] | None, int]] = {}
        #: rows a rewrite took away before any window stored them, by file@seq: the reason,
        #: and which rows (the file's identity and first and last line)
        self.vanished: dict[str, tuple[str, dict[str, Any]]] = {}

    def start_at(self, states: list[FileState], skip_before: str | None = None) -> None:
        """Forget what was read; go on from `states`. Files first met at the next scan whose
        names sort before `skip_before` (an older position's file-order floor) are consumed."""
        self.states = {state.seq: state for state in states}
        self._skip_before = skip_before
        self._aside = {}
        self._replaced = {}

    def snapshot(self) -> dict[int, FileState]:
        """A copy of the states, to go back to when what was read cannot be used. Shallow
        per state: a state's fields are replaced, never changed in place (its `header`
        list included); a deep copy at every read costs more the more files the folder
        holds."""
        return {seq: copy.copy(state) for seq, state in self.states.items()}

    def restore(self, states: dict[int, FileState]) -> None:
        self.states = states

    def recall(self, extents: list[Extent], stored: bool) -> None:
        """Take in what the last scan of a process that stopped had read past the stored
        position (`stored`: the window that scan handed out was stored): rows of a replaced
        content that no window stored are gone now; files read further are checked at their
        next read (`FileState.seen`)."""
        for extent in extents:
            state = self.states.get(extent.seq)
            known = state is not None and None not in (state.identity, extent.identity)
            if known and state is not None and state.identity != extent.identity:
                continue  # not the same file: a record from another lineage
            if extent.replaced:
                gone = extent.waiting if stored else extent.unstored
                if state is not None:
                    del self.states[extent.seq]  # its content is replaced: read under another
                self._replaced[extent.seq] = (extent.name, extent.identity, extent.lines)
                if gone:
                    self._gone(extent.name, extent.seq, extent.identity, gone)
                continue
            if state is None:
                state = FileState(extent.seq, extent.name, extent.identity)
                self.states[extent.seq] = state
            issued = state.read_lines if state.read_lines < NEVER else 0
            if extent.fingerprint is not None and extent.lines > max(issued, state.lines):
                state.seen = (extent.fingerprint, extent.lines)

    def extents(self, waiting: dict[int, tuple[list[int], list[int]]]) -> list[Extent]:
        """What was read of every file, and of every replaced content with rows waiting
        (`waiting`: per arrival number, its rows still waiting if the window handed out is
        stored, and if it is not)."""
        found = []
        for seq, state in sorted(self.states.items()):
            mark, lines = state.fingerprint, state.lines
            if state.seen is not None and state.seen[1] > lines:
                mark, lines = state.seen  # not read again yet: what the last process read
            found.append(Extent(seq, state.name, state.identity, mark, lines))
        for seq, (after, before) in sorted(waiting.items()):
            if seq not in self.states and seq in self._replaced:
                name, identity, last = self._replaced[seq]
                found.append(
                    Extent(seq, name, identity, None, last, True, runs(after), runs(before))
                )
        return found

    def matching(self) -> bool:
        return bool(glob.glob(self.pattern))

    def scan(self) -> ScanResult:
        """Read what every file holds past its state; set aside what cannot be read."""
        result = ScanResult()
        listing: dict[str, tuple[Path, os.stat_result | None]] = {}
        aside: dict[str, str] = {}
        for path in sorted(glob.glob(self.pattern)):
            name = os.path.basename(path)
            if name in listing:
                aside[name] = f"another stream file is named {name} ({listing[name][0]})"
                continue
            try:
                info: os.stat_result | None = os.stat(path)
            except FileNotFoundError:  # deleted between the listing and now
                continue
            except OSError as exc:
                aside[name] = f"cannot see it: {exc.strerror or type(exc).__name__}"
                info = None
            if info is not None and not stat_kind.S_ISREG(info.st_mode):
                # never opened: a FIFO would block the read until someone writes to it
                aside[name] = (
                    "it is a folder, not a file"
                    if stat_kind.S_ISDIR(info.st_mode)
                    else "it is a FIFO or device, not a regular file"
                )
                continue
            listing[name] = (Path(path), info)
        for state, (where, info) in self._match(listing):
            if info is None:
                state.unreadable, state.retry = aside[state.name], True
                continue
            frame = self._read(where, info, state)
            if frame is not None and not frame.empty:
                result.chunks[state.seq] = frame
        self._aside = aside
        self._skip_before = None
        return result

    def set_aside(self) -> list[Rejected]:
        """Files set aside whole (`kind` file, the file's name as id), with their reasons."""
        reasons = {name: (reason, {"file": name}) for name, reason in self._aside.items()}
        for state in self.states.values():
            if state.unreadable is not None:
                reasons[state.name] = (state.unreadable, {"file": state.name})
        reasons.update(self.vanished)
        return [
            Rejected(name, f"unreadable file: {reason}", raw, FILE_KIND)
            for name, (reason, raw) in sorted(reasons.items())
        ]

    # -- which known file each path is

    def _match(
        self, listing: dict[str, tuple[Path, os.stat_result | None]]
    ) -> list[tuple[FileState, tuple[Path, os.stat_result | None]]]:
        by_name = {state.name: state for state in self.states.values()}
        matched: dict[str, FileState] = {}
        for name, (_, info) in listing.items():
            state = by_name.get(name)
            if state is not None and _same_file(state, info):
                matched[name] = state
        taken = {id(state) for state in matched.values()}
        by_identity = {
            state.identity: state
            for state in self.states.values()
            if state.identity is not None and id(state) not in taken
        }
        next_seq = max([*self.states, *self._replaced], default=-1) + 1
        for name, (_, info) in listing.items():
            if name in matched:
                continue
            identity = None if info is None else (info.st_dev, info.st_ino)
            renamed = by_identity.pop(identity, None) if identity else None
            if renamed is not None:
                renamed.name = name  # the same file under another name: read on from there
                matched[name] = renamed
                continue
            state = FileState(next_seq, name)
            if self._skip_before is not None and name < self._skip_before:
                state.skip_lines = 2**62  # consumed under the older file-order position
            next_seq += 1
            matched[name] = state
        # files no longer listed (deleted, or rotated out of the glob) are forgotten
        self.states = {state.seq: state for state in matched.values()}
        return [(matched[name], listing[name]) for name in listing]

    # -- reading one file

    def _read(self, path: Path, info: os.stat_result, state: FileState) -> pd.DataFrame | None:
        stamp = (info.st_size, info.st_mtime_ns)
        state.identity = (info.st_dev, info.st_ino)
        if stamp == state.stamp and not state.retry:
            return None  # unchanged since the last read (or since it was set aside)
        state.stamp, state.unreadable, state.retry = stamp, None, False
        fmt = format_of(path, self.declared_format)
        if fmt is None:
            state.unreadable = (
                f"cannot tell its format from {path.suffix or 'no suffix'!r}; use .csv, "
                ".parquet, .jsonl, or set stream.format"
            )
            return None
        try:
            if fmt != "parquet" and self._rewritten(path, info.st_size, state):
                self._note_vanished(state, state.lines + 1)
                self._begin_anew(state)
            elif (
                fmt != "parquet"
                and state.seen is not None
                and not _holds(path, info.st_size, state.seen[0])
            ):
                # the bytes the position vouches for are intact; what was read past them by
                # a process that stopped is not
                issued = state.read_lines if state.read_lines < NEVER else 0
                self._note_vanished(state, max(issued, state.lines) + 1)
            state.seen = None
            if fmt != "parquet" and info.st_size == state.offset:
                return None  # nothing past where it was read to
            chunk = read_chunk(
                path, fmt, state.offset, state.lines, info.st_size, state.header,
                self.text_columns,
            )  # fmt: skip
            if fmt == "parquet" and chunk.lines < state.lines:  # rewritten with fewer rows
                self._begin_anew(state)
                chunk = read_chunk(path, fmt, 0, 0, info.st_size, None, self.text_columns)
        except Unreadable as exc:
            state.unreadable = exc.reason
            return None
        except OSError as exc:
            state.unreadable = f"cannot read it: {exc.strerror or type(exc).__name__}"
            state.retry = True
            return None
        missing = self._missing(chunk)
        if missing:
            state.unreadable = missing
            return None
        state.offset, state.lines, state.header = chunk.offset, chunk.lines, chunk.header
        state.unreadable = chunk.unreadable_after
        if fmt != "parquet":
            state.fingerprint = fingerprint(path, state.offset)
        rows = chunk.rows
        if state.skip_lines and not rows.empty:
            rows = rows[rows[LINE] > state.skip_lines]
        return rows

    def _rewritten(self, path: Path, size: int, state: FileState) -> bool:
        """Whether the bytes read before are no longer the file's: truncated, or rewritten."""
        if size < state.offset:
            return True
        return state.fingerprint is not None and not _holds(path, size, state.fingerprint)

    def _note_vanished(self, state: FileState, first: int) -> None:
        """Rows from `first` on, read before (by a process that stopped: no one holds them)
        but not in a window, whose bytes a rewrite took away: gone, and quarantined as gone."""
        read_lines = max(state.read_lines, state.lines) if state.read_lines < NEVER else 0
        if state.seen is not None:
            read_lines = max(read_lines, state.seen[1])
        if read_lines >= first:
            self._gone(state.name, state.seq, state.identity, ((first, read_lines),))

    def _gone(
        self,
        name: str,
        seq: int,
        identity: tuple[int, int] | None,
        lines: tuple[tuple[int, int], ...],
    ) -> None:
        shown = ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in lines)
        count = sum(b - a + 1 for a, b in lines)
        self.vanished[f"{name}@{seq}"] = (
            f"rewritten before its rows {shown} were stored in a window: {count} row(s) gone",
            {"file": name, "identity": list(identity) if identity else None,
             "lines": [list(run) for run in lines]},
        )  # fmt: skip

    def _begin_anew(self, state: FileState) -> None:
        """The file's content was replaced: its rows from the start are new rows, under a new
        arrival number (rows of the old content already read keep theirs)."""
        old = state.seq
        self._replaced[old] = (state.name, state.identity, state.lines)
        state.seq = max([*self.states, *self._replaced], default=-1) + 1
        self.states.pop(old, None)
        self.states[state.seq] = state
        state.offset, state.lines, state.header, state.fingerprint = 0, 0, None, None
        state.skip_lines, state.read_lines = 0, 0

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


def _holds(path: Path, size: int, mark: str) -> bool:
    """Whether the file still holds the bytes `mark` (a `fingerprint`) was taken of."""
    length = int(mark.split(":", 1)[0])
    return size >= length and fingerprint(path, length) == mark


def _same_file(state: FileState, info: os.stat_result | None) -> bool:
    """Whether a listed path is the file `state` knows (unknown identity: assumed so)."""
    if info is None or state.identity is None:
        return True
    return state.identity == (info.st_dev, info.st_ino)
