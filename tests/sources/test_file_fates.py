"""The fates a stream file meets (issue 22), each checked row by row: arrival out of name
order, appended lines, truncation, rotation, permissions fixed later, a torn last line, a
column named as one of ours, a failed read. Each of these lost rows silently before."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import ColumnsConfig, WindowConfig
from monitor.sources.base import SourceContext
from monitor.sources.files import LATE, FileSource
from monitor.sources.rows import RowCheck
from monitor.sources.specs import FilesStreamConfig

NOW = datetime(2030, 1, 1, tzinfo=UTC)
TEXT = ColumnsConfig(text="text")


def source(folder: Path, rows: int = 2, ts: str | None = None, **window: str) -> FileSource:
    size = WindowConfig.model_validate(window or {"rows": rows})
    stream = FilesStreamConfig(path=str(folder / "*.csv"), timestamp_column=ts)
    return FileSource(stream, SourceContext("files", TEXT, size, RowCheck(TEXT)))


def write(path: Path, texts: list[str], header: bool = True, mode: str = "w") -> None:
    with path.open(mode) as handle:
        if header:
            handle.write("text\n")
        handle.writelines(f"{text}\n" for text in texts)


class Reader:
    """Reads every window, restarting from the stored position when told (a new process)."""

    def __init__(self, folder: Path, **kwargs) -> None:
        self.folder, self.kwargs = folder, kwargs
        self.source = source(folder, **kwargs)
        self.after: str | None = None
        self.seen: list[str] = []
        self.rejected: list[tuple[str, str]] = []

    def drain(self, restart: bool = False, now: datetime = NOW) -> list[str]:
        if restart:
            self.source = source(self.folder, **self.kwargs)
        before = len(self.seen)
        while (window := self.source.read(self.after, now)) is not None:
            self.seen += window.rows["text"].tolist() if "text" in window.rows else []
            self.rejected += [(r.row_id, r.reason) for r in window.rejected]
            self.after = window.position
        return self.seen[before:]


@pytest.mark.parametrize("restart", [False, True])
def test_a_file_whose_name_sorts_before_the_ones_read_is_read(tmp_path: Path, restart) -> None:
    reader = Reader(tmp_path)
    write(tmp_path / "0006.csv", ["a", "b"])
    assert reader.drain() == ["a", "b"]
    write(tmp_path / "0000b.csv", ["late0", "late1"])
    assert reader.drain(restart) == ["late0", "late1"]


@pytest.mark.parametrize("restart", [False, True])
def test_lines_appended_to_a_file_already_read_are_read(tmp_path: Path, restart) -> None:
    reader = Reader(tmp_path)
    write(tmp_path / "a.csv", ["a", "b"])
    write(tmp_path / "b.csv", ["c", "d"])
    assert reader.drain() == ["a", "b", "c", "d"]
    write(tmp_path / "a.csv", ["appended0", "appended1"], header=False, mode="a")
    assert reader.drain(restart) == ["appended0", "appended1"]


@pytest.mark.parametrize("restart", [False, True])
def test_a_file_truncated_and_rewritten_is_read_anew(tmp_path: Path, restart) -> None:
    reader = Reader(tmp_path)
    write(tmp_path / "a.csv", [f"old{i}" for i in range(30)])
    reader.drain()
    write(tmp_path / "a.csv", [f"new{i}" for i in range(20)])  # shorter: truncated
    assert reader.drain(restart) == [f"new{i}" for i in range(20)]
    write(tmp_path / "a.csv", [f"xyz{i}" for i in range(40)])  # longer, other content
    assert reader.drain(restart) == [f"xyz{i}" for i in range(40)]


def test_a_rotated_file_reads_on_under_its_new_name_and_the_new_one_from_its_start(
    tmp_path: Path,
) -> None:
    reader = Reader(tmp_path)
    write(tmp_path / "app.csv", ["a", "b"])
    reader.drain()
    write(tmp_path / "app.csv", ["c"], header=False, mode="a")
    os.rename(tmp_path / "app.csv", tmp_path / "app-1.csv")
    write(tmp_path / "app.csv", ["d", "e", "f"])
    assert sorted(reader.drain()) == ["c", "d", "e", "f"]
    assert reader.seen.count("a") == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads whatever the mode says")
def test_a_file_made_readable_later_is_read(tmp_path: Path) -> None:
    reader = Reader(tmp_path)
    write(tmp_path / "a.csv", ["locked0", "locked1"])
    os.chmod(tmp_path / "a.csv", 0)
    write(tmp_path / "b.csv", ["open0", "open1"])
    assert reader.drain() == ["open0", "open1"]
    assert [r.row_id for r in reader.source.unreadable_files()] == ["a.csv"]
    os.chmod(tmp_path / "a.csv", 0o644)  # size and mtime unchanged
    assert reader.drain() == ["locked0", "locked1"]


def test_a_file_refused_for_an_os_error_is_tried_at_every_scan(tmp_path: Path, monkeypatch):
    """As above, for root too: the read fails with EACCES, then succeeds, stamp unchanged."""
    import monitor.sources.file_scan as scan

    real = scan.read_chunk
    refused = {"on": True}

    def read_chunk(path, *args, **kwargs):
        if refused["on"] and path.name == "a.csv":
            raise PermissionError(13, "Permission denied")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(scan, "read_chunk", read_chunk)
    reader = Reader(tmp_path)
    write(tmp_path / "a.csv", ["locked0", "locked1"])
    write(tmp_path / "b.csv", ["open0", "open1"])
    assert reader.drain() == ["open0", "open1"]
    (aside,) = reader.source.unreadable_files()
    assert aside.row_id == "a.csv" and "Permission denied" in aside.reason
    refused["on"] = False
    assert reader.drain() == ["locked0", "locked1"]
    assert reader.source.unreadable_files() == []


def test_a_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    reader = Reader(tmp_path)
    path = tmp_path / "a.csv"
    path.write_text("text\nr37\nr38\nr39 -2.6")
    assert reader.drain() == ["r37", "r38"]
    with path.open("a") as handle:
        handle.write("463\nr40\n")
    assert reader.drain() == ["r39 -2.6463", "r40"]


@pytest.mark.parametrize("column", ["_line", "_problem", "_start", "_seq"])
def test_a_column_named_as_one_of_ours_does_not_break_the_read(tmp_path: Path, column) -> None:
    reader = Reader(tmp_path, rows=2)
    (tmp_path / "a.csv").write_text(f"text,{column}\nx,1\ny,2\n")
    assert reader.drain() == ["x", "y"]


def test_a_read_that_fails_reads_the_same_rows_again(tmp_path: Path, monkeypatch) -> None:
    reader = Reader(tmp_path, rows=2)
    write(tmp_path / "a.csv", ["a", "b", "c", "d"])
    src = reader.source
    real = src._cut
    monkeypatch.setattr(src, "_cut", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        src.read(None, NOW)
    monkeypatch.setattr(src, "_cut", real)
    assert reader.drain() == ["a", "b", "c", "d"]


def test_a_window_not_recorded_is_read_again(tmp_path: Path) -> None:
    reader = Reader(tmp_path, rows=2)
    write(tmp_path / "a.csv", ["a", "b", "c"])
    first = reader.source.read(None, NOW)
    assert first is not None
    again = reader.source.read(None, NOW)  # the cycle failed: the store still says None
    assert again is not None and again.rows["text"].tolist() == ["a", "b"]


def test_a_row_arriving_after_its_window_was_recorded_is_quarantined_as_late(
    tmp_path: Path,
) -> None:
    reader = Reader(tmp_path, ts="ts", duration="1h")
    (tmp_path / "a.csv").write_text("text,ts\nx,2024-01-01T00:10:00Z\ny,2024-01-01T01:10:00Z\n")
    assert reader.drain(now=datetime(2024, 1, 1, 2, tzinfo=UTC)) == ["x", "y"]
    (tmp_path / "b.csv").write_text("text,ts\nold,2024-01-01T00:20:00Z\n")
    reader.drain(restart=True, now=datetime(2024, 1, 1, 3, tzinfo=UTC))
    assert ("b.csv:1", LATE) in reader.rejected


def test_a_fifo_in_the_glob_is_set_aside_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.csv")
    write(tmp_path / "a.csv", ["a", "b"])
    reader = Reader(tmp_path)
    assert reader.drain() == ["a", "b"]
    (aside,) = reader.source.unreadable_files()
    assert aside.row_id == "pipe.csv" and "FIFO" in aside.reason
