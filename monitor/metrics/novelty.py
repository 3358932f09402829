"""The nearest-neighbour novelty test: are more of the window's rows unlike the reference
than chance allows?

Partial drift mixes a few rows of a new kind into a window of familiar ones. A test of the
mean (`monitor.metrics.whitened`) sees those rows only as a small move of the whole
window's centre, a signal that shrinks with the square of the share that changed. This
test looks at the rows one by one instead: a row from a new domain is far from every
reference row, however few such rows there are.

Split conformal. The reference's rows are split at random (from the reference's identity)
into a *base* half and a *calibration* half. A row's novelty is one minus the mean cosine
similarity of its `neighbours` most similar base rows: rows are compared by direction, as
sentence embeddings are meant to be (by Euclidean distance, the embeddings' lengths, which
follow the sentences' lengths, hid the new rows: a top-tenth test on raw distances found 1
of 20 windows, `benchmarks/detection_statistics.py`). The calibration rows and the
window's rows are scored the same way; without drift they are exchangeable (neither half
took part in the base), so, given the pooled scores, the window's rows are a uniformly
random subset of them.

The statistic: each pooled row's rank as a share of the pooled rows (u, 1 for the most
novel), and over the window's rows the mean of `max(u - TAIL, 0)`: it counts how many
rows sit in the pooled top 15% and how far up (without drift about 0.011). Its p-value
ranks it among the same statistic of random subsets of the pooled rows (`permutations`,
seeded by the reference's identity and the sizes), with the usual +1: exact at any window
size. A subset's statistic depends only on the top rows it takes, so each draw is how many
(hypergeometric) and which of them: a few hundred values, not the whole pool.

The settings were chosen on the detection protocol's f=0.2 windows over five random
splits of its reference (`benchmarks/detection_novelty.py`, p <= 0.003, of 20 yelp
windows): 10 neighbours; the tail above the 85th percentile caught 14-18 (mean 16.0)
where a count of the rows in the top tenth (hypergeometric, the first version) caught
11-15 (13.4), and tails above 0.8 and 0.9 15.4 and 13.8 on average; on windows drawn
after the choice, 12-17 (14.8).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from scipy import stats

#: base rows whose similarities are averaged into a row's novelty
NEIGHBOURS = 10
#: the version of how `scores` scores a row: change it with the formula, so that scores kept
#: in the store by an older release are not pooled with new ones
SCORES_VERSION = 1
#: the pooled rank share above which a row's rank counts
TAIL = 0.85
#: random subsets of the pooled rows behind each p-value (at least)
PERMUTATIONS = 1999
#: random subsets drawn at a time, and the most values a chunk holds (a bound on memory
#: for a large `drift.embedding.sample`: a chunk is then fewer subsets)
_CHUNK = 2000
_CHUNK_CELLS = 4_000_000


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero)."""
    matrix = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


class NearestNeighbourNovelty:
    """Fitted on the reference's vectors; `test(window)` gives (statistic, p-value)."""

    method = "nearest-neighbour-novelty, rank tail"

    def __init__(
        self,
        reference: np.ndarray,
        seed: Sequence[int],
        neighbours: int = NEIGHBOURS,
        tail: float = TAIL,
        permutations: int = PERMUTATIONS,
    ) -> None:
        """`permutations`: random subsets per p-value; the smallest p-value is one over
        that plus one, so it must exceed twice the inverse of the smallest level."""
        rows = len(reference)
        if rows < 4:
            raise ValueError(f"the novelty test needs at least 4 reference rows, got {rows}")
        order = np.random.default_rng(list(seed)).permutation(rows)
        half = rows // 2
        unit = _unit(reference)
        self.base = unit[np.sort(order[:half])]
        self.neighbours = min(neighbours, len(self.base))
        self.tail, self.permutations, self.seed = tail, permutations, list(seed)
        self.calibration = self.scores(unit[np.sort(order[half:])])

    def fingerprint(self) -> str:
        """What a row's score depends on besides the row: the base rows, the neighbours
        counted and the scoring itself (`SCORES_VERSION`). Scores under one fingerprint are
        comparable; the sequential test pools only those."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(f"{SCORES_VERSION}:{self.neighbours}:{self.base.shape}".encode())
        digest.update(np.ascontiguousarray(self.base, dtype="<f8").tobytes())
        return digest.hexdigest()

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """Each row's novelty: 1 - the mean cosine similarity of its nearest base rows."""
        if len(vectors) == 0:
            return np.zeros(0)
        similarity = _unit(vectors) @ self.base.T
        k = self.neighbours
        nearest = np.partition(similarity, similarity.shape[1] - k, axis=1)[:, -k:]
        return np.asarray(1.0 - nearest.mean(axis=1))

    def test(self, vectors: np.ndarray) -> tuple[float, float]:
        """(the window rows' mean rank excess over `tail`, its permutation p-value)."""
        return self.test_scores(self.scores(vectors))

    def test_scores(self, window: np.ndarray) -> tuple[float, float]:
        """`test` of rows whose novelty `scores` are already known."""
        if len(window) == 0:
            return 0.0, 1.0
        pooled = np.concatenate([self.calibration, window])
        total, rows = len(pooled), len(window)
        # ties (a row in both) share their rank, so neither side gains from the order
        excess = np.maximum(stats.rankdata(pooled) / total - self.tail, 0.0)
        observed = float(excess[len(self.calibration) :].sum())
        top = np.sort(excess[excess > 0])
        if len(top) == 0:
            return 0.0, 1.0
        # A random subset of `rows` of the pooled rows adds only the excess of the top rows
        # it takes: how many (hypergeometric), then which (a random choice of that many).
        rng = np.random.default_rng([*self.seed, total, rows])
        exceed = 0
        chunk = max(1, min(_CHUNK, _CHUNK_CELLS // len(top)))
        places = np.arange(len(top))
        for start in range(0, self.permutations, chunk):
            count = min(chunk, self.permutations - start)
            taken = rng.hypergeometric(len(top), total - len(top), rows, size=count)
            order = rng.permuted(np.broadcast_to(places, (count, len(top))), axis=1)
            sums = np.where(places[None, :] < taken[:, None], top[order], 0.0).sum(axis=1)
            exceed += int(np.count_nonzero(sums >= observed - 1e-9))
        return observed / rows, (1 + exceed) / (1 + self.permutations)
