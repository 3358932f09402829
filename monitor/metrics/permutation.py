"""A two-sample kernel test with a permutation null: unbiased MMD² under an RBF kernel.

Where no closed form holds (384-d embeddings; a joint test of a few descriptors on 50-row
windows), the null distribution of the statistic is the one the data give under
exchangeability: the pooled rows split at random into a reference part and a window part
of the same sizes. The p-value `(1 + #{permuted >= observed}) / (1 + B)` is exact at any
sample size.

Cost. A random split puts `k` of the window's `m` places on reference rows and the rest
on window rows. The reference side of every split (which `k` reference rows) is drawn
once per window size from the reference's own seed, and its share of the statistic
(`z_rᵀ K_rr z_r`) is computed once; a window then draws only its side of each split,
seeded from its own identity, and pays for the two small blocks it brings (`K_rw`,
`K_ww`): about 60 million multiply-adds for 999 splits of a 100-row window against 500
reference rows, the same whether the window drifted or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: rows used to pick the bandwidth (the median of pairwise squared distances)
_BANDWIDTH_ROWS = 1000
#: window sizes whose reference-side splits are kept (a `rows:` window has one size)
_KEPT_SIZES = 4
#: splits in the first batch; each next batch is twice as large
_FIRST_BATCH = 32


@dataclass(frozen=True)
class PermutationOutcome:
    """The observed statistic and its permutation p-value over `permutations` splits."""

    statistic: float
    p_value: float
    permutations: int


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise squared Euclidean distances, clipped at 0 (rounding can make them negative)."""
    squared = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(squared, 0.0, out=squared)


@dataclass(frozen=True)
class _ReferenceSplits:
    """The reference side of `B` random splits for windows of one size `m`.

    `z_r` marks, per split (a column), the `k` reference rows it moves into the window
    part; `k` follows the hypergeometric law of a uniformly random split of `n + m` rows.
    """

    # (n, B) 0/1, kept as booleans: a monitor keeps these for each window size it meets,
    # and float64 would hold 8x the memory (3 MB a monitor at 200 rows and 2,000 splits)
    z_r: np.ndarray
    window_places: np.ndarray  # (B,) m - k: window rows each split keeps in the window part
    within: np.ndarray  # (B,) z_rᵀ K_rr z_r
    row_sums: np.ndarray  # (B,) (K_rr 1)ᵀ z_r


class KernelTwoSampleTest:
    """MMD² between a window and a fixed reference, tested with `permutations` splits.

    `reference` rows are kept in the order given (the caller makes it canonical); `seed`
    (the reference's identity) fixes the reference side of every split. The RBF bandwidth
    is the median squared distance between reference rows, fixed at fit so that every
    window is measured with the same kernel.
    """

    def __init__(self, reference: np.ndarray, seed: Sequence[int], permutations: int) -> None:
        reference = np.ascontiguousarray(reference, dtype=np.float64)
        if reference.ndim != 2 or len(reference) < 2:
            raise ValueError("a kernel test needs a reference of at least 2 rows")
        self.reference = reference
        self.seed = list(seed)
        self.permutations = permutations
        sample = reference[:_BANDWIDTH_ROWS]
        upper = squared_distances(sample, sample)[np.triu_indices(len(sample), k=1)]
        median = float(np.median(upper))
        # identical rows everywhere: any positive bandwidth gives the same (null) answer
        self.bandwidth = median if median > 0 else 1.0
        self.k_rr = self._kernel(reference, reference, same=True)
        self.k_rr_sums = self.k_rr.sum(axis=1)
        self._splits: dict[int, _ReferenceSplits] = {}

    def _kernel(self, a: np.ndarray, b: np.ndarray, same: bool = False) -> np.ndarray:
        distances = squared_distances(a, b)
        if same:
            np.fill_diagonal(distances, 0.0)  # k(x, x) = 1 exactly, whatever the rounding
        return np.exp(-distances / self.bandwidth)

    def _reference_splits(self, m: int) -> _ReferenceSplits:
        found = self._splits.get(m)
        if found is not None:
            return found
        n, count = len(self.reference), self.permutations
        rng = np.random.default_rng([*self.seed, m])
        taken = rng.hypergeometric(n, m, m, size=count)  # reference rows in the window part
        keys = rng.random((count, n))
        ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
        marks = np.ascontiguousarray((ranks < taken[:, None]).T)
        z_r = marks.astype(np.float64)
        splits = _ReferenceSplits(
            marks,
            m - taken,
            np.einsum("ib,ib->b", self.k_rr @ z_r, z_r),
            self.k_rr_sums @ z_r,
        )
        if len(self._splits) >= _KEPT_SIZES:
            self._splits.pop(next(iter(self._splits)))
        self._splits[m] = splits
        return splits

    def test(
        self, window: np.ndarray, rng: np.random.Generator, stop_above: float
    ) -> PermutationOutcome:
        """The window's MMD² and its permutation p-value (`rng`: the window's own seed).

        Splits run in growing batches; once the p-value is surely above `stop_above` (the
        largest level it will be compared with), the test stops with Besag and Clifford's
        sequential p-value `h / L` (`h` exceedances in `L` splits), itself above
        `stop_above`.
        """
        window = np.ascontiguousarray(window, dtype=np.float64)
        m = len(window)
        if m < 2:
            raise ValueError("a kernel test needs a window of at least 2 rows")
        splits = self._reference_splits(m)
        blocks = _WindowBlocks(self, window)
        observed = blocks.observed()
        # float rounding of equal sums must not decide: near-ties count as exceedances
        tolerance = 1e-9 * max(1.0, abs(observed))
        enough = int(np.floor(stop_above * self.permutations)) + 1
        exceed = done = 0
        batch = _FIRST_BATCH
        while done < self.permutations:
            end = min(done + batch, self.permutations)
            statistics = blocks.statistics(splits, slice(done, end), rng)
            hits = np.flatnonzero(statistics >= observed - tolerance)
            if exceed + len(hits) >= enough:
                used = done + int(hits[enough - exceed - 1]) + 1
                return PermutationOutcome(observed, enough / used, used)
            exceed += len(hits)
            done, batch = end, batch * 2
        return PermutationOutcome(observed, (1 + exceed) / (1 + done), done)


