"""Random file histories against a ledger: every row written lands in exactly one stored
window or in the quarantine with a reason, whatever happens to its file.

A history creates stream files under names drawn at random (so later files often sort
first), appends to them, rotates, truncates and rewrites, renames and chmods them, and
tears writes (a last line without its newline, finished later). After each step a cycle
runs the real file source against a store kept here in memory, as the cycle's transaction
keeps it: a window's rows, its quarantined rows (once per id and values, as the store keeps
them) and its position are committed together, or not at all. Some cycles fail before the
commit, and some start a new source from the committed position, as a restarted process
would. No model is loaded: the ledger checks the source and the position's path, which is
where rows were lost.

    history = run_history(seed, folder)  # -> HistoryResult
"""

from __future__ import annotations

import os
import random
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import ColumnsConfig, WindowConfig
from monitor.sources.base import SourceContext
from monitor.sources.files import FileSource
from monitor.sources.rows import RowCheck
from monitor.sources.specs import FilesStreamConfig

COLUMNS = ColumnsConfig(text="text")
BASE = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=10)


@dataclass
class HistoryResult:
    seed: int
    written: int = 0
    accounted: int = 0
    lost: list[str] = field(default_factory=list)
    #: rows a truncation took off the disk while only a process that then restarted had
    #: read them (no window stored them yet): gone with that process's memory
    gone_unstored: list[str] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)


class _Store:
    """What the store keeps of one monitor: position, windows' rows, quarantined rows."""

    def __init__(self) -> None:
        self.position: str | None = None
        self.scored: list[str] = []
        self.quarantined: dict[tuple[str, str], str] = {}  # (row id, text): reason
        self.files: dict[str, dict] = {}  # files set aside: what each entry says of its rows
        #: the last scan's extents, kept in a record of their own (`scan_extents`)
        self.extents: str | None = None

    def commit(self, window) -> None:
        self.position = window.position
        if "text" in window.rows:
            self.scored += [str(t) for t in window.rows["text"]]
        for rejected in window.rejected:
            text = str(rejected.raw.get("text", ""))
            self.quarantined.setdefault((rejected.row_id, text), rejected.reason)


