"""Bad input costs only itself: bad rows and files are quarantined and the stream goes on,
every row lands in one window across restarts, and reads take only what is new.

A real scikit-learn monitor over real files in a temporary folder; each "restart" builds a
new runtime (and source) from the same store, as a new process would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from alerts.support import config_document, window_rows

from monitor.clock import SimulatedClock
from monitor.config import Config, parse_config
from monitor.cycle import CycleOutcome, MonitorRuntime, run_cycle
from monitor.store import Store
from monitor.store.quarantine import quarantined_rows
from monitor.store.run_reads import predictions
from monitor.store.scan_extents import kept_scan_extent
from monitor.views.runs import run_summaries

pytestmark = pytest.mark.faults


class Monitor:
    """One monitor of `rows` rows per window over `folder/stream/*` (any suffix)."""

    def __init__(self, folder: Path, rows: int = 40, **monitor: Any) -> None:
        document = config_document(folder, alerts=[])
        block = document["monitors"][0]
        block["stream"] = {"path": str(folder / "stream" / "*"), **monitor.pop("stream", {})}
        block["columns"] = {"features": ["x"], "target": "y", "id": "id"}
        block["window"] = {"rows": rows}
        block.update(monitor)
        (folder / "stream").mkdir(exist_ok=True)
        self.folder = folder
        self.config: Config = parse_config(document, folder)
        self.store = Store(self.config.storage)
        self.clock = SimulatedClock(datetime(2024, 3, 1, tzinfo=UTC))
        self.restart()

    def restart(self) -> None:
        self.runtime = MonitorRuntime.build(self.config.monitors[0])

    def cycle(self) -> CycleOutcome:
        self.clock.advance(timedelta(minutes=5))
        return run_cycle(self.runtime, self.store, self.clock)

    def drain(self) -> list[CycleOutcome]:
        outcomes = []
        while (outcome := self.cycle()).status == "ok":
            outcomes.append(outcome)
        assert outcome.status == "waiting", outcome.error
        return outcomes

    def runs(self) -> list[dict[str, Any]]:
        with self.store.reading() as session:
            return run_summaries(session)

    def quarantine(self) -> list[dict[str, Any]]:
        with self.store.reading() as session:
            return quarantined_rows(session)

    def scored_ids(self) -> list[str]:
        with self.store.reading() as session:
            return [p.row_id for run in self.runs() for p in predictions(session, run["run_id"])]


def rows(start: int, count: int, seed: int = 0) -> pd.DataFrame:
    frame = window_rows(0.9, rows=count, seed=seed)
    return frame.assign(id=[f"r{i}" for i in range(start, start + count)])[["id", "x", "y"]]


def test_bad_files_and_lines_cost_only_themselves(tmp_path: Path) -> None:
    """Every kind of bad input the issue lists, between good files: the good rows are all
    scored, once; each bad line is a quarantined row, each unreadable file one entry."""
    monitor = Monitor(tmp_path)
    stream = tmp_path / "stream"
    rows(0, 40).to_csv(stream / "01.csv", index=False)
    (stream / "02.csv").write_text('id,x,y\nb1,0.5,1,extra\nb2,"0.5,1\nb3,0.7,1\n')
    (stream / "03.csv").write_bytes(b"id,x,y\nb4,0.5\xff\xfe,1\n")
    (stream / "04.parquet").write_bytes(b"PAR1 not really parquet")
    pq.write_table(pa.Table.from_pandas(rows(900, 5)), stream / "05.parquet")
    (stream / "05.parquet").write_bytes((stream / "05.parquet").read_bytes()[:60])  # truncated
    (stream / "06.parquet").write_bytes(b"")
    (stream / "07.jsonl").write_text(
        '{"id": "b5", "x": 0.3\n[1, 2]\n\n{"id": "r40", "x": 1.2, "y": 1}\n'
    )
    (stream / "08.jsonl").write_bytes(b"")
    (stream / "09.csv").mkdir()  # a folder the glob matches
    (stream / "10.txt").write_text("notes, not data\n")
    rows(41, 39).to_csv(stream / "11.csv", index=False)

    outcomes = monitor.drain()
    assert [o.rows for o in outcomes] == [40, 40]
    assert sorted(monitor.scored_ids()) == sorted(f"r{i}" for i in range(80))
    entries = {e["row_id"]: (e["kind"], e["reason"]) for e in monitor.quarantine()}
    assert entries["b1"] == ("row", "4 fields where the header has 3")
    assert entries["b4"] == ("row", "not UTF-8 text (byte 0xff)")
    assert entries["07.jsonl:1"][1].startswith("not valid JSON")
    assert entries["07.jsonl:2"] == ("row", "a JSON list, not an object")
    files = {name: reason for name, (kind, reason) in entries.items() if kind == "file"}
    assert set(files) == {"02.csv", "04.parquet", "05.parquet", "06.parquet", "09.csv", "10.txt"}
    assert "unbalanced quote in data row 2" in files["02.csv"]
    assert "cannot read as Parquet" in files["05.parquet"]
    assert files["09.csv"] == "unreadable file: it is a folder, not a file"
    assert "cannot tell its format from '.txt'" in files["10.txt"]
    assert sum(r["quarantined_files"] for r in monitor.runs()) == len(files)

    monitor.restart()  # a new process: nothing is scored or quarantined twice
    assert monitor.cycle().status == "waiting"
    assert len(monitor.quarantine()) == len(entries)


def test_a_bad_cell_quarantines_its_row_not_the_monitor(tmp_path: Path) -> None:
    monitor = Monitor(tmp_path)
    frame = rows(0, 45).astype({"x": object})
    frame.loc[[3, 17], "x"] = ["not a number", "inf"]
    frame.to_csv(tmp_path / "stream" / "01.csv", index=False)
    (outcome,) = monitor.drain()
    assert (outcome.rows, outcome.quarantined) == (40, 2)
    reasons = sorted(e["reason"] for e in monitor.quarantine())
    assert reasons == [
        "feature 'x' is not a finite number (got 'inf')",
        "feature 'x' is not a finite number (got 'not a number')",
    ]


def test_a_window_of_only_unusable_rows_is_recorded_as_such(tmp_path: Path) -> None:
    monitor = Monitor(tmp_path, rows=50)
    # the header names every column; every row misses its feature
    (tmp_path / "stream" / "01.csv").write_text(
        "id,x,y\n" + "".join(f"r{i},,1\n" for i in range(500))
    )
    outcomes = monitor.drain()
    assert [(o.rows, o.quarantined) for o in outcomes] == [(0, 50)] * 10
    run = monitor.runs()[0]
    assert run["status"] == "ok" and run["metrics"] == {
        "quarantined_share": 1.0,
        "empty_share": 0.0,
    }


def test_an_empty_or_missing_stream_folder_with_a_timestamp_column_waits(tmp_path: Path) -> None:
    monitor = Monitor(tmp_path, stream={"timestamp_column": "ts"})
    (tmp_path / "stream").rmdir()
    assert monitor.cycle().status == "waiting"  # no folder at all
    (tmp_path / "stream").mkdir()
    assert monitor.cycle().status == "waiting"  # an empty folder
    (tmp_path / "stream" / "01.csv").write_text("")  # a file not written yet
    assert monitor.cycle().status == "waiting"
    frame = rows(0, 40).assign(ts=pd.date_range("2024-01-01", periods=40, freq="min", tz="UTC"))
    frame.to_csv(tmp_path / "stream" / "01.csv", index=False)
    assert monitor.cycle().rows == 40


def test_rows_sharing_an_id_are_quarantined_never_dropped(tmp_path: Path) -> None:
    monitor = Monitor(tmp_path)
    frame = rows(0, 42)
    frame.loc[[10, 20], "id"] = "r0"  # two more rows with the first row's id
    frame.to_csv(tmp_path / "stream" / "01.csv", index=False)
    (outcome,) = monitor.drain()
    assert (outcome.rows, outcome.quarantined) == (40, 2)
    entries = monitor.quarantine()
    assert [e["row_id"].split(" @ ")[0] for e in entries] == ["r0", "r0"]
    assert all(e["reason"].startswith("duplicate id 'r0'") for e in entries)
    assert len({e["row_id"] for e in entries}) == 2  # both kept, under distinct keys


def test_a_restart_reads_on_from_the_recorded_offsets(tmp_path: Path, monkeypatch) -> None:
    """After a restart the source reads each file from the offset in the watermark: bytes
    before it are never read again (the reads are watched), and an appended file's new
    lines are taken in. (Bytes before the offset that change are a rewritten file, read
    anew: tests/sources/test_file_fates.py.)"""
    import monitor.sources.file_scan as file_scan

    monitor = Monitor(tmp_path)
    path = tmp_path / "stream" / "01.csv"
    rows(0, 60).to_csv(path, index=False)
    assert [o.rows for o in monitor.drain()] == [40]
    with monitor.store.reading() as session:
        from monitor.store.repository import watermark

        mark = watermark(session, "tabular")
    assert mark is not None
    (entry,) = json.loads(mark[0])["files"]
    assert entry[1] == "01.csv"
    offset = entry[4]
    starts: list[int] = []
    real = file_scan.read_chunk

    def watched(path, fmt, start, *args, **kwargs):
        starts.append(start)
        return real(path, fmt, start, *args, **kwargs)

    monkeypatch.setattr(file_scan, "read_chunk", watched)
    with path.open("a") as handle:
        rows(60, 20).to_csv(handle, index=False, header=False)
    monitor.restart()
    assert [o.rows for o in monitor.drain()] == [40]
    assert starts and min(starts) == offset > 0
    assert monitor.quarantine() == []
    assert sorted(monitor.scored_ids()) == sorted(f"r{i}" for i in range(80))


@pytest.mark.parametrize("timestamps", [False, True])
def test_every_row_lands_in_one_window_across_appends_and_restarts(
    tmp_path: Path, timestamps: bool
) -> None:
    """Files written in random pieces (new files, appends, half lines finished later), with
    restarts at random points: each good row is scored exactly once."""
    rng = np.random.default_rng(11 + timestamps)
    extra = {"stream": {"timestamp_column": "ts"}} if timestamps else {}
    monitor = Monitor(tmp_path, rows=25, **extra)
    total = 400
    frame = rows(0, total)
    if timestamps:
        frame["ts"] = pd.date_range("2024-01-01", periods=total, freq="s", tz="UTC").astype(str)
    lines = frame.to_csv(index=False).splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    written = 0
    files = 0
    while written < total:
        files += 1
        path = tmp_path / "stream" / f"{files:03d}.csv"
        path.write_text(header)
        for _ in range(int(rng.integers(1, 4))):  # a few appends per file
            take = int(rng.integers(1, 60))
            with path.open("a") as handle:
                handle.write("".join(body[written : written + take]))
            written = min(total, written + take)
            monitor.cycle()
            if rng.random() < 0.3:
                monitor.restart()
    monitor.drain()
    scored = monitor.scored_ids()
    assert len(scored) == len(set(scored))  # none twice
    assert set(scored) == {f"r{i}" for i in range(total)}  # all (400 is 16 windows)
    assert monitor.quarantine() == []


def test_rows_read_before_a_restart_and_rewritten_meanwhile_are_quarantined_as_gone(
    tmp_path: Path,
) -> None:
    """Through the real cycle and store: the first process reads 10 rows (no window of 40
    yet) and keeps its scan's extents; the file is rewritten; the restarted process names
    those 10 rows in the quarantine, where no stored position knew of them (issue 22)."""
    monitor = Monitor(tmp_path)
    rows = window_rows(1.0, rows=10).assign(id=[f"a{i}" for i in range(10)])
    rows.to_csv(tmp_path / "stream" / "a.csv", index=False)
    assert monitor.cycle().status == "waiting"
    with monitor.store.reading() as session:
        assert kept_scan_extent(session, "tabular") is not None
    fresh = window_rows(1.0, rows=40, seed=3).assign(id=[f"b{i}" for i in range(40)])
    fresh.to_csv(tmp_path / "stream" / "a.csv", index=False)
    monitor.restart()
    assert [o.rows for o in monitor.drain()] == [40]
    [gone] = [q for q in monitor.quarantine() if q["kind"] == "file"]
    assert gone["row_id"] == "a.csv@0"
    assert gone["reason"].endswith("rows 1..10 were stored in a window: 10 row(s) gone")
    assert gone["raw"]["lines"] == [[1, 10]]
