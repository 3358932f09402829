"""The sequential test: the last few windows' rows tested together against the reference.

A drift that moves a tenth of the traffic is too small for one 100-row window to show at
the family's level, but five such windows pooled (500 rows) show it plainly. After each
window the test pools the rows of the last `windows` windows (fewer until that many have
been seen) and tests them against the reference with the family's whitened mean test
(`monitor.metrics.whitened`, permutation null), at `level`. (At 1 per 1,000, the Gaussian
kernel's MMD caught 0 of 40 drifted streams within five windows, this 7:
`benchmarks/detection_statistics.py`.)

The false-alarm rate. Without drift, the pooled rows and the reference are exchangeable,
so each window's test rejects with probability at most `level`; the expected number of
false alarms over any 1,000 windows is then at most `1000 x level` (`drift.sequential.
false_alarms_per_1000`), whatever the dependence between overlapping pools. Alarms on
consecutive windows share rows, so they come in runs: the stated figure counts windows
flagged, not separate episodes.

The pool lives in memory: a restart or a new model version starts it afresh. A window
seen again (a retried cycle: the same rows) replaces its earlier copy instead of counting
twice, and a row met in two pooled windows counts once. Each test stops early once its
p-value is surely above `level` (Besag and Clifford), so a window without drift costs a
few dozen splits.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

from monitor.metrics.identity import canonical_order, seed_of
from monitor.metrics.permutation import SplitPlan
from monitor.metrics.two_sample import Side, sample_rows
from monitor.metrics.whitened import WhitenedMeans
from monitor.records.results import FamilyTest

SEQUENTIAL = "sequential"
METHOD = "whitened-mean-permutation, pooled windows"


class SequentialTest:
    """Pools the last `windows` windows' vectors (`project`) and tests them at `level`."""

    def __init__(
        self,
        kernel: WhitenedMeans,
        project: Callable[[Side], np.ndarray],
        windows: int,
        level: float,
        limit: int,
        seed: Sequence[int],
    ) -> None:
        """`kernel`: fitted on the reference rows; `limit`: pooled rows tested at most."""
        self.kernel, self.project, self.level, self.limit = kernel, project, level, limit
        # the smallest p-value must reach the level with room to spare
        permutations = max(999, math.ceil(2 / level) - 1)
        self.plan = SplitPlan(len(kernel.reference), seed, permutations)
        self._pool: deque[tuple[int, np.ndarray, np.ndarray]] = deque(maxlen=windows)

    def observe(self, window: Side, test: bool = True) -> FamilyTest | None:
        """Add the window to the pool and test the pool (None: `test` false, as where the
        window alone was flagged: the pool could say no more, and drifted pools take every
        split)."""
        identity = seed_of(window.keys)[0]
        if self._pool and self._pool[-1][0] == identity:
            self._pool.pop()
        self._pool.append((identity, window.keys, self.project(window)))
        if not test:
            return None
        keys = np.concatenate([keys for _, keys, _ in self._pool])
        vectors = np.concatenate([vectors for _, _, vectors in self._pool])
        # a row met in two windows of the pool counts once (rows are not repeated draws)
        order = canonical_order(keys)
        keys, vectors = keys[order], vectors[order]
        first = np.r_[True, keys[1:] != keys[:-1]]
        keys, vectors = keys[first], vectors[first]
        rng = np.random.default_rng(seed_of(keys, len(self._pool)))
        vectors = vectors[sample_rows(len(vectors), self.limit, rng)]
        statistic, p_value, used = self.kernel.sequential_p_value(
            vectors, self.plan, rng, self.level
        )
        return FamilyTest(
            SEQUENTIAL,
            METHOD,
            statistic,
            p_value,
            self.level,
            p_value <= self.level,
            used,
        )
