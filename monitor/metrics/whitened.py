"""The distance between the window's mean embedding and the reference's, measured in the
pooled rows' own (regularized) whitening: a permutation test that finds partial drift.

Why. Text from a new domain mixed into a window (a fifth of the rows from restaurant
reviews among product reviews) moves the mean embedding in a few directions where the
home domain varies little; the new rows are not outliers (their distance to the nearest
reference rows is typical). A Gaussian kernel's MMD weighs every direction by the data's
spread, so those directions count for little; whitening first makes a small move along
a quiet direction count as much as a large one along a busy direction. The ridge keeps
the few hundred rows' covariance invertible and the noisiest directions damped.

Measured (`benchmarks/detection_statistics.py`, each statistic alone on
`benchmarks/detection.py`'s windows, level 0.01): at a fifth of the rows from yelp
(imdb), the Gaussian kernel caught 9 (13) of 20 windows, this statistic 14 (15); with
the ridge at 2 and 3 times the mean eigenvalue 13 (15), at 1 11 (13), at 0.1 4 (6); no
more than 1 of 40 control windows at any ridge. Alibi Detect's MMD: 10 (13).

Exactness. The whitening is fitted on the pooled rows (reference and window together),
which every split of them shares: the statistic is a function of the split alone, so the
permutation null holds exactly. (Fitted on the reference alone it would not: reference
rows look typical to their own covariance, and held-out rows of the same domain were
flagged in 13 of 20 control windows.)
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve, eigh, solve_triangular

from monitor.metrics.permutation import KEPT_SIZES, SplitPlan

#: the ridge added to the pooled covariance, as a multiple of its mean eigenvalue
RIDGE = 5.0


class WhitenedMeans:
    """Unbiased squared distance of means (a linear kernel) after whitening the pooled rows.

    Two exact ways to the same values, equal to rounding (`tests/metrics/
    test_drift_family.py`: 1e-14 of the largest value near the origin, 1e-10 with the rows
    a million units from it):

    - a window of fewer rows than half the dimensions (100 rows of 384-d embeddings):
      the pooled covariance is the reference's own scatter, which is eigen-decomposed
      once, plus a rank `m + 1` update (the window's rows and the shift of the mean), so
      that every quadratic form goes through the Woodbury identity (`_LowRank`). For 100
      rows against 500 in 384 dimensions and 999 splits: about 140 million multiply-adds,
      all matrix products, where the other way costs about 300 million, mostly a
      (d, n)·(n, B) product and triangular solves. In the whole cycle (`python
      benchmarks/detection_cycle.py --sizes 100 --no-peers`) the metrics stage went from
      0.060-0.077 s to 0.055-0.058 s a window;
    - otherwise, the pooled rows whitened by the Cholesky factor of the covariance, and
      the splits' sums of whitened rows (`_Pooled`).

    Either way the reference's scatter about its own mean is kept, so a window's pooled
    covariance costs a product over its own rows only.
    """

    def __init__(self, reference: np.ndarray, ridge: float = RIDGE) -> None:
        reference = np.ascontiguousarray(reference, dtype=np.float64)
        if reference.ndim != 2 or len(reference) < 2:
            raise ValueError("a whitened mean test needs a reference of at least 2 rows")
        self.reference, self.ridge = reference, ridge
        # the reference's share of every window's pooled moments, computed once, about the
        # reference's own mean (moments about the origin cancel badly far from it)
        self._mean = reference.mean(axis=0)
        centred = reference - self._mean
        self._scatter = centred.T @ centred
        # below this, the pooled rows' mean variance is rounding: the rows are all equal
        self._floor = 1e-12 * (1.0 + float(self._mean @ self._mean) / reference.shape[1])
        self._rotated: _RotatedReference | None = None

    def ridge_for(self, scale: float) -> float:
        """The ridge for pooled rows of mean variance `scale` (its multiple `ridge`, or
        `ridge` itself where the rows do not vary)."""
        return self.ridge * (scale if scale > self._floor else 1.0)

    def whiten(self, window: np.ndarray) -> np.ndarray:
        """The pooled rows (reference, then window), centred and whitened together."""
        window = np.asarray(window, dtype=np.float64)
        n, total = len(self.reference), len(self.reference) + len(window)
        mean = (n * self._mean + window.sum(axis=0)) / total
        # the pooled rows' scatter about their mean, from the reference's kept share
        offset, about = self._mean - mean, window - mean
        covariance = self._scatter + n * np.outer(offset, offset) + about.T @ about
        covariance /= max(total - 1, 1)
        scale = float(np.trace(covariance)) / len(covariance)
        covariance[np.diag_indices_from(covariance)] += self.ridge_for(scale)
        lower, _ = cho_factor(covariance, lower=True, overwrite_a=True)
        centred = np.empty((total, window.shape[1]))
        np.subtract(self.reference, mean, out=centred[:n])
        np.subtract(window, mean, out=centred[n:])
        # rows z = L⁻¹x, so that zᵀz' = xᵀ(C + λI)⁻¹x'
        return np.asarray(solve_triangular(lower, centred.T, lower=True).T)

    def statistics(self, window: np.ndarray, plan: SplitPlan, z_w: np.ndarray) -> np.ndarray:
        """The window's statistic then that of each split of `plan` (`z_w`: the window side
        of every split): `B + 1` values, the observed one first."""
        window = np.asarray(window, dtype=np.float64)
        if len(window) < 2:
            raise ValueError("a whitened mean test needs a window of at least 2 rows")
        if 2 * len(window) < self.reference.shape[1]:
            if self._rotated is None:
                self._rotated = _RotatedReference(self.reference, self._mean, self._scatter)
            return _LowRank(self, self._rotated, window).statistics(plan, z_w)
        splits = _Pooled(self, window)
        return np.concatenate([[splits.observed()], splits.statistics(plan, z_w)])


def _statistic(
    squared: np.ndarray, norms: np.ndarray, all_squares: float, n: int, m: int
) -> np.ndarray:
    """The unbiased distance of the two parts' means, from each split's squared norm of the
    window part's (whitened, centred) sum, the sum of its rows' squared norms, and the sum
    over every pooled row: the pooled rows are centred, so the reference part's sum is
    minus the window part's."""
    within_w = (squared - norms) / (m * (m - 1))
    within_r = (squared - (all_squares - norms)) / (n * (n - 1))
    return np.asarray(within_w + within_r + 2.0 * squared / (n * m))


