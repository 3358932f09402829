"""The drift family's two-sample tests, each with a null distribution that holds on small
windows. Joint members are computed on splits the family shares among them, so that their
combination is tested exactly: MMD² (vectors: embeddings, standardized descriptors) and
the predicted classes' chi-square. The others have their own null: two-sample
Kolmogorov-Smirnov (one number per row) and a contingency test for categories (Fisher's
exact test for two; chi-square with a permutation null for more).

Each is fitted on the reference `Side` and tests a window `Side`, both with rows in
canonical (content) order, drawing any randomness from the generator it is given.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from monitor.metrics.identity import canonical_order
from monitor.metrics.permutation import KernelStatistic, SplitPlan
from monitor.metrics.whitened import WhitenedMeans


@dataclass(frozen=True)
class Side:
    """One side of the comparison as the family sees it, rows in canonical order."""

    features: pd.DataFrame
    predicted_ids: np.ndarray
    embeddings: np.ndarray | None
    keys: np.ndarray

    @classmethod
    def canonical(
        cls,
        features: pd.DataFrame,
        predicted_ids: np.ndarray,
        embeddings: np.ndarray | None,
        keys: np.ndarray,
    ) -> Side:
        """The rows sorted by content key (`monitor.metrics.identity.canonical_order`)."""
        order = canonical_order(keys)
        return cls(
            features.iloc[order].reset_index(drop=True),
            predicted_ids[order],
            None if embeddings is None else embeddings[order],
            keys[order],
        )


@dataclass(frozen=True)
class Measured:
    """What one test found: its statistic, p-value and the random splits it took (if any)."""

    statistic: float | None
    p_value: float
    permutations: int | None = None


class Member(ABC):
    """One test of the family, fitted on the reference side."""

    name: str
    method: str

    @abstractmethod
    def test(self, window: Side, rng: np.random.Generator) -> Measured: ...


def sample_rows(rows: int, limit: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of at most `limit` of `rows` rows, in order (all of them when they fit)."""
    if rows <= limit:
        return np.arange(rows)
    return np.sort(rng.choice(rows, size=limit, replace=False))


class JointMember(ABC):
    """A test whose statistic is computed on a plan's shared splits of the pooled rows
    (`monitor.metrics.permutation`), so that the family can combine it with the others."""

    name: str
    method: str

    @abstractmethod
    def statistics(
        self, window: Side, rows: np.ndarray, plan: SplitPlan, z_w: np.ndarray
    ) -> np.ndarray:
        """The statistic of the window's `rows`, then of every split: `B + 1` values."""


class KernelMember(JointMember):
    """MMD² of vectors the side gives (`project`), on the reference's `rows`."""

    method = "mmd-permutation"

    def __init__(
        self, name: str, reference: Side, rows: np.ndarray, project: Callable[[Side], np.ndarray]
    ) -> None:
        self.name, self.project = name, project
        self.kernel = KernelStatistic(project(reference)[rows])

    def statistics(
        self, window: Side, rows: np.ndarray, plan: SplitPlan, z_w: np.ndarray
    ) -> np.ndarray:
        return self.kernel.statistics(self.project(window)[rows], plan, z_w)


class WhitenedMeanMember(JointMember):
    """The distance of mean vectors after whitening the pooled rows (`monitor.metrics.
    whitened`), on the reference's `rows`: what finds a new domain mixed into the text."""

    method = "whitened-mean-permutation"

    def __init__(
        self, name: str, reference: Side, rows: np.ndarray, project: Callable[[Side], np.ndarray]
    ) -> None:
        self.name, self.project = name, project
        self.means = WhitenedMeans(project(reference)[rows])

    def statistics(
        self, window: Side, rows: np.ndarray, plan: SplitPlan, z_w: np.ndarray
    ) -> np.ndarray:
        return self.means.statistics(self.project(window)[rows], plan, z_w)


