"""Which rows are usable, and why the others are not: one rule that every source applies.

A row is usable when the model can read its input (text, or every tabular feature) and its
label, where it has one, is a class the model knows. A window of `rows: N` is the next N
usable rows; the others ride along with it, quarantined with their reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitor.config import ColumnsConfig
from monitor.records.rows import (
    EMPTY_TEXT,
    MISSING_TEXT,
    PROBLEM,
    ROW_ID,
    LabelCheck,
    Rejected,
)
from monitor.sources.values import parse_number, parse_numbers


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


def _feature_problem(
    record: dict[str, Any], features: list[str], numeric: frozenset[str]
) -> str | None:
    for name in features:
        value = record.get(name)
        if _missing(value):
            return f"missing value in feature {name!r}"
        if name in numeric and _number(value) is None:
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            return f"feature {name!r} is not a finite number (got {shown})"
    return None


def _number(value: Any) -> float | None:
    """`value` as a finite number by the one number parser (`monitor.sources.values`)."""
    return parse_number(value)


@dataclass(frozen=True)
class RowCheck:
    """The usability rule of one monitor: its input columns, and its labels when it checks them.

    Without `label` (a source built before its model, a test's source), labels are not
    checked here; the cycle then quarantines rows with an unknown label after the cut.
    """

    columns: ColumnsConfig
    label: LabelCheck | None = None
    #: features that are numbers in the reference: a value that is not one is a bad cell
    numeric: frozenset[str] = frozenset()

    def problem(self, record: dict[str, Any]) -> str | None:
        """Why a row cannot be used, or None when it can."""
        unread = record.get(PROBLEM)
        if isinstance(unread, str) and unread:
            return unread
        if self.columns.text is not None:
            problem = _text_problem(record.get(self.columns.text))
        else:
            problem = _feature_problem(record, self.columns.features or [], self.numeric)
        target = self.columns.target
        if problem is None and self.label is not None and target is not None:
            value = record.get(target)
            if not _missing(value):
                problem = self.label(value)
        return problem

    def usable_frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The usable rows with numeric features as numbers (a reader may have kept text)."""
        numeric = [name for name in self.numeric if name in rows.columns]
        if not numeric or rows.empty:
            return rows
        return rows.assign(**{name: parse_numbers(rows[name]) for name in numeric})


def split_usable(
    candidates: pd.DataFrame, check: RowCheck, limit: int | None
) -> tuple[pd.DataFrame, list[Rejected], int]:
    """Walk rows in order until `limit` usable ones (or the end).

    Returns the usable rows, the rejected ones met on the way, and how many rows were
    consumed (so the watermark lands right after the last one looked at). A usable row
    whose id another usable row of the same walk has is rejected as a duplicate.
    """
    usable_positions: list[int] = []
    rejected: list[Rejected] = []
    consumed = 0
    seen: dict[str, int] = {}
    for position, record in enumerate(candidates.to_dict("records")):
        if limit is not None and len(usable_positions) >= limit:
            break
        consumed = position + 1
        problem = check.problem(record)
        row_id = str(record[ROW_ID])
        if problem is None and check.columns.id is not None:
            if row_id in seen:
                problem = f"duplicate id {row_id!r} (row {seen[row_id] + 1} of this window has it)"
            else:
                seen[row_id] = len(usable_positions)
        if problem is None:
            usable_positions.append(position)
        else:
            rejected.append(Rejected(row_id, problem, json_safe(record)))
    return check.usable_frame(candidates.iloc[usable_positions]), rejected, consumed


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