class _RotatedReference:
    """The reference, centred on its own mean, in the eigenbasis of its scatter matrix."""

    def __init__(self, reference: np.ndarray, mean: np.ndarray, scatter: np.ndarray) -> None:
        """`scatter`: the reference rows' about their `mean`, as `WhitenedMeans` keeps it."""
        self.n, self.mean = len(reference), mean
        values, self.basis = eigh(scatter)
        self.values = np.maximum(values, 0.0)
        self.rows = (reference - mean) @ self.basis  # (n, d)
        self.trace = float(np.trace(scatter))
        self._sums: dict[tuple[int, tuple[int, ...], int, int], np.ndarray] = {}

    def split_sums(self, plan: SplitPlan, m: int) -> np.ndarray:
        """(d, B): the sum of the reference rows each split of `plan` moves into the window
        part, kept per plan and window size (3 MB for 384-d rows and 999 splits, for each
        of at most `KEPT_SIZES` sizes; the first window of a size pays d·n·B for it)."""
        if plan.n != self.n:
            raise ValueError("the split plan is for another reference size")
        key = plan.key(m)
        found = self._sums.get(key)
        if found is None:
            found = self.rows.T @ plan.reference_side(m).z_r.astype(np.float64)
            if len(self._sums) >= KEPT_SIZES:
                self._sums.pop(next(iter(self._sums)))
            self._sums[key] = found
        return found