class ClassShareMember(JointMember):
    """Whether the predicted classes' shares differ: Pearson's chi-square of the 2 x k table,
    on the same splits as the kernel tests."""

    method = "chi2-permutation"

    def __init__(self, name: str, reference_ids: np.ndarray, classes: int) -> None:
        self.name, self.classes = name, classes
        self.reference = _one_hot(reference_ids, classes)

    def statistics(
        self, window: Side, rows: np.ndarray, plan: SplitPlan, z_w: np.ndarray
    ) -> np.ndarray:
        own = _one_hot(window.predicted_ids[rows], self.classes)
        z_r = plan.reference_side(len(rows)).z_r.astype(np.float64)
        counts = np.vstack([own.sum(axis=0), (self.reference.T @ z_r + own.T @ z_w).T])
        pooled = self.reference.sum(axis=0) + own.sum(axis=0)
        present = pooled > 0
        if present.sum() < 2:  # one class on both sides: nothing can differ
            return np.zeros(len(counts))
        return _chi_square(counts[:, present], pooled[present], len(rows))


def _one_hot(ids: np.ndarray, classes: int) -> np.ndarray:
    table = np.zeros((len(ids), classes))
    table[np.arange(len(ids)), ids.astype(np.int64)] = 1.0
    return table


class KSMember(Member):
    """Two-sample Kolmogorov-Smirnov on one number per row (scipy's exact p-value up to
    10,000 rows a side; ties, as in integer-valued features, make it conservative)."""

    method = "ks"

    def __init__(
        self,
        name: str,
        reference: np.ndarray,
        project: Callable[[Side], np.ndarray],
        column: str | None = None,
    ) -> None:
        """`column`: the input feature tested, whose own `ks` test can give the p-value."""
        self.name, self.project, self.column = name, project, column
        self.reference = reference

    def test(self, window: Side, rng: np.random.Generator) -> Measured:
        result = stats.ks_2samp(self.reference, self.project(window))
        return Measured(float(result.statistic), float(result.pvalue))


class ContingencyMember(Member):
    """Whether a category's shares differ: Fisher's exact test for two categories, else a
    chi-square statistic with a permutation null (the window's counts drawn from the pooled
    counts, multivariate hypergeometric)."""

    def __init__(
        self,
        name: str,
        reference: pd.Series,
        project: Callable[[Side], pd.Series],
        permutations: int,
        classes: int | None = None,
    ) -> None:
        """`classes`: the values are class ids 0..classes-1 (else any hashable values)."""
        self.name, self.project, self.permutations = name, project, permutations
        self.classes = classes
        self.reference_counts = self._count(reference)
        self.method = "fisher-exact" if classes == 2 else "chi2-permutation"

    def _count(self, values: pd.Series) -> dict[object, int]:
        if self.classes is not None:
            counts = np.bincount(values.to_numpy(dtype=np.int64), minlength=self.classes)
            return dict(enumerate(counts.tolist()))
        return {key: int(count) for key, count in values.value_counts().items()}

    def _counts(self, window: pd.Series) -> np.ndarray:
        """The 2 x k table: reference counts, then the window's, by category."""
        counts = self._count(window)
        keys = sorted(self.reference_counts.keys() | counts.keys(), key=str)
        return np.array(
            [[self.reference_counts.get(k, 0) for k in keys], [counts.get(k, 0) for k in keys]],
            dtype=np.int64,
        )

    def test(self, window: Side, rng: np.random.Generator) -> Measured:
        table = self._counts(self.project(window))
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] < 2:  # one category on both sides: nothing can differ
            return Measured(0.0, 1.0)
        if table.shape[1] == 2 and self.method == "fisher-exact":
            result = stats.fisher_exact(table)
            return Measured(float(result.statistic), float(result.pvalue))
        pooled = table.sum(axis=0)
        m = int(table[1].sum())
        observed = _chi_square(table[1][None, :], pooled, m)[0]
        drawn = rng.multivariate_hypergeometric(pooled, m, size=self.permutations)
        permuted = _chi_square(drawn, pooled, m)
        exceed = int(np.count_nonzero(permuted >= observed - 1e-9 * max(1.0, observed)))
        p_value = (1 + exceed) / (1 + self.permutations)
        return Measured(float(observed), p_value, self.permutations)


def _chi_square(window_counts: np.ndarray, pooled: np.ndarray, m: int) -> np.ndarray:
    """Pearson's chi-square of 2 x k tables given the window's counts and the column totals."""
    total = int(pooled.sum())
    n = total - m
    reference_counts = pooled[None, :] - window_counts
    expected_w = pooled * (m / total)
    expected_r = pooled * (n / total)
    return ((window_counts - expected_w) ** 2 / expected_w).sum(axis=1) + (
        (reference_counts - expected_r) ** 2 / expected_r
    ).sum(axis=1)
