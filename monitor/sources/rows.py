"""Row checks shared by every source: which rows are usable, and why the others are not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitor.config import ColumnsConfig

ROW_ID = "_row_id"
TIMESTAMP = "_ts"


@dataclass(frozen=True)
class Rejected:
    """A row that cannot be used, with the reason; it is quarantined, never scored."""

    row_id: str
    reason: str
    raw: dict[str, Any]


def _text_problem(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing text"
    if not isinstance(value, str):
        return f"text is not a string (got {type(value).__name__} {value!r})"
    if not value.strip():
        return "empty text"
    return None


def _feature_problem(record: dict[str, Any], features: list[str]) -> str | None:
    for name in features:
        value = record.get(name)
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return f"missing value in feature {name!r}"
    return None


def row_problem(record: dict[str, Any], columns: ColumnsConfig) -> str | None:
    """Why a row cannot be scored, or None when it can."""
    if columns.text is not None:
        return _text_problem(record.get(columns.text))
    return _feature_problem(record, columns.features or [])


def split_usable(
    candidates: pd.DataFrame, columns: ColumnsConfig, limit: int | None
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
        problem = row_problem(record, columns)
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