class _LowRank:
    """One window's statistics through the Woodbury identity.

    In the rotated coordinates `y = Vᵀ(x - μ_R)`, the pooled covariance plus ridge is
    `diag(b) + U Uᵀ`: `b` the reference scatter's eigenvalues over `N - 1` plus the ridge,
    `U` the window's rows about the pooled mean `p` and the reference mean's offset `-p`
    (scaled), `m + 1` columns. Then `xᵀ(diag(b) + UUᵀ)⁻¹x = xᵀb⁻¹x - qᵀK⁻¹q`, with
    `q = Uᵀb⁻¹x` and `K = I + Uᵀb⁻¹U` (`(m + 1)²`, positive definite).
    """

    def __init__(self, test: WhitenedMeans, rotated: _RotatedReference, window: np.ndarray):
        self.rotated = rotated
        n, m = rotated.n, len(window)
        total = n + m
        self.n, self.m = n, m
        self.rows = (window - rotated.mean) @ rotated.basis  # (m, d)
        self.nu = self.rows.sum(axis=0) / total  # the pooled mean
        about = self.rows - self.nu
        trace = (
            rotated.trace + n * float(self.nu @ self.nu) + float(np.einsum("ij,ij->", about, about))
        )
        scale = trace / (total - 1) / len(self.nu)
        ridge = test.ridge_for(scale)
        self.inverse_b = 1.0 / (rotated.values / (total - 1) + ridge)
        update = np.empty((len(self.nu), m + 1))
        update[:, :m] = about.T / np.sqrt(total - 1)
        update[:, m] = -self.nu * np.sqrt(n / (total - 1))
        self.update = update
        inner = update.T @ (self.inverse_b[:, None] * update)
        inner[np.diag_indices_from(inner)] += 1.0
        self.inner = cho_factor(inner, lower=True)
        self.window_squares = self.quadratic(about.T)
        self.reference_squares = self.quadratic((rotated.rows - self.nu).T)
        self.all_squares = float(self.window_squares.sum() + self.reference_squares.sum())
        self.about_sum = about.sum(axis=0)

    def quadratic(self, columns: np.ndarray) -> np.ndarray:
        """`xᵀ(C + λI)⁻¹x` for each column `x` (the squared norm of its whitened self)."""
        scaled = self.inverse_b[:, None] * columns
        q = self.update.T @ scaled
        return np.asarray(
            np.einsum("ij,ij->j", columns, scaled)
            - np.einsum("ij,ij->j", q, cho_solve(self.inner, q))
        )

    def statistics(self, plan: SplitPlan, z_w: np.ndarray) -> np.ndarray:
        n, m = self.n, self.m
        observed = _statistic(
            self.quadratic(self.about_sum[:, None]),
            np.array([self.window_squares.sum()]),
            self.all_squares,
            n,
            m,
        )
        # per split (a column): the window part's sum about the pooled mean (m rows each)
        sums = self.rotated.split_sums(plan, m) + self.rows.T @ z_w
        sums -= m * self.nu[:, None]
        z_r = plan.reference_side(m).z_r.astype(np.float64)
        norms = self.reference_squares @ z_r + self.window_squares @ z_w
        return np.concatenate(
            [observed, _statistic(self.quadratic(sums), norms, self.all_squares, n, m)]
        )


class _Pooled:
    """One window's pooled rows, whitened together, and the statistic of any split."""

    def __init__(self, test: WhitenedMeans, window: np.ndarray) -> None:
        self.n, self.m = len(test.reference), len(window)
        if self.m < 2:
            raise ValueError("a whitened mean test needs a window of at least 2 rows")
        whitened = test.whiten(window)
        self.z_ref, self.z_win = whitened[: self.n], whitened[self.n :]
        self.squares = (whitened * whitened).sum(axis=1)
        self.all_squares = float(self.squares.sum())

    def observed(self) -> float:
        sums = self.z_win.sum(axis=0)[:, None]
        return float(self._statistic(sums, np.array([self.squares[self.n :].sum()]))[0])

    def statistics(self, plan: SplitPlan, z_w: np.ndarray) -> np.ndarray:
        """The statistic of the plan's splits (`z_w`: their window side)."""
        z_r = plan.reference_side(self.m).z_r.astype(np.float64)
        # per split (a column): the sum of the window part's rows and of their squared norms
        sums = self.z_ref.T @ z_r + self.z_win.T @ z_w
        norms = self.squares[: self.n] @ z_r + self.squares[self.n :] @ z_w
        return self._statistic(sums, norms)

    def _statistic(self, sums: np.ndarray, norms: np.ndarray) -> np.ndarray:
        squared = (sums * sums).sum(axis=0)
        return _statistic(squared, norms, self.all_squares, self.n, self.m)