class _History:
    def __init__(self, seed: int, folder: Path) -> None:
        self.rng = random.Random(seed)
        self.folder = folder
        self.timestamps = self.rng.random() < 0.5
        self.store = _Store()
        self.result = HistoryResult(seed)
        self.counter = 0
        self.step = 0
        #: file: the rest of its unfinished last line, and that row's text
        self.torn: dict[Path, tuple[str, str]] = {}
        self.on_disk: dict[Path, list[str]] = {}  # rows each file holds now
        self.visible: set[str] = set()  # rows on disk when a read ran
        self.overwritten: dict[str, int] = {}  # row: the step a truncation took it away
        self.places: dict[str, tuple[int, int]] = {}  # overwritten row: (inode, line)
        self.restarts: list[int] = []
        self.faults = True  # cycles fail and processes restart at random
        if self.timestamps:
            window = WindowConfig.model_validate({"duration": "1h"})
        else:
            window = WindowConfig.model_validate({"rows": self.rng.randint(2, 5)})
        stream = FilesStreamConfig(
            path=str(folder / "*.csv"), timestamp_column="ts" if self.timestamps else None
        )
        self.context = SourceContext("ledger", COLUMNS, window, RowCheck(COLUMNS))
        self.stream = stream
        self.source = FileSource(stream, self.context)

    # -- writing

    def _row(self) -> str:
        self.counter += 1
        text = f"s{self.result.seed}r{self.counter}"
        self.result.written += 1
        if not self.timestamps:
            return text
        late = self.rng.random() < 0.15  # an old timestamp: it may arrive after its window
        moment = BASE + self.step * STEP - (timedelta(hours=2) if late else timedelta(0))
        return f"{text},{moment.isoformat()}"

    def _header(self) -> str:
        return "text,ts\n" if self.timestamps else "text\n"

    def _name(self) -> Path:
        return self.folder / f"{self.rng.randint(0, 9999):04d}-{self.counter}.csv"

    def _write(self, path: Path, rows: list[str], mode: str) -> None:
        with path.open(mode) as handle:
            if mode == "w":
                handle.write(self._header())
            finished = []
            torn = self.torn.pop(path, None)
            if torn is not None:
                handle.write(torn[0])
                finished.append(torn[1])
            handle.writelines(f"{row}\n" for row in rows)
        kept = [] if mode == "w" else self.on_disk.get(path, [])
        self.on_disk[path] = kept + finished + [r.split(",")[0] for r in rows]

    def create(self) -> None:
        self._write(self._name(), [self._row() for _ in range(self.rng.randint(1, 6))], "w")

    def append(self, path: Path) -> None:
        self._write(path, [self._row() for _ in range(self.rng.randint(1, 4))], "a")

    def tear(self, path: Path) -> None:
        if path in self.torn:
            return
        row = self._row()
        cut = self.rng.randint(1, len(row) - 1)
        with path.open("a") as handle:
            handle.write(row[:cut])
        # a row only once its newline is written: until then the source waits for it
        self.torn[path] = (row[cut:] + "\n", row.split(",")[0])

    def truncate(self, path: Path) -> None:
        if self.torn.pop(path, None) is not None:
            self.result.written -= 1  # a torn row never finished: never a row
        self._forget(path)
        self._write(path, [self._row() for _ in range(self.rng.randint(0, 5))], "w")

    def _forget(self, path: Path) -> None:
        """Rows overwritten before any read saw them were never in the stream."""
        inode = os.stat(path).st_ino
        for line, text in enumerate(self.on_disk.pop(path, []), start=1):
            if text not in self.visible:
                self.result.written -= 1
            else:
                self.overwritten[text] = self.step
                self.places[text] = (inode, line)

    def rotate(self, path: Path) -> None:
        rotated = self._name()
        os.rename(path, rotated)
        self._moved(path, rotated)
        self._write(path, [self._row() for _ in range(self.rng.randint(0, 3))], "w")

    def rename(self, path: Path) -> None:
        target = self._name()
        os.rename(path, target)
        self._moved(path, target)

    def chmod(self, path: Path) -> None:
        os.chmod(path, 0)
        self.locked.append(path)

    def _moved(self, old: Path, new: Path) -> None:
        self.on_disk[new] = self.on_disk.pop(old, [])
        if old in self.torn:
            self.torn[new] = self.torn.pop(old)

    # -- reading, as cycles do

    def cycle(self) -> None:
        now = BASE + self.step * STEP
        roll = self.rng.random()
        if self.faults and roll < 0.08:  # a new process, reading on from the committed position
            self.source = FileSource(self.stream, self.context)
            self.source.recall_extent(self.store.extents)
            self.restarts.append(self.step)
        for _ in range(50):
            window = self.source.read(self.store.position, now)
            self.visible |= {t for rows in self.on_disk.values() for t in rows}
            extents = self.source.scan_extent()  # its own transaction, before the window's
            if extents is not None:
                self.store.extents = extents
            if window is None:  # files set aside are stored with no window (record_waiting)
                self._set_aside()
                return
            if self.faults and self.rng.random() < 0.1:  # fails before its transaction commits
                return
            self.store.commit(window)
            self._set_aside()  # in the window's transaction

    def _set_aside(self) -> None:
        for rejected in self.source.unreadable_files():
            self.store.quarantined.setdefault((rejected.row_id, ""), rejected.reason)
            self.store.files.setdefault(rejected.row_id, rejected.raw)

    def run(self, steps: int) -> HistoryResult:
        self.locked: list[Path] = []
        self.create()
        self.cycle()
        for self.step in range(1, steps + 1):
            for path in self.locked:
                os.chmod(path, 0o644)
            self.locked = []
            files = sorted(self.on_disk)
            path = self.rng.choice(files)
            operation = self.rng.choice(
                ["create", "create", "append", "append", "rotate", "truncate", "rename",
                 "chmod", "tear"]
            )  # fmt: skip
            self.result.operations.append(operation)
            if operation == "create":
                self.create()
            else:
                getattr(self, operation)(path)
            self.cycle()
        return self._finish(steps)

    def _finish(self, steps: int) -> HistoryResult:
        for path in self.locked:
            os.chmod(path, 0o644)
        for path in list(self.torn):
            self._write(path, [], "a")
        # rows after every ledger row, so a `rows` window closes over the last of them
        filler = self.folder / "~filler.csv"
        with filler.open("w") as handle:
            handle.write(self._header())
            moment = BASE + (steps + 1) * STEP
            handle.writelines(
                f"filler{i}" + (f",{moment.isoformat()}" if self.timestamps else "") + "\n"
                for i in range(6)
            )
        self.step = steps + 20
        self.faults = False  # the last drain: every complete window is stored
        for _ in range(3):
            self.cycle()
        return self._tally()

    def _tally(self) -> HistoryResult:
        result = self.result
        prefix = f"s{result.seed}r"
        seen: dict[str, int] = {}
        for text in self.store.scored:
            if text.startswith(prefix):
                seen[text] = seen.get(text, 0) + 1
        quarantined = {
            text for (_, text), reason in self.store.quarantined.items() if reason and text
        }
        # rows a rewrite took away before a window stored them: an entry names the file (by
        # identity) and the lines; each line an entry names accounts for one row there (a
        # file rewritten twice holds a line 1 twice)
        named: Counter[tuple[int, int]] = Counter()
        for raw in self.store.files.values():
            for first, last in raw.get("lines", []) if raw.get("identity") else []:
                named.update((int(raw["identity"][1]), line) for line in range(first, last + 1))
        for text in sorted(self.visible | set(seen)):
            count = seen.get(text, 0) + (text in quarantined)
            if count == 0 and named[self.places.get(text, (-1, -1))] > 0:
                named[self.places[text]] -= 1
                result.accounted += 1
            elif count == 0 and any(r >= self.overwritten.get(text, 2**31) for r in self.restarts):
                result.gone_unstored.append(text)
            elif count == 0:
                result.lost.append(text)
            elif count > 1:
                result.repeated.append(text)
            else:
                result.accounted += 1
        result.written = max(
            result.written, result.accounted + len(result.lost) + len(result.gone_unstored)
        )
        return result


def run_history(seed: int, folder: Path, steps: int | None = None) -> HistoryResult:
    """One random history in `folder` (emptied first)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    history = _History(seed, folder)
    return history.run(steps if steps is not None else history.rng.randint(4, 12))


def run_histories(count: int, folder: Path, first_seed: int = 0) -> dict[str, int]:
    """`count` histories; the ledger's totals."""
    written = accounted = lost = repeated = gone = 0
    examples: list[str] = []
    for seed in range(first_seed, first_seed + count):
        result = run_history(seed, folder / "history")
        written += result.written
        accounted += result.accounted
        lost += len(result.lost)
        gone += len(result.gone_unstored)
        repeated += len(result.repeated)
        if (result.lost or result.repeated) and len(examples) < 5:
            examples.append(f"seed {seed}: {result.operations} lost {result.lost[:3]}")
    for example in examples:
        print(f"  e.g. {example}", flush=True)
    return {
        "histories": count,
        "rows_written": written,
        "rows_accounted": accounted,
        "rows_silently_lost": lost,
        "rows_repeated": repeated,
        "rows_gone_before_stored": gone,
    }
