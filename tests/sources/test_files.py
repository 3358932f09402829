"""File stream windows: order, watermarks, new files, quarantine, each row in one window."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from monitor.config import ColumnsConfig, WindowConfig
from monitor.records.rows import ROW_ID
from monitor.sources.base import SourceContext
from monitor.sources.files import FileSource
from monitor.sources.memory import MemorySource
from monitor.sources.rows import RowCheck
from monitor.sources.specs import FilesStreamConfig

NOW = datetime(2030, 1, 1, tzinfo=UTC)
TEXT = ColumnsConfig(text="text", target="label")


def source(
    folder: Path,
    rows: int | None = 3,
    duration: str | None = None,
    ts: str | None = None,
    pattern: str = "*.csv",
) -> FileSource:
    window = WindowConfig.model_validate({"rows": rows} if rows else {"duration": duration})
    stream = FilesStreamConfig(path=str(folder / pattern), timestamp_column=ts)
    return FileSource(stream, context(TEXT, window))


def context(columns: ColumnsConfig, window: WindowConfig) -> SourceContext:
    return SourceContext("files", columns, window, RowCheck(columns))


def drain(src, now=NOW):
    """Every window the source gives until it waits, as lists of texts."""
    after, windows = None, []
    while (window := src.read(after, now)) is not None:
        windows.append(window)
        after = window.position
    return windows, after


def test_rows_windows_in_file_order_and_new_files_picked_up(tmp_path: Path):
    pd.DataFrame({"text": [f"a{i}" for i in range(7)], "label": 1}).to_csv(
        tmp_path / "001.csv", index=False
    )
    src = source(tmp_path)
    windows, after = drain(src)
    assert [w.rows["text"].tolist() for w in windows] == [["a0", "a1", "a2"], ["a3", "a4", "a5"]]
    pd.DataFrame({"text": ["b0", "b1"], "label": 0}).to_csv(tmp_path / "002.csv", index=False)
    window = src.read(after, NOW)
    assert window is not None
    assert window.rows["text"].tolist() == ["a6", "b0", "b1"]
    assert src.read(window.position, NOW) is None


def test_each_row_lands_in_exactly_one_window_across_restarts(tmp_path: Path):
    pd.DataFrame({"text": [f"t{i}" for i in range(20)]}).to_csv(tmp_path / "s.csv", index=False)
    seen: list[str] = []
    after = None
    for _ in range(6):  # a fresh source object each time, as after a restart
        window = source(tmp_path, rows=4).read(after, NOW)
        if window is None:
            break
        seen += window.rows["text"].tolist()
        after = window.position
    assert seen == [f"t{i}" for i in range(20)]


def test_timestamp_order_across_files_and_bad_timestamps_rejected(tmp_path: Path):
    pd.DataFrame(
        {
            "text": ["late", "early", "bad"],
            "ts": ["2024-01-01T03:00:00Z", "2024-01-01T01:00:00Z", "yesterday-ish"],
        }
    ).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"text": ["middle"], "ts": ["2024-01-01T02:00:00Z"]}).to_csv(
        tmp_path / "b.csv", index=False
    )
    window = source(tmp_path, rows=3, ts="ts").read(None, NOW)
    assert window is not None
    assert window.rows["text"].tolist() == ["early", "middle", "late"]
    assert [r.reason for r in window.rejected] == ["unparseable timestamp 'yesterday-ish'"]
    assert window.start == datetime(2024, 1, 1, 1, tzinfo=UTC)
    assert window.end == datetime(2024, 1, 1, 3, tzinfo=UTC)


def test_unusable_rows_are_rejected_with_reasons_and_do_not_count(tmp_path: Path):
    (tmp_path / "s.csv").write_text('text,label\nfine,1\n"",0\n"   ",1\nalso fine,0\n42,1\nok,1\n')
    window = source(tmp_path, rows=3).read(None, NOW)
    assert window is not None
    # pandas reads 42 as text in a string column; "" and whitespace are unusable
    assert window.rows["text"].tolist() == ["fine", "also fine", "42"]
    assert sorted(r.reason for r in window.rejected) == ["empty text", "missing text"]
    assert all(r.row_id.startswith("s.csv:") for r in window.rejected)


def test_non_text_values_are_rejected(tmp_path: Path):
    src = MemorySource(ColumnsConfig(text="text"), WindowConfig(rows=2))
    src.append(pd.DataFrame({"text": ["ok", 3.5, None, "fine"]}))
    window = src.read(None, NOW)
    assert window is not None
    assert window.rows["text"].tolist() == ["ok", "fine"]
    reasons = [r.reason for r in window.rejected]
    assert reasons == ["text is not a string (got float 3.5)", "missing text"]


def test_duration_windows_are_aligned_and_wait_for_completion(tmp_path: Path):
    stamps = [
        "2024-01-01T00:10:00Z",
        "2024-01-01T00:50:00Z",
        "2024-01-01T01:05:00Z",
        "2024-01-01T02:30:00Z",
    ]
    pd.DataFrame({"text": ["a", "b", "c", "d"], "ts": stamps}).to_csv(
        tmp_path / "s.csv", index=False
    )
    src = source(tmp_path, rows=None, duration="1h", ts="ts")
    now = datetime(2024, 1, 1, 2, 40, tzinfo=UTC)
    first = src.read(None, now)
    assert first is not None and first.rows["text"].tolist() == ["a", "b"]
    assert (first.start, first.end) == (
        datetime(2024, 1, 1, 0, tzinfo=UTC),
        datetime(2024, 1, 1, 1, tzinfo=UTC),
    )
    second = src.read(first.position, now)
    assert second is not None and second.rows["text"].tolist() == ["c"]
    assert src.read(second.position, now) is None  # [02:00, 03:00) is not complete at 02:40
    assert json.loads(second.position)["end"].startswith("2024-01-01T02:00")


def test_id_column_becomes_the_row_id(tmp_path: Path):
    pd.DataFrame({"id": ["x1", "x2"], "text": ["a", "b"]}).to_csv(tmp_path / "s.csv", index=False)
    stream = FilesStreamConfig(path=str(tmp_path / "*.csv"))
    src = FileSource(stream, context(ColumnsConfig(text="text", id="id"), WindowConfig(rows=2)))
    window = src.read(None, NOW)
    assert window is not None and window.rows[ROW_ID].tolist() == ["x1", "x2"]


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_parquet_and_json_lines(tmp_path: Path, fmt: str):
    frame = pd.DataFrame({"text": ["a", "b", "c"]})
    if fmt == "parquet":
        frame.to_parquet(tmp_path / "s.parquet")
    else:
        frame.to_json(tmp_path / "s.jsonl", orient="records", lines=True)
    window = source(tmp_path, rows=3, pattern=f"*.{fmt}").read(None, NOW)
    assert window is not None and window.rows["text"].tolist() == ["a", "b", "c"]


def test_a_file_without_the_text_column_is_set_aside_with_the_reason(tmp_path: Path):
    pd.DataFrame({"body": ["a"]}).to_csv(tmp_path / "s.csv", index=False)
    src = source(tmp_path)
    assert src.read(None, NOW) is None  # the stream waits; the file does not stop it
    [unreadable] = src.unreadable_files()
    assert (unreadable.kind, unreadable.row_id) == ("file", "s.csv")
    assert unreadable.reason == "unreadable file: no column(s) 'text' (columns: body)"


def test_empty_stream_waits(tmp_path: Path):
    assert source(tmp_path).read(None, NOW) is None
