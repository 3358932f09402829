"""What reading a window costs as a file stream's history grows: the whole-history read it
replaced against the incremental read, side by side in one process.

A stream of CSV files (1,000 rows each) holds 10,000 or 100,000 rows already consumed; each
round appends a file of one window (500 rows) and reads that window three ways:

- `whole history` re-reads: every file's rows concatenated, sorted and cut after the
  watermark at each read (files cached by size and mtime), as the file source did before;
- `whole history, restart`: the same in a new process (a `once` per cycle): every file
  read from disk again;
- `incremental`: the same source object reading on (a daemon), taking only the new file;
- `restart`: a new source object from the stored watermark (a `once` per cycle, or a
  restarted daemon), reading each file from its recorded offset.

    python benchmarks/stream_read.py [--rounds 5] [--timestamps]

The last line is JSON: {"rows": {H: {path: ms per read}}, "speedup_at_100k", ...}.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.config import ColumnsConfig, WindowConfig
from monitor.sources.base import SourceContext
from monitor.sources.files import FileSource, read_table
from monitor.sources.rows import RowCheck
from monitor.sources.specs import FilesStreamConfig
from monitor.sources.tabular import FILE, LINE, TabularSource

WINDOW = 500
FILE_ROWS = 1_000
NOW = datetime(2031, 1, 1, tzinfo=UTC)
COLUMNS = ColumnsConfig(text="text", target="label", id="id")


class WholeHistorySource(TabularSource):
    """The file source before incremental reads: the whole stream as one frame per read."""

    def __init__(self, pattern: str, timestamp_column: str | None) -> None:
        context = SourceContext("bench", COLUMNS, WindowConfig(rows=WINDOW), RowCheck(COLUMNS))
        super().__init__(context, timestamp_column)
        self.pattern = pattern
        self._cache: dict[str, tuple[tuple[int, int], pd.DataFrame]] = {}

    def _frame(self) -> pd.DataFrame:
        frames = []
        for path in sorted(glob.glob(self.pattern)):
            stat = os.stat(path)
            stamp = (stat.st_size, stat.st_mtime_ns)
            cached = self._cache.get(path)
            if cached is None or cached[0] != stamp:
                frame = read_table(Path(path))
                frame = frame.assign(
                    **{FILE: os.path.basename(path), LINE: range(1, len(frame) + 1)}
                )
                self._cache[path] = (stamp, frame)
            frames.append(self._cache[path][1])
        return pd.concat(frames, ignore_index=True)


def incremental(pattern: str, timestamp_column: str | None) -> FileSource:
    stream = FilesStreamConfig(path=pattern, timestamp_column=timestamp_column)
    context = SourceContext("bench", COLUMNS, WindowConfig(rows=WINDOW), RowCheck(COLUMNS))
    return FileSource(stream, context)


def write_file(folder: Path, number: int, rows: int, timestamps: bool) -> None:
    rng = np.random.default_rng(number)
    start = number * FILE_ROWS
    frame = pd.DataFrame(
        {
            "id": [f"r{start + i}" for i in range(rows)],
            "text": [
                f"review {start + i} with {w} words"
                for i, w in enumerate(rng.integers(3, 40, rows))
            ],
            "label": rng.integers(0, 2, rows),
        }
    )
    if timestamps:
        frame["ts"] = pd.date_range("2024-01-01", periods=rows, freq="s", tz="UTC") + pd.Timedelta(
            seconds=start
        )
    frame.to_csv(folder / f"{number:06d}.csv", index=False)


def timed(read: object) -> tuple[float, object]:
    started = time.perf_counter()
    window = read()  # type: ignore[operator]
    return time.perf_counter() - started, window


def measure(history: int, rounds: int, timestamps: bool) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="driftwarden-stream-"))
    pattern = str(folder / "*.csv")
    ts = "ts" if timestamps else None
    files = history // FILE_ROWS
    for number in range(files):
        write_file(folder, number, FILE_ROWS, timestamps)
    source = incremental(pattern, ts)
    after = None
    while (window := source.read(after, NOW)) is not None:  # consume the history
        after = window.position
    baseline = WholeHistorySource(pattern, ts)
    baseline.read(after, NOW)  # warm its per-file cache, as a running daemon had it
    paths = ("whole history", "whole history, restart", "incremental", "restart")
    seconds: dict[str, list[float]] = {path: [] for path in paths}
    for round_number in range(rounds):
        write_file(folder, files + round_number, WINDOW, timestamps)
        reads = {
            "whole history": lambda mark=after: baseline.read(mark, NOW),
            "whole history, restart": lambda mark=after: WholeHistorySource(pattern, ts).read(
                mark, NOW
            ),
            "restart": lambda mark=after: incremental(pattern, ts).read(mark, NOW),
            "incremental": lambda mark=after: source.read(mark, NOW),
        }
        ids = []
        for path, read in reads.items():
            took, window = timed(read)
            seconds[path].append(took)
            assert window is not None
            ids.append(window.rows["id"].tolist())
            after = window.position if path == "incremental" else after
        assert all(found == ids[0] for found in ids)  # the same window every way
    return {path: round(1000 * statistics.median(values), 1) for path, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timestamps", action="store_true", help="order rows by a ts column")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    results = {}
    for history in (10_000, 100_000):
        results[history] = measure(history, args.rounds, args.timestamps)
        shown = ", ".join(f"{path} {ms:.1f} ms" for path, ms in results[history].items())
        print(f"{history:>7,} rows of history, a {WINDOW}-row window per read: {shown}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    big, small = results[100_000], results[10_000]
    print(
        json.dumps(
            {
                "rows": {str(h): r for h, r in results.items()},
                "order": "timestamp" if args.timestamps else "file",
                "speedup_at_100k": round(big["whole history"] / big["incremental"], 1),
                "restart_speedup_at_100k": round(big["whole history, restart"] / big["restart"], 1),
                "incremental_10k_to_100k": round(big["incremental"] / small["incremental"], 2),
                "whole_history_10k_to_100k": round(
                    big["whole history"] / small["whole history"], 2
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
