"""A window's row records: the reserved column names, and a row set aside with its reason.

Readers produce them, the cycle counts them and the store keeps them; the rule that decides
which rows are usable stays with the sources (`monitor.sources.rows`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ROW_ID = "_row_id"
TIMESTAMP = "_ts"
#: why a reader could not read a row (a line with extra fields, bytes that are not UTF-8)
PROBLEM = "_problem"
MISSING_TEXT = "missing text"
EMPTY_TEXT = "empty text"
#: reasons counted in a window's `empty_share`
EMPTY_REASONS = (EMPTY_TEXT, MISSING_TEXT)

#: a label's problem (None when the model knows it); given by the runtime, which has the model
LabelCheck = Callable[[Any], str | None]


ROW_KIND = "row"
FILE_KIND = "file"


@dataclass(frozen=True)
class Rejected:
    """A row that cannot be used, with the reason; it is quarantined, never scored.

    `kind` is `file` for a stream file set aside whole (`row_id` is then its name).
    """

    row_id: str
    reason: str
    raw: dict[str, Any]
    kind: str = ROW_KIND
