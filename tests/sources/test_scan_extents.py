"""Rows a process read and no window stored, whose file is rewritten before a restarted
process reads it again (issue 22): the last scan's extents, kept in the store apart from the
watermark, let the new process name them in the quarantine instead of losing them unseen."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.config import ColumnsConfig, WindowConfig
from monitor.sources.base import SourceContext
from monitor.sources.files import FileSource
from monitor.sources.rows import RowCheck
from monitor.sources.specs import FilesStreamConfig
from monitor.store.database import open_store
from monitor.store.scan_extents import keep_scan_extent, kept_scan_extent

NOW = datetime(2030, 1, 1, tzinfo=UTC)
TEXT = ColumnsConfig(text="text")


def source(folder: Path, rows: int = 5) -> FileSource:
    stream = FilesStreamConfig(path=str(folder / "*.csv"))
    size = WindowConfig.model_validate({"rows": rows})
    return FileSource(stream, SourceContext("files", TEXT, size, RowCheck(TEXT)))


def write(path: Path, texts: list[str]) -> None:
    path.write_text("text\n" + "".join(f"{text}\n" for text in texts))


def gone(found: FileSource) -> list[tuple[str, str, dict]]:
    return [(r.row_id, r.reason, r.raw) for r in found.unreadable_files() if "gone" in r.reason]


def test_rows_read_by_a_process_that_stopped_are_quarantined_when_their_file_is_rewritten(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.csv"
    write(path, ["r1", "r2", "r3"])
    first = source(tmp_path)
    assert first.read(None, NOW) is None  # 3 rows read, 5 needed: no window, no position
    kept = first.scan_extent()
    assert kept is not None and first.scan_extent() is None  # kept once, until it changes
    write(path, ["n1", "n2", "n3", "n4", "n5", "n6"])  # rewritten while no process ran
    second = source(tmp_path)
    second.recall_extent(kept)
    window = second.read(None, NOW)
    assert window is not None and window.rows["text"].tolist() == ["n1", "n2", "n3", "n4", "n5"]
    [(row_id, reason, raw)] = gone(second)
    assert row_id == "a.csv@0"
    assert reason.endswith("rewritten before its rows 1..3 were stored in a window: 3 row(s) gone")
    assert raw["lines"] == [[1, 3]] and raw["identity"][1] == path.stat().st_ino


def test_rows_past_the_stored_position_are_gone_only_when_the_file_changed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.csv"
    write(path, ["r1", "r2"])
    first = source(tmp_path, rows=2)
    window = first.read(None, NOW)
    assert window is not None
    position = window.position
    with path.open("a") as handle:
        handle.write("r3\nr4\n")
    assert first.read(position, NOW) is not None  # read; its window is never stored
    kept = first.scan_extent()
    # unchanged: the new process reads r3 and r4 again, nothing is gone
    again = source(tmp_path, rows=2)
    again.recall_extent(kept)
    window = again.read(position, NOW)
    assert window is not None and window.rows["text"].tolist() == ["r3", "r4"]
    assert gone(again) == []
    # truncated back to the stored rows and grown anew: r3 and r4 are gone
    write(path, ["r1", "r2", "x3", "x4"])
    third = source(tmp_path, rows=2)
    third.recall_extent(kept)
    window = third.read(position, NOW)
    assert window is not None and window.rows["text"].tolist() == ["x3", "x4"]
    [(_, reason, raw)] = gone(third)
    assert "rows 3..4" in reason and raw["lines"] == [[3, 4]]


def test_the_store_keeps_one_extent_record_per_monitor(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    with store.reading() as session:
        assert kept_scan_extent(session, "m") is None
    for text in ("first", "second"):
        with store.transaction() as session:
            keep_scan_extent(session, "m", text, NOW)
    with store.reading() as session:
        assert kept_scan_extent(session, "m") == "second"
        assert kept_scan_extent(session, "other") is None
