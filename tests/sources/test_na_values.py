"""The CSV reader's missing-value markers are exactly pandas' defaults (public behaviour of
`read_csv`, not its private list): a marker pandas reads as missing is missing here too."""

from __future__ import annotations

import io

import pandas as pd

from monitor.sources.file_readers import NA_VALUES, csv_values


def test_every_marker_is_missing_to_pandas_and_to_us() -> None:
    markers = [m for m in NA_VALUES if m]  # "" is an empty field, below
    text = "value\n" + "\n".join(markers) + "\n"
    read = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=True)
    assert read["value"].isna().all()
    ours = csv_values(["value"], [[m] for m in markers], ())
    assert ours["value"].isna().all()


def test_pandas_reads_nothing_else_as_missing() -> None:
    """Near misses stay values for both readers (pandas' list is case-sensitive)."""
    near = ["Null", "NONE", "N/a", "nA", "-", "?", "missing", "#n/a"]
    read = pd.read_csv(io.StringIO("value\n" + "\n".join(near) + "\n"), dtype=str)
    assert read["value"].tolist() == near
    assert csv_values(["value"], [[v] for v in near], ())["value"].tolist() == near


def test_an_empty_field_is_missing() -> None:
    assert csv_values(["a", "b"], [["1", ""]], ())["b"].isna().all()
