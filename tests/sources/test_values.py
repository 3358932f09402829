"""One number parser and one timestamp parser for every row (issue 22): a cell that
`float()` took and `pd.to_numeric` refused stalled a monitor for good, and epoch seconds
were read as nanoseconds (every row in one window on 1970-01-01)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from monitor.config import ColumnsConfig, WindowConfig
from monitor.sources.base import SourceContext
from monitor.sources.files import FileSource
from monitor.sources.rows import RowCheck
from monitor.sources.specs import FilesStreamConfig
from monitor.sources.values import parse_number, parse_timestamps

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cell", "number"),
    [
        ("12", 12.0),
        (" -1.5e3 ", -1500.0),
        ("\u0661\u0662", 12.0),  # Arabic-Indic digits
        ("\uff11\uff12", 12.0),  # full-width digits
        ("3\u00a0", 3.0),  # a trailing non-breaking space
        (2**70, float(2**70)),
        ("1e308", 1e308),
    ],
)
def test_accepted_number_forms(cell, number) -> None:
    assert parse_number(cell) == number


@pytest.mark.parametrize(
    "cell", ["1_000", "1,000", "1\u00a0000", "nan", "inf", "1e309", "", True, None, "x"]
)
def test_refused_number_forms(cell) -> None:
    assert parse_number(cell) is None


def tabular_source(folder: Path) -> FileSource:
    columns = ColumnsConfig(features=["x"])
    check = RowCheck(columns, numeric=frozenset({"x"}))
    window = WindowConfig.model_validate({"rows": 4})
    stream = FilesStreamConfig(path=str(folder / "*.csv"))
    return FileSource(stream, SourceContext("t", columns, window, check))


def test_a_cell_float_takes_and_pandas_refuses_costs_its_row_not_the_window(tmp_path: Path):
    (tmp_path / "a.csv").write_text("x\n1\n1_000\n\u0661\u0662\n18446744073709551616\n2\n3\u00a0\n")
    window = tabular_source(tmp_path).read(None, NOW)
    assert window is not None
    assert window.rows["x"].tolist() == [1.0, 12.0, float(2**64), 2.0]
    assert [(r.row_id, r.reason) for r in window.rejected] == [
        ("a.csv:2", "feature 'x' is not a finite number (got '1_000')")
    ]


@pytest.mark.parametrize(
    ("unit", "value"),
    [("s", 1704067200), ("ms", 1704067200000), ("us", 1704067200000000)],
)
def test_epoch_numbers_are_read_in_the_configured_unit(unit, value) -> None:
    stamps = parse_timestamps(pd.Series([value, str(value), "2024-01-01T00:00:00Z"]), unit)
    assert stamps.tolist() == [pd.Timestamp("2024-01-01", tz="UTC")] * 3


def test_epoch_seconds_make_hourly_windows_in_their_own_time(tmp_path: Path) -> None:
    """The issue's case: 40 rows over 6.5 hours in epoch seconds, one hour windows."""
    start = 1704067200
    rows = [f"t{i},{start + i * 600}" for i in range(40)]
    (tmp_path / "a.csv").write_text("text,ts\n" + "\n".join(rows) + "\n")
    columns = ColumnsConfig(text="text")
    window = WindowConfig.model_validate({"duration": "1h"})
    stream = FilesStreamConfig(path=str(tmp_path / "*.csv"), timestamp_column="ts")
    source = FileSource(stream, SourceContext("t", columns, window, RowCheck(columns)))
    first = source.read(None, NOW)
    assert first is not None and first.start == datetime(2024, 1, 1, tzinfo=UTC)
    assert len(first.rows) == 6


def test_timestamp_unit_is_a_config_key_with_seconds_by_default() -> None:
    assert FilesStreamConfig(path="x/*.csv").timestamp_unit == "s"
    assert FilesStreamConfig(path="x/*.csv", timestamp_unit="ms").timestamp_unit == "ms"
    with pytest.raises(ValueError):
        FilesStreamConfig(path="x/*.csv", timestamp_unit="minutes")
