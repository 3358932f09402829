"""The fast drift paths give the plain paths' scores and flags on fixed inputs.

Plain paths: Evidently's own stat-test functions on Evidently's cleaning, its
`DataDriftPreset`, and serial column tests for the process pool.
"""

from __future__ import annotations

import logging
import os
import signal

import numpy as np
import pandas as pd
import pytest
from evidently import DataDefinition, Dataset, Report
from evidently.legacy.calculations.stattests import get_stattest
from evidently.legacy.calculations.stattests.registry import _registered_stat_tests
from evidently.legacy.core import ColumnType
from evidently.presets import DataDriftPreset

from monitor.config import DriftConfig
from monitor.metrics.drift import (
    CATEGORICAL,
    NUMERICAL,
    CountedJensenShannon,
    SortedWasserstein,
    clean,
    prepare_column,
)
from monitor.metrics.engine import MetricsEngine, Observed
from monitor.metrics.parallel import ColumnPool, pays_off
from monitor.records.scores import Scores


def evidently_clean(series: pd.Series) -> pd.Series:
    return series.replace([-np.inf, np.inf], np.nan).dropna()


def evidently_score(reference: pd.Series, current: pd.Series, method: str, kind: str) -> float:
    column_type = ColumnType.Numerical if kind == NUMERICAL else ColumnType.Categorical
    reference, current = evidently_clean(reference), evidently_clean(current)
    test = get_stattest(reference, current, column_type, method)
    return float(test(reference, current, column_type, None).drift_score)


RNG = np.random.default_rng(3)
CLEAN_CASES = {
    "float with inf and nan": pd.Series(
        [1.0, np.inf, np.nan, -np.inf, 2.5, 0.0], index=[5, 4, 3, 2, 1, 0]
    ),
    "float32": pd.Series(np.array([1, np.nan, 3], dtype=np.float32)),
    "int": pd.Series([3, 1, 2]),
    "bool": pd.Series([True, False, True]),
    "strings with None and nan": pd.Series(["a", None, "b", np.nan, "a"]),
    "object mixing floats": pd.Series(["a", np.inf, 1.5, None], dtype=object),
    "string dtype": pd.Series(["x", None, "y"], dtype="string"),
    "categorical": pd.Series(pd.Categorical(["u", None, "v", "u"])),
    "nullable float": pd.Series([1.0, None, np.inf], dtype="Float64"),
}


@pytest.mark.parametrize("case", CLEAN_CASES)
def test_clean_keeps_the_rows_evidentlys_cleaning_keeps(case: str) -> None:
    series = CLEAN_CASES[case]
    pd.testing.assert_series_equal(clean(series), evidently_clean(series))


def numeric_pairs() -> dict[str, tuple[pd.Series, pd.Series]]:
    return {
        "normal shifted": (pd.Series(RNG.normal(0, 1, 3000)), pd.Series(RNG.normal(0.2, 1.1, 700))),
        "ties (integers)": (
            pd.Series(RNG.integers(0, 12, 2000).astype(float)),
            pd.Series(RNG.integers(0, 15, 900).astype(float)),
        ),
        "int dtype": (pd.Series(RNG.integers(0, 9, 500)), pd.Series(RNG.integers(2, 9, 400))),
        "constant reference": (pd.Series(np.full(300, 2.0)), pd.Series(RNG.normal(2, 1, 50))),
        "with inf and nan": (
            pd.Series(np.r_[RNG.exponential(2, 600), [np.inf, np.nan, -np.inf]]),
            pd.Series(np.r_[RNG.exponential(2.5, 150), [np.nan, np.inf]]),
        ),
        "one value each": (pd.Series([1.0]), pd.Series([3.0])),
    }


@pytest.mark.parametrize("case", list(numeric_pairs()))
def test_sorted_wasserstein_equals_evidentlys_bit_for_bit(case: str) -> None:
    reference, current = numeric_pairs()[case]
    ours = prepare_column("x", reference, "wasserstein", None, NUMERICAL)
    assert isinstance(ours.prepared, SortedWasserstein)
    assert ours.calculate(current).score == evidently_score(
        reference, current, "wasserstein", NUMERICAL
    )


