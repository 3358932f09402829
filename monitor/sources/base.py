"""What a source is: `read(after, now)` gives the next complete window after a watermark.

Sources order rows, cut windows and set aside rows that cannot be used; they know nothing
of models or scoring. A source plugin's class is built as `Source(config, context)`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from monitor.config import ColumnsConfig, WindowConfig
from monitor.records.rows import Rejected
from monitor.sources.rows import RowCheck


@dataclass
class Window:
    """The usable rows of one window, the rows set aside on the way, and where it ends.

    `position` is the watermark to store once this window is recorded; `start`/`end` are
    None when the stream has no timestamps (the cycle then uses its clock).
    """

    rows: pd.DataFrame
    rejected: list[Rejected]
    position: str
    start: datetime | None
    end: datetime | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceContext:
    """What a source gets besides its own config block: the monitor's name, columns and
    window, and the rule saying which rows are usable (`check`, given by the runtime)."""

    monitor: str
    columns: ColumnsConfig
    window: WindowConfig
    check: RowCheck


class Source(ABC):
    """A stream of rows; `read` returns the next complete window, or None to wait.

    `after` is the position of the last window recorded (None before the first); a source
    returns every row in exactly one window, whatever the restarts between reads.
    """

    @abstractmethod
    def read(self, after: str | None, now: datetime) -> Window | None: ...

    def unreadable_files(self) -> list[Rejected]:
        """Files the stream set aside whole, as `Rejected` of kind `file` (recorded by the
        cycle whether or not a window came; the store keeps each file once)."""
        return []

    def scan_extent(self) -> str | None:
        """What the last read took in past the stored position, as text for the store to
        keep apart from the watermark (None: nothing new to keep; most sources keep none)."""
        return None

    def recall_extent(self, kept: str | None) -> None:  # noqa: B027 - most sources keep none
        """The text `scan_extent` last gave and the store kept (read before each cycle)."""

    def waiting_reason(self) -> str | None:
        """Why this source may wait for good (said once, while it waits); None: no reason."""
        return None

    def close(self) -> None:  # noqa: B027 - most sources hold nothing
        """Release whatever the source holds open."""
