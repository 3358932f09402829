"""Reading one stream file from where the last read stopped, whatever the file holds.

Each reader takes a file and a starting point (a byte offset for CSV and JSON Lines, a row
count for Parquet) and returns the rows after it with each row's place, plus the point to
start from next time. A bad line costs that line only: it comes back as a row carrying the
reason (`_problem`), so the cycle quarantines it. A file that cannot be read at all (a
corrupt Parquet file, a header that is not text) raises `Unreadable`, and the source sets
the file aside whole.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from monitor.records.rows import PROBLEM

LINE = "_line"
START = "_start"  # where the row begins: a byte offset, or a row index for Parquet
#: column names the sources use for themselves; a stream's own are dropped
RESERVED = frozenset({LINE, START, PROBLEM, "_file", "_row_id", "_ts", "_seq"})


class Unreadable(Exception):
    """The rest of a file cannot be read; `reason` says why (shown in the quarantine)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Chunk:
    """Rows read from one file: the data columns, `_line`, `_start` and `_problem`."""

    rows: pd.DataFrame
    #: where the next read starts, and how many rows the file had up to there
    offset: int
    lines: int
    #: a CSV file's header (kept: a later read starts past it)
    header: list[str] | None = None
    #: the columns every row has (a CSV header, a Parquet schema); None for JSON Lines
    schema: list[str] | None = None
    #: why the file cannot be read past `offset` (its rows before that came back)
    unreadable_after: str | None = None


def read_chunk(
    path: Path,
    fmt: str,
    offset: int,
    lines: int,
    size: int,
    header: list[str] | None,
    text_columns: tuple[str, ...] = (),
) -> Chunk:
    """The rows of `path` past `offset` (up to `size`, the length seen when listing it)."""
    if fmt == "parquet":
        return _parquet(path, offset)
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read(max(0, size - offset))
    # a last line without its newline is still being written: it waits for the newline
    data = data[: data.rfind(b"\n") + 1]
    if fmt == "jsonl":
        return _json_lines(data, offset, lines)
    return _csv(path, data, offset, lines, header, text_columns)


# ---------------------------------------------------------------- CSV


def _csv(
    path: Path,
    data: bytes,
    offset: int,
    lines: int,
    header: list[str] | None,
    text_columns: tuple[str, ...],
) -> Chunk:
    if header is None:
        header, skipped = _csv_header(path)
        if header is None:
            return Chunk(_empty(), offset, lines)
        if offset < skipped:
            data, offset = data[skipped - offset :], skipped
    records = list(_records(data))
    unreadable = None
    if records and records[-1].unbalanced:
        records.pop()  # the rows before it are read; from it on, the file is set aside
        unreadable = (
            f"an unbalanced quote in data row {lines + len(records) + 1}: the rest of the "
            "file cannot be split into rows"
        )
        if not records:
            raise Unreadable(unreadable)
    places: list[dict[str, Any]] = []
    fields: list[list[str]] = []
    for record in records:
        lines += 1
        problem = record.problem
        if problem is None and len(record.fields) > len(header):
            problem = f"{len(record.fields)} fields where the header has {len(header)}"
        places.append({LINE: lines, START: offset + record.start, PROBLEM: problem})
        fields.append(record.fields)  # a bad row's fields too: the quarantine shows them
    values = csv_values(header, fields, text_columns)
    # a stream's own columns named as ours (`_line`, `_problem`...) would clash with them
    values = values.loc[:, [name not in RESERVED for name in values.columns]]
    frame = pd.concat([values, pd.DataFrame(places, columns=[LINE, START, PROBLEM])], axis=1)
    end = offset + (records[-1].end if records else 0)
    return Chunk(frame, end, lines, header, list(header), unreadable)


def _csv_header(path: Path) -> tuple[list[str] | None, int]:
    """The header's names and its length in bytes (None while its line is incomplete)."""
    with path.open("rb") as handle:
        first = handle.readline(1 << 20)
    if not first.endswith(b"\n"):
        return None, 0
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"the header is not UTF-8 text (byte 0x{first[exc.start]:02x})") from None
    try:
        names = next(csv.reader([text]), [])
    except csv.Error as exc:
        raise Unreadable(f"the header cannot be read as CSV: {exc}") from None
    if not any(name.strip() for name in names):
        raise Unreadable("the first line is empty, not a header")
    return names, len(first)


@dataclass
class _Record:
    start: int
    end: int
    fields: list[str]
    problem: str | None = None
    unbalanced: bool = False


