"""Per-column drift through Evidently's stat tests, called once per column with pinned methods.

Evidently's `DataDriftPreset` runs each test three times and draws plots; calling the
registered stat test directly gives the same score at a fraction of the cost. The cleaning
below (infinities to NaN, NaN dropped) mirrors Evidently's `get_one_column_drift`, so scores
equal `ValueDrift`'s for the same column, method and data.

Two tests that redo the reference's work on every call (normed Wasserstein sorts it,
categorical Jensen-Shannon counts it) keep that work from `fit` instead, with the same
arithmetic: `tests/metrics/test_fast_drift.py` holds them to Evidently's own scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.spatial import distance
from threadpoolctl import ThreadpoolController

from monitor.errors import MetricsError
from monitor.metrics.evidently_adapter import ColumnType, StatTest, get_stattest
from monitor.records.results import DriftScore

NUMERICAL = "num"
CATEGORICAL = "cat"

# `auto` resolves per column type to one method whatever the reference's size, so scores
# and metric ids stay comparable as a reference grows (Evidently's own default switches at
# 1,000 rows). KS keeps false alarms near its 5% level on windows of a few hundred rows,
# where normed Wasserstein at 0.1 flagged 18 of 20 no-drift windows of real text; for
# categories, Jensen-Shannon distance does not grow more sensitive with sample size.
AUTO_METHODS = {NUMERICAL: "ks", CATEGORICAL: "jensenshannon"}
_EVIDENTLY_TYPES = {NUMERICAL: ColumnType.Numerical, CATEGORICAL: ColumnType.Categorical}


def column_kind(series: pd.Series) -> str:
    """Numerical for numeric dtypes (booleans excluded), categorical for everything else."""
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return CATEGORICAL
    return NUMERICAL


def clean(series: pd.Series) -> pd.Series:
    """Evidently's cleaning (infinities to NaN, then NaN rows dropped), the same rows kept.

    `replace` compares every cell of an object column with both infinities; a float column
    needs one `isfinite` pass, and a column of strings can hold no infinity at all.
    """
    dtype = series.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind == "f":
            finite = np.isfinite(series.to_numpy())
            return series if finite.all() else series[finite]
        if dtype.kind in "iub":
            return series  # holds neither NaN nor infinity
        if dtype.kind == "O" and pd.api.types.infer_dtype(series, skipna=True) == "string":
            return series.dropna()
    return series.replace([-np.inf, np.inf], np.nan).dropna()


# BLAS as loaded with numpy; `BLAS.limit(limits=1, user_api="blas")` costs ~17 us
BLAS = ThreadpoolController()


def _dot(x: np.ndarray, y: np.ndarray) -> float:
    # scipy's `np_vecdot` (it rounds unlike `np.sum(x * y)`), on one BLAS thread: BLAS rounds
    # by its thread count over 10k values, so a worker process with another count scored a
    # window 5e-17 away from the serial score (CI, wave 3). Evidently's own score on one
    # thread, and on any count below 10k values, is this one bit for bit.
    vecdot = getattr(np, "vecdot", None)
    with BLAS.limit(limits=1, user_api="blas"):
        return float(vecdot(x, y)) if vecdot is not None else float(np.sum(x * y))


class SortedWasserstein:
    """Evidently's normed Wasserstein distance with the reference sorted and normed once.

    The steps are scipy's `_cdf_distance(p=1)`: the same sorted arrays, the same
    `searchsorted` counts and the same dot product, on one BLAS thread (see `_dot`), so the
    score is the same bit for bit as Evidently's on one thread, and in every process.
    Concatenating two sorted runs makes the merge sort a linear merge.
    """

    def __init__(self, reference: pd.Series) -> None:
        self.norm = max(float(np.std(reference)), 0.001)  # as Evidently computes it
        self.sorted_reference = np.sort(np.asarray(reference, dtype=float))

    def __call__(self, current: pd.Series) -> float:
        u_sorted = self.sorted_reference
        v_sorted = np.sort(np.asarray(current, dtype=float))
        all_values = np.concatenate((u_sorted, v_sorted))
        all_values.sort(kind="mergesort")
        deltas = np.diff(all_values)
        u_cdf = u_sorted.searchsorted(all_values[:-1], "right") / u_sorted.size
        v_cdf = v_sorted.searchsorted(all_values[:-1], "right") / v_sorted.size
        return _dot(np.abs(u_cdf - v_cdf), deltas) / self.norm


class CountedJensenShannon:
    """Evidently's categorical Jensen-Shannon distance with the reference counted once.

    The categories are ordered as Evidently orders them (a Python set of both samples'
    values), so the sum runs in the same order and the score is the same bit for bit. That
    order follows the process's string-hash seed: another process may differ in the last
    bit, as Evidently's own score would, which is why the process pool keeps these columns.
    """

    def __init__(self, reference: pd.Series) -> None:
        self.size = len(reference)
        self.categories = set(reference.dropna().unique())
        self.counts = dict(reference.value_counts())

    def __call__(self, current: pd.Series) -> float:
        keys = list(self.categories | set(current.dropna().unique()))
        current_counts = dict(current.value_counts())
        reference_percents = np.array([self.counts.get(key, 0) / self.size for key in keys])
        current_percents = np.array([current_counts.get(key, 0) / len(current) for key in keys])
        return float(distance.jensenshannon(reference_percents, current_percents, None))


# Methods whose reference work `fit` keeps; every other method runs Evidently's function.
_PREPARED: dict[tuple[str, str], Callable[[pd.Series], Callable[[pd.Series], float]]] = {
    ("wasserstein", NUMERICAL): SortedWasserstein,
    ("jensenshannon", CATEGORICAL): CountedJensenShannon,
}


@dataclass
class ColumnTest:
    """One column's pinned test and its cleaned reference values, prepared once at fit."""

    column: str
    kind: str
    method: str
    threshold: float | None
    reference: pd.Series
    stattest: StatTest | None = None
    prepared: Callable[[pd.Series], float] | None = field(default=None, repr=False)

    def calculate(self, current: pd.Series) -> DriftScore:
        current = clean(current)
        if current.empty:
            raise MetricsError(f"column {self.column!r} has no usable values in this window")
        evidently_type = _EVIDENTLY_TYPES[self.kind]
        if self.stattest is None:
            self.stattest = get_stattest(self.reference, current, evidently_type, self.method)
        if self.prepared is not None:
            # both prepared methods are distances: drift at or above the threshold
            threshold = (
                self.stattest.default_threshold if self.threshold is None else self.threshold
            )
            score = self.prepared(current)
            return DriftScore(self.column, self.method, score, float(threshold), score >= threshold)
        result = self.stattest(self.reference, current, evidently_type, self.threshold)
        return DriftScore(
            column=self.column,
            method=self.method,
            score=float(result.drift_score),
            threshold=float(result.actual_threshold),
            drifted=bool(result.drifted),
        )


def prepare_column(
    column: str, reference: pd.Series, method: str, threshold: float | None, kind: str | None = None
) -> ColumnTest:
    kind = kind or column_kind(reference)
    resolved = AUTO_METHODS[kind] if method == "auto" else method
    # a copy: the engine keeps it between cycles, whatever the caller does to its frame
    cleaned = clean(reference).copy()
    if cleaned.empty:
        raise MetricsError(f"reference column {column!r} has no usable values")
    test = ColumnTest(column, kind, resolved, threshold, cleaned)
    try:
        test.stattest = get_stattest(cleaned, cleaned, _EVIDENTLY_TYPES[kind], resolved)
    except Exception as exc:  # Evidently raises its own types for unknown or ill-typed tests
        raise MetricsError(
            f"drift method {resolved!r} cannot test column {column!r}: {exc}"
        ) from None
    prepare = _PREPARED.get((resolved, kind))
    if prepare is not None:
        test.prepared = prepare(cleaned)
    return test
