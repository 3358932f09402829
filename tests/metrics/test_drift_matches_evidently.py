"""Our per-column drift equals Evidently's own `ValueDrift` for the same column, method, data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import ValueDrift

from monitor.metrics.descriptors import text_descriptors
from monitor.metrics.drift import AUTO_METHODS, CATEGORICAL, NUMERICAL, column_kind, prepare_column


def evidently_value_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    column: str,
    method: str,
    threshold: float | None = None,
) -> float:
    kind = column_kind(reference[column])
    definition = DataDefinition(
        numerical_columns=[column] if kind == NUMERICAL else [],
        categorical_columns=[column] if kind == CATEGORICAL else [],
    )
    snapshot = Report([ValueDrift(column=column, method=method, threshold=threshold)]).run(
        Dataset.from_pandas(current[[column]], data_definition=definition),
        Dataset.from_pandas(reference[[column]], data_definition=definition),
    )
    return float(snapshot.dict()["metrics"][0]["value"])


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(42)
    reference = pd.DataFrame(
        {
            "num": rng.normal(0, 1, 600),
            "skewed": np.r_[rng.exponential(2, 590), [np.inf, -np.inf, np.nan] * 3, [1.0]],
            "cat": rng.choice(["a", "b", "c"], 600, p=[0.5, 0.3, 0.2]),
        }
    )
    current = pd.DataFrame(
        {
            "num": rng.normal(0.25, 1.1, 150),
            "skewed": np.r_[rng.exponential(2.4, 148), [np.nan, np.inf]],
            "cat": rng.choice(["a", "b", "c"], 150, p=[0.35, 0.35, 0.3]),
        }
    )
    return reference, current


NUMERIC_METHODS = [
    "ks",
    "wasserstein",
    "psi",
    "kl_div",
    "jensenshannon",
    "anderson",
    "cramer_von_mises",
    "ed",
    "hellinger",
    "mannw",
    "t_test",
]
CATEGORICAL_METHODS = ["jensenshannon", "chisquare", "psi", "kl_div", "TVD", "hellinger"]


@pytest.mark.parametrize("method", NUMERIC_METHODS)
@pytest.mark.parametrize("column", ["num", "skewed"])
def test_numeric_scores_equal_value_drift(frames, column: str, method: str) -> None:
    reference, current = frames
    ours = prepare_column(column, reference[column], method, None).calculate(current[column])
    theirs = evidently_value_drift(reference, current, column, method)
    assert ours.method == method
    assert abs(ours.score - theirs) <= 1e-12


@pytest.mark.parametrize("method", CATEGORICAL_METHODS)
def test_categorical_scores_equal_value_drift(frames, method: str) -> None:
    reference, current = frames
    ours = prepare_column("cat", reference["cat"], method, None).calculate(current["cat"])
    assert abs(ours.score - evidently_value_drift(reference, current, "cat", method)) <= 1e-12


def test_flag_direction_follows_the_method(frames) -> None:
    reference, current = frames
    # p-value tests: drift when the score is at or below the threshold
    ks = prepare_column("num", reference["num"], "ks", None).calculate(current["num"])
    assert ks.drifted == (ks.score <= ks.threshold)
    # distances: drift when the score reaches the threshold
    loose = prepare_column("num", reference["num"], "wasserstein", 0.05).calculate(current["num"])
    strict = prepare_column("num", reference["num"], "wasserstein", 5.0).calculate(current["num"])
    assert loose.score == strict.score and loose.score >= 0.05
    assert loose.drifted and not strict.drifted


def test_auto_does_not_depend_on_reference_size(frames) -> None:
    reference, _ = frames
    big = pd.concat([reference] * 3, ignore_index=True)  # past Evidently's 1,000-row switch
    for column, kind in (("num", NUMERICAL), ("cat", CATEGORICAL)):
        small_test = prepare_column(column, reference[column], "auto", None)
        big_test = prepare_column(column, big[column], "auto", None)
        assert small_test.method == big_test.method == AUTO_METHODS[kind]


def test_text_descriptors_drift_equals_value_drift(sentiment) -> None:
    reference = text_descriptors(sentiment["amazon"]["text"].iloc[:400])
    current = text_descriptors(sentiment["imdb"]["text"].iloc[:120])
    for column in reference.columns:
        ours = prepare_column(column, reference[column], "auto", None).calculate(current[column])
        assert abs(ours.score - evidently_value_drift(reference, current, column, "ks")) <= 1e-12


def test_text_descriptors_values() -> None:
    frame = text_descriptors(pd.Series(["Good phone!", "a b  c", "1234"]))
    assert frame["text_length"].tolist() == [11, 6, 4]
    assert frame["word_count"].tolist() == [2, 3, 1]
    assert frame["non_letter_share"].tolist() == pytest.approx([2 / 11, 3 / 6, 1.0])
