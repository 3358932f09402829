"""An in-memory stream for tests and replay: rows are appended, windows cut as from files."""

from __future__ import annotations

import pandas as pd

from monitor.config import ColumnsConfig, WindowConfig
from monitor.sources.base import FILE, LINE, TabularSource


class MemorySource(TabularSource):
    """Rows held in memory; `append` adds more, as a new file would."""

    def __init__(
        self,
        columns: ColumnsConfig,
        window: WindowConfig,
        timestamp_column: str | None = None,
        name: str = "memory",
    ) -> None:
        super().__init__(columns, window, timestamp_column)
        self.name = name
        self._parts: list[pd.DataFrame] = []
        self._lines = 0

    def append(self, rows: pd.DataFrame) -> None:
        start = self._lines + 1
        self._lines += len(rows)
        lines = range(start, start + len(rows))
        self._parts.append(rows.reset_index(drop=True).assign(**{FILE: self.name, LINE: lines}))

    def _frame(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame({FILE: pd.Series(dtype=str), LINE: pd.Series(dtype=int)})
        if len(self._parts) > 1:
            self._parts = [pd.concat(self._parts, ignore_index=True)]
        return self._parts[0]
