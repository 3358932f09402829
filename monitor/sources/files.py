"""A stream of CSV, Parquet or JSON Lines files matched by a glob; new files are picked up."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pandas as pd

from monitor.errors import SourceError
from monitor.sources.base import SourceContext
from monitor.sources.headers import format_of
from monitor.sources.specs import FilesStreamConfig
from monitor.sources.tabular import FILE, LINE, TabularSource


def detect_format(path: Path, declared: str | None = None) -> str:
    fmt = format_of(path, declared)
    if fmt is None:
        raise SourceError(
            f"{path}: cannot tell the format from {path.suffix.lower()!r}; use .csv, .parquet, "
            ".jsonl, or set stream.format"
        )
    return fmt


def read_table(path: Path, declared: str | None = None) -> pd.DataFrame:
    """Read one CSV/Parquet/JSON Lines file; any parser failure names the file."""
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


class FileSource(TabularSource):
    """Every file the glob matches, re-read only when its size or mtime changes."""

    def __init__(self, config: FilesStreamConfig, context: SourceContext) -> None:
        super().__init__(context, config.timestamp_column)
        self.stream = config
        self._cache: dict[str, tuple[tuple[int, int], pd.DataFrame]] = {}

    def waiting_reason(self) -> str | None:
        if glob.glob(self.stream.path):
            return None
        return f"no stream files match {self.stream.path} yet"

    def _frame(self) -> pd.DataFrame:
        paths = sorted(glob.glob(self.stream.path))
        frames = []
        for path in paths:
            frame = self._load(path)
            if not frame.empty:
                frames.append(frame)
        self._cache = {p: v for p, v in self._cache.items() if p in paths}
        if not frames:
            return pd.DataFrame({FILE: pd.Series(dtype=str), LINE: pd.Series(dtype=int)})
        frame = pd.concat(frames, ignore_index=True)
        self._check_columns(frame)
        return frame

    def _load(self, path: str) -> pd.DataFrame:
        try:
            stat = os.stat(path)
        except FileNotFoundError:  # deleted between glob and stat: it holds no new rows
            return pd.DataFrame()
        stamp = (stat.st_size, stat.st_mtime_ns)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        frame = read_table(Path(path), self.stream.format)
        # the file name (not the path) orders rows, so a moved stream folder keeps its order
        frame = frame.assign(**{FILE: os.path.basename(path), LINE: range(1, len(frame) + 1)})
        self._cache[path] = (stamp, frame)
        return frame

    def _check_columns(self, frame: pd.DataFrame) -> None:
        needed = [self.columns.text] if self.columns.text else list(self.columns.features or [])
        if self.timestamp_column:
            needed.append(self.timestamp_column)
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise SourceError(
                f"stream {self.stream.path}: column(s) {', '.join(map(repr, missing))} not found "
                f"(columns: {', '.join(c for c in frame.columns if not c.startswith('_'))})"
            )
