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
follow the sentences' lengths, hid the new rows: the same top-tenth test on raw distances
found 1 of 20 windows, `benchmarks/detection_statistics.py`). The calibration rows and the
window's rows are scored the same way; without drift they are exchangeable (neither half
took part in the base), so, given the pooled scores, the window's rows are a uniformly
random subset of them. The statistic is the share of the window's rows among the pooled
rows at or above the pooled `quantile` (the top tenth); its p-value is the hypergeometric
tail, exact at any window size, in closed form (no random splits).

The settings (10 neighbours, the top tenth) were chosen on the detection protocol's f=0.2
windows and checked on fresh draws and five other reference splits:
`benchmarks/detection.py` and `benchmarks/detection_novelty.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

#: base rows whose similarities are averaged into a row's novelty
NEIGHBOURS = 10
#: the pooled score quantile above which a row counts as novel
QUANTILE = 0.9


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero)."""
    matrix = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


class NearestNeighbourNovelty:
    """Fitted on the reference's vectors; `test(window)` gives (statistic, p-value)."""

    method = "nearest-neighbour-novelty, top-decile"

    def __init__(
        self,
        reference: np.ndarray,
        seed: Sequence[int],
        neighbours: int = NEIGHBOURS,
        quantile: float = QUANTILE,
    ) -> None:
        rows = len(reference)
        if rows < 4:
            raise ValueError(f"the novelty test needs at least 4 reference rows, got {rows}")
        order = np.random.default_rng(list(seed)).permutation(rows)
        half = rows // 2
        unit = _unit(reference)
        self.base = unit[np.sort(order[:half])]
        self.neighbours = min(neighbours, len(self.base))
        self.quantile = quantile
        self.calibration = self.scores(unit[np.sort(order[half:])])

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """Each row's novelty: 1 - the mean cosine similarity of its nearest base rows."""
        if len(vectors) == 0:
            return np.zeros(0)
        similarity = _unit(vectors) @ self.base.T
        k = self.neighbours
        nearest = np.partition(similarity, similarity.shape[1] - k, axis=1)[:, -k:]
        return np.asarray(1.0 - nearest.mean(axis=1))

    def test(self, vectors: np.ndarray) -> tuple[float, float]:
        """(share of the window's rows among the pooled top rows, exact p-value)."""
        window = self.scores(vectors)
        if len(window) == 0:
            return 0.0, 1.0
        pooled = np.concatenate([self.calibration, window])
        threshold = np.quantile(pooled, self.quantile)
        top = int(np.count_nonzero(pooled >= threshold))
        novel = int(np.count_nonzero(window >= threshold))
        p_value = float(stats.hypergeom.sf(novel - 1, len(pooled), top, len(window)))
        return novel / len(window), min(1.0, max(p_value, 0.0))
