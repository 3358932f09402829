"""Which rows are usable, and why the others are not: one rule that every source applies.

A row is usable when the model can read its input (text, or every tabular feature) and its
label, where it has one, is a class the model knows. A window of `rows: N` is the next N
usable rows; the others ride along with it, quarantined with their reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitor.config import ColumnsConfig

ROW_ID = "_row_id"
TIMESTAMP = "_ts"
MISSING_TEXT = "missing text"
EMPTY_TEXT = "empty text"
#: reasons counted in a window's `empty_share`
EMPTY_REASONS = (EMPTY_TEXT, MISSING_TEXT)

#: a label's problem (None when the model knows it); given by the runtime, which has the model
LabelCheck = Callable[[Any], str | None]


@dataclass(frozen=True)
class Rejected:
    """A row that cannot be used, with the reason; it is quarantined, never scored."""

    row_id: str
    reason: str
    raw: dict[str, Any]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _text_problem(value: Any) -> str | None:
    if _missing(value):
        return MISSING_TEXT
    if not isinstance(value, str):
        return f"text is not a string (got {type(value).__name__} {value!r})"
    if not value.strip():
        return EMPTY_TEXT
    return None


def _feature_problem(record: dict[str, Any], features: list[str]) -> str | None:
    for name in features:
        if _missing(record.get(name)):
            return f"missing value in feature {name!r}"
    return None


@dataclass(frozen=True)
class RowCheck:
    """The usability rule of one monitor: its input columns, and its labels when it checks them.

    Without `label` (a source built before its model, a test's source), labels are not
    checked here; the cycle then quarantines rows with an unknown label after the cut.
    """

    columns: ColumnsConfig
    label: LabelCheck | None = None

    def problem(self, record: dict[str, Any]) -> str | None:
        """Why a row cannot be used, or None when it can."""
        if self.columns.text is not None:
            problem = _text_problem(record.get(self.columns.text))
        else:
            problem = _feature_problem(record, self.columns.features or [])
        target = self.columns.target
        if problem is None and self.label is not None and target is not None:
            value = record.get(target)
            if not _missing(value):
                problem = self.label(value)
        return problem


def split_usable(
    candidates: pd.DataFrame, check: RowCheck, limit: int | None
) -> tuple[pd.DataFrame, list[Rejected], int]:
    """Walk rows in order until `limit` usable ones (or the end).

    Returns the usable rows, the rejected ones met on the way, and how many rows were
    consumed (so the watermark lands right after the last one looked at).
    """
    usable_positions: list[int] = []
    rejected: list[Rejected] = []
    consumed = 0
    for position, record in enumerate(candidates.to_dict("records")):
        if limit is not None and len(usable_positions) >= limit:
            break
        consumed = position + 1
        problem = check.problem(record)
        if problem is None:
            usable_positions.append(position)
        else:
            rejected.append(Rejected(str(record[ROW_ID]), problem, json_safe(record)))
    return candidates.iloc[usable_positions], rejected, consumed


def json_safe(record: dict[str, Any]) -> dict[str, Any]:
    safe: dict[str, Any] = {}
    for key, value in record.items():
        if str(key).startswith("_"):
            continue
        if isinstance(value, float) and np.isnan(value):
            safe[str(key)] = None
        elif value is None or isinstance(value, str | int | float | bool):
            safe[str(key)] = value
        else:
            safe[str(key)] = str(value)
    return safe