def _records(data: bytes) -> Iterator[_Record]:
    """CSV records with their byte spans; blank lines are skipped, as pandas skips them.

    The reader is lenient (`"x"y` reads as pandas reads it); a quote left open swallows
    every line to the end, so the last record alone is read again strictly to tell.
    """
    feed = _LineFeed(data)
    while not feed.done:
        start = feed.position
        taken: list[str] = []
        problems: list[str] = []
        try:
            fields = next(csv.reader(feed.lines(taken, problems), strict=False))
        except StopIteration:
            return
        except csv.Error as exc:
            fields, problems = [], [f"cannot be read as CSV: {exc}"]
        if not fields and not problems:
            continue  # a blank line
        unbalanced = feed.done and _open_quote("".join(taken))
        yield _Record(start, feed.position, fields, problems[0] if problems else None, unbalanced)


class _LineFeed:
    """Physical lines of `data`, handed to a csv reader one at a time as it asks."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.spans = _physical_lines(data)
        self.index = 0

    @property
    def done(self) -> bool:
        return self.index >= len(self.spans)

    @property
    def position(self) -> int:
        """The byte offset of the next line (the data's length once all are read)."""
        return self.spans[self.index][0] if not self.done else len(self.data)

    def lines(self, taken: list[str], problems: list[str]) -> Iterator[str]:
        while not self.done:
            begin, end = self.spans[self.index]
            self.index += 1
            raw = self.data[begin:end]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append(f"not UTF-8 text (byte 0x{raw[exc.start]:02x})")
                text = raw.decode("utf-8", errors="replace")
            taken.append(text)
            yield text


def _open_quote(text: str) -> bool:
    try:
        list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        return "end of data" in str(exc)
    return False


def _physical_lines(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each line, its newline included; a last line without one counts."""
    spans = []
    start = 0
    while start < len(data):
        newline = data.find(b"\n", start)
        end = len(data) if newline < 0 else newline + 1
        spans.append((start, end))
        start = end
    return spans


def csv_values(
    header: list[str], records: list[list[str]], text_columns: tuple[str, ...]
) -> pd.DataFrame:
    """Records as pandas reads a CSV: NA markers are missing, a column whose values all read
    as numbers holds numbers; `text_columns` stay text. A short record is padded."""
    width = len(header)
    padded = [(fields + [""] * width)[:width] for fields in records]
    frame = pd.DataFrame(padded, columns=header, dtype=object)
    if frame.empty:
        return frame
    frame = frame.where(~frame.isin(NA_VALUES), None)
    for position, name in enumerate(header):
        if name in text_columns:
            continue
        column = frame.iloc[:, position]
        present = column.notna()
        numbers = pd.to_numeric(column, errors="coerce")
        if present.any() and numbers[present].notna().all():
            frame.isetitem(position, numbers)
    return frame


#: the strings `pandas.read_csv` reads as missing by default (its documented `na_values`
#: list), so a row read here and the same row read by pandas agree;
#: tests/sources/test_na_values.py holds the two together
NA_VALUES: tuple[str, ...] = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)


# ---------------------------------------------------------------- JSON Lines


def _json_lines(data: bytes, offset: int, lines: int) -> Chunk:
    rows: list[dict[str, Any]] = []
    end = 0
    for begin, stop in _physical_lines(data):
        end = stop
        raw = data[begin:stop]
        if not raw.strip():
            continue
        lines += 1
        row: dict[str, Any] = {LINE: lines, START: offset + begin, PROBLEM: None}
        try:
            value = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            row[PROBLEM] = f"not UTF-8 text (byte 0x{raw[exc.start]:02x})"
        except ValueError as exc:
            row[PROBLEM] = f"not valid JSON: {str(exc).split(':')[0]}"
        else:
            if isinstance(value, dict):
                row.update({str(k): v for k, v in value.items() if str(k) not in RESERVED})
            else:
                row[PROBLEM] = f"a JSON {type(value).__name__}, not an object"
        rows.append(row)
    frame = pd.DataFrame(rows) if rows else _empty()
    return Chunk(frame, offset + end, lines)


# ---------------------------------------------------------------- Parquet


def _parquet(path: Path, offset: int) -> Chunk:
    """Rows past `offset` (a row count): a Parquet file is rewritten whole, never appended."""
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    except Exception as exc:  # any of pyarrow's errors: the file is unreadable as it is
        raise Unreadable(f"cannot read as Parquet: {str(exc).splitlines()[0][:200]}") from None
    try:
        frame = table.slice(offset).to_pandas()
    except Exception as exc:
        raise Unreadable(f"cannot convert its rows: {str(exc).splitlines()[0][:200]}") from None
    frame.columns = [str(c) for c in frame.columns]
    columns = list(frame.columns)
    frame = frame.loc[:, [name not in RESERVED for name in columns]]
    frame = frame.assign(**{LINE: range(offset + 1, table.num_rows + 1), PROBLEM: None})
    frame[START] = frame[LINE] - 1
    return Chunk(frame.reset_index(drop=True), table.num_rows, table.num_rows, schema=columns)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({LINE: pd.Series(dtype=int), START: pd.Series(dtype=int), PROBLEM: []})
