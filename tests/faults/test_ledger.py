"""A sample of the fault suite's file histories (`benchmarks/faults.py --ledger N` runs
1,000): whatever happens to the files, every row written is in exactly one stored window
or in the quarantine with a reason. Before issue 22 most histories lost rows."""

from __future__ import annotations

from pathlib import Path

from benchmarks.fault_suite.ledger import run_histories


def test_random_file_histories_lose_no_row_silently(tmp_path: Path) -> None:
    found = run_histories(12, tmp_path)
    assert found["rows_written"] > 100
    assert found["rows_silently_lost"] == 0
    assert found["rows_repeated"] == 0
    # rows a rewrite took before any window stored them count only where an entry names them
    assert found["rows_gone_before_stored"] == 0
    assert found["rows_accounted"] == found["rows_written"]
