"""Property-based fuzzing (hypothesis) of configs, scenarios and stream files: a sample of
what `benchmarks/faults.py` runs by the thousand. The first case that goes wrong fails the
test, shrunk by hypothesis to a small example."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from benchmarks.fault_suite.fuzz import ConfigFuzz, ScenarioFuzz, StreamFuzz

pytestmark = pytest.mark.faults
SAMPLE = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def test_configs_never_show_a_traceback_or_a_secret(folder: Path) -> None:
    fuzz = ConfigFuzz(folder / "config")

    @SAMPLE
    @given(fuzz.strategy())
    def case(text: bytes) -> None:
        assert fuzz.check(text) is None

    case()


def test_scenarios_are_a_scenario_or_a_config_error(folder: Path) -> None:
    fuzz = ScenarioFuzz(folder / "scenario")

    @SAMPLE
    @given(fuzz.strategy())
    def case(text: bytes) -> None:
        assert fuzz.check(text) is None

    case()


def test_broken_stream_files_never_stall_a_monitor(folder: Path) -> None:
    fuzz = StreamFuzz(folder / "stream")

    @settings(SAMPLE, max_examples=25)
    @given(fuzz.strategy())
    def case(files: tuple[str, bytes, bool]) -> None:
        problem, _ = fuzz.check(files)
        assert problem is None

    case()
