"""A small sample of `benchmarks/faults.py` against the real daemon in subprocesses: a
webhook receiver down across a SIGTERM and a SIGKILL restart then a random SIGKILL, and a
full disk. The in-process fault tests beside this file cover the rest quickly."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.fault_suite import daemon_faults

pytestmark = [pytest.mark.faults, pytest.mark.integration]


def test_kills_and_an_outage_lose_and_repeat_nothing(tmp_path: Path) -> None:
    found = daemon_faults.kills_and_outage(tmp_path, kills=1, seed=3)
    assert found["drained"] and found["integrity_failures"] == 0
    assert (found["windows_lost"], found["windows_repeated"]) == (0, 0)
    assert found["deliveries"] > 0 and found["deliveries_duplicated"] == 0
    assert found["deliveries_resent_after_kill"] <= found["kills"]  # a cut attempt, sent again
    assert (found["deliveries_failed"], found["deliveries_pending"], found["unsigned"]) == (0, 0, 0)


def test_a_full_disk_shows_on_readyz_and_loses_nothing(tmp_path: Path) -> None:
    found = daemon_faults.full_disk(tmp_path)
    assert found["refused"] and found["readyz"] == 503 and found["store_up"] == 0.0
    assert found["reason"].startswith("store cannot be written: ")
    assert found["drained"] and (found["windows_lost"], found["windows_repeated"]) == (0, 0)
