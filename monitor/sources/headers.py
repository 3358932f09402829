"""A data file's format and column names, read from its header alone (no pandas).

`check-config` uses it to find missing columns in a second; the file source uses the same
suffix table to pick its reader.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from monitor.plugins.spec import Finding

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}
FORMATS[".ndjson"] = "jsonl"


def format_of(path: Path, declared: str | None = None) -> str | None:
    """The declared format, else the one the suffix tells (None: it tells none)."""
    return declared or FORMATS.get(path.suffix.lower())


def table_columns(path: Path, declared: str | None = None) -> tuple[list[str], str | None]:
    """A data file's column names from its header (CSV), schema (Parquet) or first line.

    Returns the names and None, or no names and why the file could not be read.
    """
    fmt = format_of(path, declared)
    if fmt is None:
        return (
            [],
            f"{path}: cannot tell the format from {path.suffix!r}; use .csv, .parquet, .jsonl",
        )
    if path.exists() and not path.is_file():  # a FIFO would block the open until written to
        return [], f"{path} is not a regular file (a folder, FIFO or device)"
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names), None
        # the first line alone, as the readers take it: a bad byte further on costs its own
        # line at run time (quarantined), not the file, so it is no finding here
        with path.open("rb") as handle:
            for raw in handle:
                if fmt == "csv":
                    try:
                        return next(csv.reader([raw.decode("utf-8-sig")]), []), None
                    except UnicodeDecodeError as exc:
                        byte = raw[exc.start]
                        return [], f"{path}: the header is not UTF-8 text (byte 0x{byte:02x})"
                if raw.strip():
                    try:
                        row = json.loads(raw.decode("utf-8"))
                    except UnicodeDecodeError:
                        continue  # the reader quarantines this line alone
                    if not isinstance(row, dict):
                        return [], f"{path}: the first line is not a JSON object"
                    return list(row), None
        return [], None
    except (OSError, ValueError, csv.Error) as exc:
        return [], f"cannot read {path} as {fmt}: {exc}"


def missing_columns(
    key: str, path: Path, columns: list[str], wanted: tuple[str, ...] | list[str], *, warning: bool
) -> list[Finding]:
    """A finding naming the `wanted` columns `path` lacks (none when it has them all)."""
    missing = [c for c in wanted if c not in columns]
    if not missing:
        return []
    shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
    message = f"{path} has no column(s) {', '.join(map(repr, missing))} (columns: {shown})"
    return [Finding(key, message, warning=warning)]


def first_timestamp(path: Path, column: str, unit: str, declared: str | None = None) -> str | None:
    """How the first row's `column` of a CSV or JSON Lines file reads when it is an epoch
    number (in `unit`), for `check-config` to show; None for text dates, no row, Parquet."""
    fmt = format_of(path, declared)
    if fmt not in ("csv", "jsonl") or not path.is_file():
        return None
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            if fmt == "csv":
                reader = csv.DictReader(handle)
                row: object = next(reader, None)
            else:
                line = next((text for text in handle if text.strip()), None)
                row = None if line is None else json.loads(line)
    except (OSError, UnicodeDecodeError, ValueError, csv.Error):
        return None
    if not isinstance(row, dict) or row.get(column) in (None, ""):
        return None
    value = row[column]
    try:
        float(str(value).strip())
    except ValueError:
        return None  # a date written as text reads as itself: only a number has a unit
    return f"{value!r} reads as {_moment(value, unit)}"


def _moment(value: object, unit: str) -> str:
    from datetime import UTC, datetime

    per_second = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}[unit]
    try:
        number = float(str(value).strip())
    except ValueError:
        number = None
    try:
        if number is not None:
            moment = datetime.fromtimestamp(number / per_second, UTC)
            return f"{moment.isoformat()} (an epoch number in {unit}: `timestamp_unit`)"
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return "no time (such rows are quarantined)"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()
