"""An in-memory stream for tests and replay: rows are appended, windows cut as from files."""

from __future__ import annotations

import pandas as pd

from monitor.config import ColumnsConfig, WindowConfig
from monitor.sources.base import SourceContext
from monitor.sources.rows import RowCheck
from monitor.sources.tabular import FILE, LINE, TabularSource


class MemorySource(TabularSource):
    """Rows held in memory; `append` adds more, as a new file would.

    Not a plugin (nothing in a config could fill it): tests and embedding code build it.
    `check` is the row rule; by default the columns' input check, labels unchecked.
    """

    def __init__(
        self,
        columns: ColumnsConfig,
        window: WindowConfig,
        timestamp_column: str | None = None,
        name: str = "memory",
        check: RowCheck | None = None,
    ) -> None:
        context = SourceContext(name, columns, window, check or RowCheck(columns))
        super().__init__(context, timestamp_column)
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
