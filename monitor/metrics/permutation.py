"""Random splits of the pooled rows, shared by every statistic of a test, and the kernel
two-sample statistic (unbiased MMD²) computed on them.

Where no closed form holds (384-d embeddings; a joint test of a few descriptors on 50-row
windows), the null distribution of a statistic is the one the data give under
exchangeability: the pooled rows split at random into a reference part and a window part
of the same sizes. A p-value `(1 + #{permuted >= observed}) / (1 + B)` is exact at any
sample size, and statistics computed on the *same* splits keep their dependence, so a
combination of them (`monitor.metrics.combination`) is tested exactly too.

Cost. A random split puts `k` of the window's `m` places on reference rows and the rest
on window rows. The reference side of every split (which `k` reference rows) is drawn
once per window size from the reference's own seed (`SplitPlan`), and a kernel's share of
the statistic (`z_rᵀ K_rr z_r`) is computed once; a window then draws only its side of
each split, seeded from its own identity, and pays for the two small blocks it brings
(`K_rw`, `K_ww`): about 60 million multiply-adds for 999 splits of a 100-row window
against 500 reference rows, the same whether the window drifted or not.

The kernel is a sum of Gaussian kernels at 1, 2 and 4 times the median squared distance
between reference rows: on the real sentences (benchmarks/detection.py) the wider
bandwidths found partial drift more often than the median alone, a sum costs one matrix
product where a maximum over bandwidths costs three, and it found as much.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: rows used to pick the bandwidth (the median of pairwise squared distances)
_BANDWIDTH_ROWS = 1000
#: bandwidths, as multiples of the median squared distance between reference rows
SCALES = (1.0, 2.0, 4.0)
#: window sizes whose reference-side splits are kept (a `rows:` window has one size)
KEPT_SIZES = 6


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise squared Euclidean distances, clipped at 0 (rounding can make them negative)."""
    squared = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(squared, 0.0, out=squared)


@dataclass(frozen=True)
class ReferenceSplits:
    """The reference side of `B` random splits for windows of one size `m`.

    `z_r` marks, per split (a column), the `k` reference rows it moves into the window
    part; `k` follows the hypergeometric law of a uniformly random split of `n + m` rows.
    """

    # (n, B) 0/1, kept as booleans: a monitor keeps these for each window size it meets,
    # and float64 would hold 8x the memory (3 MB a monitor at 200 rows and 2,000 splits)
    z_r: np.ndarray
    window_places: np.ndarray  # (B,) m - k: window rows each split keeps in the window part


class SplitPlan:
    """The reference side of `permutations` splits per window size, from the reference's seed."""

    def __init__(self, n: int, seed: Sequence[int], permutations: int) -> None:
        self.n, self.seed, self.permutations = n, list(seed), permutations
        self._kept: dict[int, ReferenceSplits] = {}

    def key(self, m: int) -> tuple[int, tuple[int, ...], int, int]:
        """What names the splits for windows of `m` rows: a cache of anything computed from
        them is keyed by this (not by the plan's `id`, which a later plan may reuse)."""
        return (self.n, tuple(self.seed), self.permutations, m)

    def reference_side(self, m: int) -> ReferenceSplits:
        found = self._kept.get(m)
        if found is not None:
            return found
        n, count = self.n, self.permutations
        rng = np.random.default_rng([*self.seed, m])
        taken = rng.hypergeometric(n, m, m, size=count)  # reference rows in the window part
        # a random permutation's values below `taken` mark a uniformly random subset (a
        # double argsort of random keys did the same at 4-5x the cost)
        ranks = rng.permuted(np.broadcast_to(np.arange(n), (count, n)), axis=1)
        splits = ReferenceSplits(np.ascontiguousarray((ranks < taken[:, None]).T), m - taken)
        if len(self._kept) >= KEPT_SIZES:
            self._kept.pop(next(iter(self._kept)))
        self._kept[m] = splits
        return splits


def window_side(rng: np.random.Generator, m: int, places: np.ndarray) -> np.ndarray:
    """Per split (a column), a uniformly random choice of `places[b]` of the `m` window rows."""
    # a random permutation's values below `places` mark a uniformly random subset
    ranks = rng.permuted(np.broadcast_to(np.arange(m), (len(places), m)), axis=1)
    return (ranks < places[:, None]).T.astype(np.float64)


@dataclass(frozen=True)
class _ReferenceTerms:
    within: np.ndarray  # (B,) z_rᵀ K_rr z_r
    row_sums: np.ndarray  # (B,) (K_rr 1)ᵀ z_r