def categorical_pairs() -> dict[str, tuple[pd.Series, pd.Series]]:
    letters = np.array(list("abcdefg"), dtype=object)
    return {
        "same categories": (
            pd.Series(RNG.choice(letters, 2000)),
            pd.Series(RNG.choice(letters, 600, p=np.linspace(1, 3, 7) / 14)),
        ),
        "new and missing categories, None": (
            pd.Series(np.r_[RNG.choice(letters[:5], 800), [None] * 5]),
            pd.Series(np.r_[RNG.choice(letters[2:], 300), [None, np.nan]]),
        ),
        "booleans": (pd.Series(RNG.random(400) < 0.3), pd.Series(RNG.random(100) < 0.6)),
        "pandas categorical": (
            pd.Series(pd.Categorical(RNG.choice(letters[:4], 500), categories=list("abcdz"))),
            pd.Series(pd.Categorical(RNG.choice(letters[1:4], 90), categories=list("abcdz"))),
        ),
    }


@pytest.mark.parametrize("case", list(categorical_pairs()))
def test_counted_jensen_shannon_equals_evidentlys_bit_for_bit(case: str) -> None:
    reference, current = categorical_pairs()[case]
    ours = prepare_column("c", reference, "jensenshannon", None, CATEGORICAL)
    assert isinstance(ours.prepared, CountedJensenShannon)
    theirs = evidently_score(reference, current, "jensenshannon", CATEGORICAL)
    assert ours.calculate(current).score == theirs


@pytest.mark.parametrize(
    ("method", "kind"), [("wasserstein", NUMERICAL), ("jensenshannon", CATEGORICAL)]
)
def test_prepared_tests_flag_drift_at_the_threshold_as_evidently_does(
    method: str, kind: str
) -> None:
    reference, current = (numeric_pairs() if kind == NUMERICAL else categorical_pairs())[
        "normal shifted" if kind == NUMERICAL else "same categories"
    ]
    score = prepare_column("x", reference, method, None, kind).calculate(current).score
    column_type = ColumnType.Numerical if kind == NUMERICAL else ColumnType.Categorical
    stattest = _registered_stat_tests[method][column_type]
    for threshold in (None, score, np.nextafter(score, 0), np.nextafter(score, 1)):
        ours = prepare_column("x", reference, method, threshold, kind).calculate(current)
        theirs = stattest(
            evidently_clean(reference), evidently_clean(current), column_type, threshold
        )
        assert ours.drifted == bool(theirs.drifted)
        assert ours.threshold == theirs.actual_threshold


def frames(rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)

    def frame(shift: float) -> pd.DataFrame:
        numbers = {f"n{i}": rng.normal(shift * (i % 2), 1, rows) for i in range(4)}
        numbers["n4"] = rng.integers(0, 30, rows).astype(float)
        names = np.array(["red", "green", "blue", "grey"], dtype=object)
        colours = rng.choice(names, rows, p=[0.4, 0.3, 0.2, 0.1] if shift else None)
        return pd.DataFrame({**numbers, "colour": colours})

    return frame(0.0), frame(0.2)


def test_scores_and_flags_equal_the_data_drift_preset() -> None:
    reference, current = frames(3000)
    numerical = [c for c in reference if c != "colour"]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=["colour"])
    snapshot = (
        Report([DataDriftPreset()], include_tests=True)
        .run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
        .dict()
    )
    by_display = {
        t.display_name: name for name, by in _registered_stat_tests.items() for t in by.values()
    }
    flags = {
        t["metric_config"]["params"]["column"]: t["status"] == "FAIL"
        for t in snapshot["tests"]
        if t["metric_config"]["params"]["type"].endswith(":ValueDrift")
    }
    checked = 0
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if not config["type"].endswith(":ValueDrift"):
            continue
        column = config["column"]
        kind = CATEGORICAL if column == "colour" else NUMERICAL
        test = prepare_column(
            column, reference[column], by_display[config["method"]], config["threshold"], kind
        )
        ours = test.calculate(current[column])
        assert abs(ours.score - metric["value"]) <= 1e-12
        assert ours.drifted == flags[column]
        checked += 1
    assert checked == len(reference.columns)
    assert any(flags.values()) and not all(flags.values())


