"""The sequential test: the last few windows' rows tested together against the reference.

A drift that moves a tenth of the traffic is too small for one 100-row window to show at
the family's level, but five such windows pooled (500 rows) show it plainly. After each
window the test pools the rows of the last `windows` windows (fewer until that many have
been seen) and tests them against the reference with the family's nearest-neighbour
novelty test (`monitor.metrics.novelty`: an exact permutation p-value), at `level`. On windows
with a tenth of yelp or imdb rows it caught 40 of 40 streams within five windows, where
the whitened mean test, pooled the same way, had caught 11 (`benchmarks/detection.py`).

The false-alarm rate. Without drift, the pooled rows and the reference's calibration rows
are exchangeable, so each window's test rejects with probability at most `level`; the
expected number of false alarms over any 1,000 windows is then at most `1000 x level`
(`drift.sequential.false_alarms_per_1000`), whatever the dependence between overlapping
pools. Alarms on consecutive windows share rows, so they come in runs: the stated figure
counts windows flagged, not separate episodes.

Where the pool lives. The cycle hands `observe` the monitor's last stored windows
(`PooledWindow`, kept by the store with their runs: `history`), so a restarted daemon,
another fleet worker, or the successor of a worker killed mid-window tests the same pool.
Only the newest windows whose scores share this test's fingerprint count
(`NearestNeighbourNovelty.fingerprint`: the reference's base rows as this model embeds
them, the neighbours, the scoring): a new model version, another reference, a changed
`drift.embedding.sample` or a release that scores rows otherwise starts the pool afresh.
Without a history (a library caller, `benchmarks/detection.py`) the pool is kept in this
object's memory. A window seen again (a retried cycle: the same rows) replaces its earlier
copy instead of counting twice, and a row met in two pooled windows counts once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from monitor.metrics.identity import canonical_order, seed_of
from monitor.metrics.novelty import NearestNeighbourNovelty
from monitor.metrics.two_sample import sample_rows
from monitor.records.pool import PooledWindow
from monitor.records.results import FamilyTest

SEQUENTIAL = "sequential"
METHOD = "nearest-neighbour-novelty, pooled windows"


class SequentialTest:
    """Pools the last `windows` windows' rows (their novelty scores) and tests them at
    `level`."""

    def __init__(
        self, novelty: NearestNeighbourNovelty, windows: int, level: float, limit: int
    ) -> None:
        """`novelty`: fitted on the reference rows; `limit`: pooled rows tested at most."""
        self.novelty, self.level, self.limit = novelty, level, limit
        #: what a window's scores must have been scored under to pool with this test's
        self.key = novelty.fingerprint()
        self._pool: deque[PooledWindow] = deque(maxlen=windows)

    @property
    def windows(self) -> int:
        """How many consecutive windows the pool holds at most."""
        assert self._pool.maxlen is not None
        return self._pool.maxlen

    def continuing(self, history: Sequence[PooledWindow]) -> list[PooledWindow]:
        """The newest windows of `history` (oldest first) scored as this test scores, up to
        the first that was not: the windows the next one pools with."""
        kept: list[PooledWindow] = []
        for window in reversed(history):
            if window.key != self.key or len(kept) == self.windows:
                break
            kept.append(window)
        return kept[::-1]

    def observe(
        self,
        window: PooledWindow,
        test: bool = True,
        history: Sequence[PooledWindow] | None = None,
    ) -> FamilyTest | None:
        """Add a window to the pool and test the pool (None: `test` false, as where the
        window alone was flagged: the pool could say no more). `window`: its identity and
        its rows' keys and novelty scores, as the family computed them for its own test;
        `history`: the stored windows before it (None: the pool this object keeps)."""
        pool = self._pool
        if history is not None:  # nothing shared is changed: another cycle may be here too
            pool = deque(self.continuing(history), maxlen=self.windows)
        if pool and pool[-1].identity == window.identity:
            pool.pop()
        pool.append(window)
        if not test:
            return None
        keys = np.concatenate([w.keys for w in pool])
        scores = np.concatenate([w.scores for w in pool])
        # a row met in two windows of the pool counts once (rows are not repeated draws)
        order = canonical_order(keys)
        keys, scores = keys[order], scores[order]
        first = np.r_[True, keys[1:] != keys[:-1]]
        keys, scores = keys[first], scores[first]
        rng = np.random.default_rng(seed_of(keys, len(pool)))
        scores = scores[sample_rows(len(scores), self.limit, rng)]
        statistic, p_value = self.novelty.test_scores(scores)
        return FamilyTest(
            SEQUENTIAL,
            METHOD,
            statistic,
            p_value,
            self.level,
            p_value <= self.level,
            self.novelty.permutations,
        )
