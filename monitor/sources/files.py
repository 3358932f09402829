"""A stream of CSV, Parquet or JSON Lines files matched by a glob, read incrementally.

Each read takes in only what the files gained since the last one (new files, appended
bytes, a file rewritten from its start); rows wait in memory until a window takes them.
Rows are ordered by timestamp when the stream has one, else by the order files arrived in,
then line; never by file name, so a file that arrives late with an early name is read.
The watermark (position) holds the key of the last row consumed and, per file (known by
identity, `monitor.sources.file_identity`), the point before which every row is consumed,
so a restarted process reads on from there. It is stored with the window, so a cycle that
fails moves nothing: the next one reads the same rows again. A row that cannot be read is
quarantined, and so is a row whose timestamp falls before a window already recorded (it
arrived late); a file that cannot be read is set aside whole (`unreadable_files`). None of
them stops the stream, and none is dropped without a reason.
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
from monitor.sources.file_identity import (
    NEVER,
    FileState,
    decode_extents,
    decode_states,
    encode_extents,
    encode_states,
)
from monitor.sources.file_readers import LINE, START
from monitor.sources.file_scan import SEQ, StreamFiles
from monitor.sources.headers import format_of
from monitor.sources.rows import json_safe
from monitor.sources.specs import FilesStreamConfig
from monitor.sources.tabular import FILE, dated

LATE = "arrived after a window past its timestamp was recorded"
_NONE_YET: tuple[str | None, str | None, str | None] = (None, None, None)


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
    mark: tuple[Any, ...] | None


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
        self._loose_places: list[tuple[int, int]] = []  # (arrival number, line) of each
        self._mark: tuple[Any, ...] | None = None
        self._issued: _Issued | None = None
        #: the last scan's extents, the ones last handed out, and the ones the store keeps
        self._extents, self._extents_kept, self._recalled = _NONE_YET

    def scan_extent(self) -> str | None:
        """What the last scan read past the stored position, to keep beside it (in a
        record of its own, not with the window); None: unchanged since last handed out."""
        if self._extents is None or self._extents == self._extents_kept:
            return None
        self._extents_kept = self._extents
        return self._extents

    def recall_extent(self, kept: str | None) -> None:
        """The extents the last process kept: checked against the files at the next read
        from a stored position, so rows it read and no window stored are not lost unseen."""
        self._recalled = kept
        self._extents_kept = kept

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
        saved = (
            self.files.snapshot(), self._pending, list(self._loose), list(self._loose_places)
        )  # fmt: skip
        try:
            return self._next_window(after, now)
        except Exception:
            # what this read took in is not lost: the next read takes it in again
            self.files.restore(saved[0])
            self._pending, self._loose, self._loose_places = saved[1], saved[2], saved[3]
            raise

    def _next_window(self, after: str | None, now: datetime) -> Window | None:
        self._take_in(self.files.scan().chunks)
        cut = self._cut(after, now)
        if cut is None:
            self._extents = self._extents_now(None, 0)
            return None
        if self.window.rows is not None:
            # a window of loose rows alone consumes no ordered row: the key stays
            last = (
                self._key_of(self._pending.iloc[cut.consumed - 1]) if cut.consumed else self._mark
            )
            mark: dict[str, Any] = {"key": None if last is None else list(last)}
            new_mark = last
        else:
            assert cut.end is not None
            mark = {"end": cut.end.isoformat()}
            new_mark = (pd.Timestamp(cut.end).value,)
        position = json.dumps({**mark, "files": self._files_after(cut.consumed)}, sort_keys=True)
        self._issued = _Issued(position, cut.consumed, new_mark)
        self._extents = self._extents_now(position, cut.consumed)
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

    def _take_in(self, chunks: dict[int, pd.DataFrame]) -> None:
        """Add newly read rows to the pending ones, in key order."""
        frames = [self._prepared(seq, rows) for seq, rows in chunks.items()]
        frames = [f for f in frames if not f.empty]
        if not frames:
            return
        fresh = pd.concat(frames, ignore_index=True)
        pending = (
            pd.concat([self._pending, fresh], ignore_index=True) if len(self._pending) else fresh
        )
        order = [TIMESTAMP, SEQ, LINE] if self.timestamp_column else [SEQ, LINE]
        self._pending = pending.sort_values(order, kind="stable").reset_index(drop=True)

    def _prepared(self, seq: int, rows: pd.DataFrame) -> pd.DataFrame:
        placed = self._placed(seq, rows)
        if self.timestamp_column is not None:  # where the rows that went loose came from
            fresh = rows[LINE][rows[LINE] > self.files.states[seq].read_lines]
            kept = set(placed[LINE])
            self._loose_places += [(seq, int(line)) for line in fresh if line not in kept]
        return placed

    def _placed(self, seq: int, rows: pd.DataFrame) -> pd.DataFrame:
        """Rows of one file with their place, id and timestamp; the ones that have no place
        in a dated order (unreadable, no timestamp, or late) go to the loose rows."""
        state = self.files.states[seq]
        rows = rows.assign(**{FILE: state.name, SEQ: seq})
        place = state.name + ":" + rows[LINE].astype(str)
        if self.columns.id is not None and self.columns.id in rows.columns:
            given = rows[self.columns.id]
            rows[ROW_ID] = given.map(_id_text).where(given.notna(), place)  # no id: its place
        else:
            rows[ROW_ID] = place
        if self.timestamp_column is None:
            return rows
        # rows read before the stored position were consumed, unless they wait past the mark
        before = rows[LINE] <= state.read_lines
        fresh, old = rows[~before], rows[before]
        bad = fresh[PROBLEM].notna() if PROBLEM in fresh.columns else fresh[LINE] < 0
        self._loose += _rejected(fresh[bad])
        unit = self.stream.timestamp_unit
        fresh, undated = dated(fresh[~bad], self.timestamp_column, unit)
        self._loose += undated
        old_ok = old[PROBLEM].isna() if PROBLEM in old.columns else old[LINE] >= 0
        old, _ = dated(old[old_ok], self.timestamp_column, unit)
        if self._mark is None:
            return pd.concat([old, fresh]) if len(old) else fresh
        late = ~self._past(fresh)
        self._loose += _rejected(fresh[late].assign(**{PROBLEM: LATE}))
        return pd.concat([old[self._past(old)], fresh[~late]])

    def _past(self, rows: pd.DataFrame) -> pd.Series:
        """Which dated rows sort after the watermark."""
        mark = self._mark
        assert mark is not None
        keys = zip(
            rows[TIMESTAMP].astype("int64"), rows[SEQ].astype(int), rows[LINE].astype(int),
            strict=True,
        )  # fmt: skip
        return pd.Series([key > mark for key in keys], index=rows.index, dtype=bool)

    def _key_of(self, row: pd.Series) -> tuple[Any, ...]:
        if self.timestamp_column is not None:
            return (int(row[TIMESTAMP].value), int(row[SEQ]), int(row[LINE]))
        return (int(row[SEQ]), int(row[LINE]))

    def _files_after(self, consumed: int) -> list[list[Any]]:
        """Per file, the point before which every row is consumed once `consumed` pending
        rows (and every loose row) go: the first remaining row's start, else all read."""
        remaining = self._pending.iloc[consumed:]
        firsts: dict[int, tuple[int, int]] = {}
        if not remaining.empty:
            heads = remaining.sort_values([SEQ, LINE]).groupby(SEQ, sort=False).head(1)
            for seq, start, line in zip(heads[SEQ], heads[START], heads[LINE], strict=True):
                firsts[int(seq)] = (int(start), int(line) - 1)
        entries: list[tuple[FileState, int, int, int]] = []
        for seq, state in sorted(self.files.states.items()):
            offset, lines = firsts.get(seq, (state.offset, state.lines))
            entries.append((state, offset, lines, max(state.lines, state.skip_lines)))
        return encode_states(entries)

    def _extents_now(self, issued: str | None, consumed: int) -> str:
        extents = self.files.extents(self._waiting(consumed))
        return encode_extents(issued, extents, self.files.vanished)

    def _waiting(self, consumed: int) -> dict[int, tuple[list[int], list[int]]]:
        """Per arrival number, the rows still waiting once `consumed` pending rows go (and
        the loose ones with them), and if none goes."""
        waiting: dict[int, tuple[list[int], list[int]]] = {}
        for seq, line in self._loose_places:
            waiting.setdefault(seq, ([], []))[1].append(line)
        for index, (seq, line) in enumerate(
            zip(self._pending.get(SEQ, []), self._pending.get(LINE, []), strict=True)
        ):
            after, before = waiting.setdefault(int(seq), ([], []))
            before.append(int(line))
            if index >= consumed:
                after.append(int(line))
        return waiting

    def _adopt(self, issued: _Issued) -> None:
        """The window handed out was recorded: its rows and the loose ones are consumed."""
        self._mark = issued.mark
        self._pending = self._pending.iloc[issued.consumed :].reset_index(drop=True)
        self._loose, self._loose_places = [], []

    def _restart(self, after: str | None) -> None:
        """Read anew from a stored position: each file from its recorded offset (a position
        stored before offsets were kept has none: every file is read from its start)."""
        try:
            stored: dict[str, Any] = json.loads(after) if after else {}
            states = decode_states(stored.get("files"), None)
            legacy = isinstance(stored.get("files"), dict) or (after and "files" not in stored)
            key = stored.get("key")
            skip_before = None
            if legacy and key and self.timestamp_column is None:
                skip_before = str(key[0])  # an older file-order position: files before it
            if legacy:
                for state in states:
                    state.read_lines = NEVER
            self._mark = _mark_of(stored, {s.name: s.seq for s in states})
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise SourceError(
                f"the stored watermark is not a file stream's ({(after or '')[:80]!r}); "
                "use a fresh store"
            ) from None
        if self.timestamp_column is None:
            self._mark = None  # a file-order stream's offsets say all
        self.files.start_at(states, skip_before)
        if self._recalled is not None:
            issued, extents, gone = decode_extents(self._recalled)
            self.files.vanished.update(gone)
            self.files.recall(extents, stored=issued is not None and issued == after)
            self._recalled = None
        self._pending = pd.DataFrame()
        self._loose, self._loose_places = [], []


def _rejected(rows: pd.DataFrame) -> list[Rejected]:
    return [
        Rejected(str(record[ROW_ID]), str(record[PROBLEM]), json_safe(record))
        for record in rows.to_dict("records")
    ]


def _id_text(value: Any) -> str:
    """A row id as text: 10, not 10.0, when a column with gaps made it a float."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _mark_of(stored: dict[str, Any], seqs: dict[str, int]) -> tuple[Any, ...] | None:
    """The key every consumed row sorts at or before: the last row's, or (end,) for a
    duration window, which every row from its end on sorts after. An older position's key
    names its file; it is turned into that file's arrival number."""
    key = stored.get("key")
    if key is not None:
        if len(key) == 3 and isinstance(key[1], str):
            return (int(key[0]), seqs.get(key[1], -1), int(key[2]))
        return tuple(key)
    if stored.get("end") is not None:
        return (pd.Timestamp(stored["end"]).value,)
    return None