class KernelStatistic:
    """Unbiased MMD² between a window and a fixed reference, on a plan's splits.

    `reference` rows are kept in the order given (the caller makes it canonical). The
    bandwidths are fixed at fit, so that every window is measured with the same kernel.
    """

    def __init__(self, reference: np.ndarray) -> None:
        reference = np.ascontiguousarray(reference, dtype=np.float64)
        if reference.ndim != 2 or len(reference) < 2:
            raise ValueError("a kernel test needs a reference of at least 2 rows")
        self.reference = reference
        sample = reference[:_BANDWIDTH_ROWS]
        upper = squared_distances(sample, sample)[np.triu_indices(len(sample), k=1)]
        median = float(np.median(upper))
        # identical rows everywhere: any positive bandwidth gives the same (null) answer
        self.bandwidth = median if median > 0 else 1.0
        self.k_rr = self.kernel(reference, reference, same=True)
        self.k_rr_sums = self.k_rr.sum(axis=1)
        self._terms: dict[tuple[int, tuple[int, ...], int, int], _ReferenceTerms] = {}

    def kernel(self, a: np.ndarray, b: np.ndarray, same: bool = False) -> np.ndarray:
        """The kernel matrix between rows of `a` and `b` (diagonal 1 where `same`)."""
        distances = squared_distances(a, b)
        if same:
            np.fill_diagonal(distances, 0.0)  # k(x, x) = 1 exactly, whatever the rounding
        total = np.zeros_like(distances)
        for scale in SCALES:
            total += np.exp(-distances / (scale * self.bandwidth))
        return total / len(SCALES)

    def terms(self, plan: SplitPlan, m: int) -> _ReferenceTerms:
        """The reference's share of every split of `plan` for windows of `m` rows."""
        if plan.n != len(self.reference):
            raise ValueError("the split plan is for another reference size")
        key = plan.key(m)
        found = self._terms.get(key)
        if found is not None:
            return found
        z_r = plan.reference_side(m).z_r.astype(np.float64)
        terms = _ReferenceTerms(np.einsum("ib,ib->b", self.k_rr @ z_r, z_r), self.k_rr_sums @ z_r)
        if len(self._terms) >= KEPT_SIZES:
            self._terms.pop(next(iter(self._terms)))
        self._terms[key] = terms
        return terms

    def statistics(self, window: np.ndarray, plan: SplitPlan, z_w: np.ndarray) -> np.ndarray:
        """The window's MMD² then that of each split of `plan` (`z_w`: the window side of
        every split): `B + 1` values, the observed one first."""
        blocks = WindowBlocks(self, window)
        return np.concatenate([[blocks.observed()], blocks.statistics(plan, z_w)])


class WindowBlocks:
    """What one window adds to the pooled kernel matrix, and the statistic of splits."""

    def __init__(self, test: KernelStatistic, window: np.ndarray) -> None:
        window = np.ascontiguousarray(window, dtype=np.float64)
        if len(window) < 2:
            raise ValueError("a kernel test needs a window of at least 2 rows")
        self.test = test
        self.n, self.m = len(test.reference), len(window)
        self.k_wr = test.kernel(window, test.reference)
        self.k_ww = test.kernel(window, window, same=True)
        self.wr_sums = self.k_wr.sum(axis=0)  # K_rw 1, per reference row
        self.w_sums = self.k_wr.sum(axis=1) + self.k_ww.sum(axis=1)  # pooled sums, window rows
        self.total = float(test.k_rr_sums.sum() + 2.0 * self.wr_sums.sum() + self.k_ww.sum())

    def observed(self) -> float:
        s_ww = np.array([self.k_ww.sum()])
        r_z = np.array([self.w_sums.sum()])
        return float(_unbiased_mmd(s_ww, r_z, self.total, self.n, self.m)[0])

    def statistics(self, plan: SplitPlan, z_w: np.ndarray) -> np.ndarray:
        """The statistic of the plan's splits (`z_w`: their window side)."""
        z_r = plan.reference_side(self.m).z_r.astype(np.float64)  # same 0/1 values
        terms = self.test.terms(plan, self.m)
        within, row_sums = terms.within, terms.row_sums
        # S_ww = z_rᵀK_rr z_r + 2 z_wᵀK_wr z_r + z_wᵀK_ww z_w, per split (a column)
        cross = np.einsum("ib,ib->b", self.k_wr @ z_r, z_w)
        s_ww = within + 2.0 * cross + np.einsum("ib,ib->b", self.k_ww @ z_w, z_w)
        r_z = row_sums + self.wr_sums @ z_r + self.w_sums @ z_w
        return _unbiased_mmd(s_ww, r_z, self.total, self.n, self.m)


def _unbiased_mmd(s_ww: np.ndarray, r_z: np.ndarray, total: float, n: int, m: int) -> np.ndarray:
    """Unbiased MMD² of splits given S_ww = zᵀKz and rᵀz (r = K 1, T = 1ᵀK1; diagonal 1)."""
    s_rw = r_z - s_ww
    s_rr = total - 2.0 * r_z + s_ww
    return (s_rr - n) / (n * (n - 1)) + (s_ww - m) / (m * (m - 1)) - 2.0 * s_rw / (n * m)