class _WindowBlocks:
    """What one window adds to the pooled kernel matrix, and the statistic of splits."""

    def __init__(self, test: KernelTwoSampleTest, window: np.ndarray) -> None:
        self.n, self.m = len(test.reference), len(window)
        self.k_wr = test._kernel(window, test.reference)
        self.k_ww = test._kernel(window, window, same=True)
        self.wr_sums = self.k_wr.sum(axis=0)  # K_rw 1, per reference row
        self.w_sums = self.k_wr.sum(axis=1) + self.k_ww.sum(axis=1)  # pooled sums, window rows
        self.total = float(test.k_rr_sums.sum() + 2.0 * self.wr_sums.sum() + self.k_ww.sum())

    def observed(self) -> float:
        s_ww = np.array([self.k_ww.sum()])
        r_z = np.array([self.w_sums.sum()])
        return float(_unbiased_mmd(s_ww, r_z, self.total, self.n, self.m)[0])

    def statistics(
        self, splits: _ReferenceSplits, columns: slice, rng: np.random.Generator
    ) -> np.ndarray:
        z_r = splits.z_r[:, columns].astype(np.float64)  # the same 0/1 values, exactly
        z_w = _window_side(rng, self.m, splits.window_places[columns])  # (m, b)
        # S_ww = z_rᵀK_rr z_r + 2 z_wᵀK_wr z_r + z_wᵀK_ww z_w, per split (a column)
        cross = np.einsum("ib,ib->b", self.k_wr @ z_r, z_w)
        s_ww = splits.within[columns] + 2.0 * cross + np.einsum("ib,ib->b", self.k_ww @ z_w, z_w)
        r_z = splits.row_sums[columns] + self.wr_sums @ z_r + self.w_sums @ z_w
        return _unbiased_mmd(s_ww, r_z, self.total, self.n, self.m)


def _unbiased_mmd(s_ww: np.ndarray, r_z: np.ndarray, total: float, n: int, m: int) -> np.ndarray:
    """Unbiased MMD² of splits given S_ww = zᵀKz and rᵀz (r = K 1, T = 1ᵀK1; diagonal 1)."""
    s_rw = r_z - s_ww
    s_rr = total - 2.0 * r_z + s_ww
    return (s_rr - n) / (n * (n - 1)) + (s_ww - m) / (m * (m - 1)) - 2.0 * s_rw / (n * m)


def _window_side(rng: np.random.Generator, m: int, places: np.ndarray) -> np.ndarray:
    """Per split (a column), a uniformly random choice of `places[b]` of the `m` window rows."""
    # a random permutation's values below `places` mark a uniformly random subset
    ranks = rng.permuted(np.broadcast_to(np.arange(m), (len(places), m)), axis=1)
    return (ranks < places[:, None]).T.astype(np.float64)
