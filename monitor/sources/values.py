"""The one way a cell becomes a number or a moment, used by every source for every row.

Numbers (`parse_number`) accept what a data file means by a number and nothing that only a
programming language does:

- ints and floats, and text that `float()` reads: `12`, `-1.5`, `1e3`, `.5`, `+7`;
- digits of any script that Unicode calls decimal (Arabic-Indic or full-width digits);
- whitespace around the number, the non-breaking and thin spaces included;
- integers of any size (past 2**64 they are floats, as every large count is).

Refused, as that row's quarantine reason (the window goes on): `1_000` (a Python literal,
not data), digit-group separators (`1,000`, `1 000`), `nan`, `inf` and anything that is
infinite as a float (`1e309`), booleans, and empty text.

Timestamps (`parse_timestamps`): text is read as an ISO 8601 or other date pandas reads
(a zone-less time is UTC); a number, or text that reads as one, is an epoch count in the
stream's `timestamp_unit` (`s` by default; `ms`, `us`, `ns`).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

UNITS = ("s", "ms", "us", "ns")
_SPACES = "\u00a0\u2007\u202f\u2009\u200a\ufeff"
_GROUPED = re.compile(r"\d[\s,_\u00a0\u2007\u202f\u2009]\d")


def parse_number(value: Any) -> float | None:
    """`value` as a finite number under the rules above, else None."""
    if isinstance(value, bool | np.bool_) or value is None:
        return None
    if isinstance(value, int | np.integer):
        number = float(value) if abs(int(value)) < 2**1023 else math.inf
    elif isinstance(value, float | np.floating):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().strip(_SPACES).strip()
        if not text or _GROUPED.search(text):
            return None
        try:
            number = float(text)
        except (ValueError, OverflowError):
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def parse_numbers(values: pd.Series) -> pd.Series:
    """A column as floats (NaN where a cell is not a number by `parse_number`)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        return numbers.where(np.isfinite(numbers))
    parsed = [parse_number(v) for v in values]
    return pd.Series([np.nan if p is None else p for p in parsed], index=values.index)


def parse_timestamps(raw: pd.Series, unit: str = "s") -> pd.Series:
    """UTC timestamps of a column (NaT where a cell cannot be read)."""
    stamps = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    if raw.empty:
        return stamps
    if pd.api.types.is_datetime64_any_dtype(raw):  # a database's own timestamps
        return pd.to_datetime(raw, utc=True, errors="coerce")
    numbers = parse_numbers(raw) if raw.dtype == object else raw
    if pd.api.types.is_numeric_dtype(numbers) and not pd.api.types.is_bool_dtype(numbers):
        counted = numbers.astype(float)
    else:
        counted = pd.Series(np.nan, index=raw.index)
    is_count = counted.notna()
    if is_count.any():
        limit = {"s": 1e9, "ms": 1e12, "us": 1e15, "ns": 1e18}[unit] * 3e2  # < year 11,000
        fine = is_count & (counted.abs() < limit)
        stamps[fine] = pd.to_datetime(counted[fine], unit=unit, utc=True, errors="coerce")
    text = ~is_count & raw.notna()
    if text.any():
        stamps[text] = pd.to_datetime(raw[text], utc=True, errors="coerce", format="mixed")
    return stamps
