"""A one-line progress bar on stderr for replays (redrawn in place on a terminal only)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 30


class ProgressLine:
    """`label [#####-----] 8/16 windows 3.2 s`; off a terminal, one line when done."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.began = time.perf_counter()
        self.done = 0
        self.total = 0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if self.live:
            self.stream.write("\r" + self._line())
            self.stream.flush()

    def close(self) -> None:
        if self.total == 0:
            return
        self.stream.write(("\r" if self.live else "") + self._line() + "\n")
        self.stream.flush()

    def _line(self) -> str:
        filled = round(_WIDTH * self.done / self.total) if self.total else 0
        bar = "#" * filled + "-" * (_WIDTH - filled)
        seconds = time.perf_counter() - self.began
        return f"{self.label} [{bar}] {self.done}/{self.total} windows {seconds:.1f} s"