def test_the_wasserstein_score_does_not_follow_the_blas_thread_count() -> None:
    # CI found a worker process scoring a window 5e-17 away from the serial score: BLAS's
    # dot product rounds by its thread count, which differs between processes
    from threadpoolctl import threadpool_limits

    reference, current = frames(40_000)
    test = SortedWasserstein(reference["n1"])
    scores = set()
    for threads in (1, 2, 4, 8):
        with threadpool_limits(threads):
            scores.add(test(current["n1"]))
    assert len(scores) == 1


def test_the_process_pool_gives_the_serial_scores_exactly() -> None:
    reference, current = frames(20_000)
    methods = {"n0": "ks", "n1": "wasserstein", "n2": "psi", "n3": "wasserstein", "n4": "ks"}
    tests = [
        prepare_column(c, reference[c], methods.get(c, "jensenshannon"), None) for c in reference
    ]
    assert not pays_off(100_000)  # here only to check equality on a small window
    windows = [current, current.iloc[:5000]]  # the workers keep the reference between windows
    with ColumnPool(tests, processes=2) as pool:
        pooled = [pool.calculate(window) for window in windows]
    for window, scores in zip(windows, pooled, strict=True):
        serial = {t.column: t.calculate(window[t.column]) for t in tests}
        assert list(scores) == list(serial)
        assert scores == serial


def test_the_engine_spreads_columns_over_processes_with_the_serial_result() -> None:
    reference, current = frames(20_000)
    scores = {
        side: Scores(np.arange(len(frame)) % 2, ("neg", "pos"), None, None)
        for side, frame in (("reference", reference), ("current", current))
    }
    engines = {
        processes: MetricsEngine(DriftConfig(processes=processes)).fit(
            Observed(reference, scores["reference"])
        )
        for processes in (1, 2)
    }
    try:
        serial, pooled = (
            engines[p].calculate(Observed(current, scores["current"])) for p in (1, 2)
        )
        assert engines[2]._pool is not None and engines[1]._pool is None
        assert list(pooled.features) == list(serial.features) == list(reference.columns)
        assert pooled == serial
        assert 0 < serial.drifted_share < 1
    finally:
        engines[2].close()
    assert engines[2]._pool is None
    # unset, the pool waits for windows large enough to pay for it
    assert MetricsEngine(DriftConfig())._pool_for(len(current)) is None


@pytest.mark.slow  # starts a process pool and kills a worker (about 15 s)
def test_a_dead_drift_worker_costs_one_serial_window_not_the_monitor(caplog) -> None:
    reference, current = frames(5_000)
    scores = {
        side: Scores(np.arange(len(frame)) % 2, ("neg", "pos"), None, None)
        for side, frame in (("reference", reference), ("current", current))
    }
    window = Observed(current, scores["current"])
    serial = MetricsEngine(DriftConfig(processes=1)).fit(Observed(reference, scores["reference"]))
    pooled = MetricsEngine(DriftConfig(processes=2)).fit(Observed(reference, scores["reference"]))
    try:
        assert pooled.calculate(window) == serial.calculate(window)
        assert pooled._pool is not None
        for executor, _ in pooled._pool._remote:  # what the kernel's OOM killer would do
            for process in list(executor._processes.values()):
                os.kill(process.pid, signal.SIGKILL)
                process.join(10)
        with caplog.at_level(logging.WARNING, logger="driftwarden.metrics"):
            assert pooled.calculate(window) == serial.calculate(window)
        assert "drift worker process died" in caplog.text
        assert pooled.calculate(window) == serial.calculate(window)  # on a fresh pool
        assert pooled._pool is not None
    finally:
        pooled.close()
