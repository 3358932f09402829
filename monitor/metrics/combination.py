"""How the drift family combines its tests: Westfall and Young's min-p over statistics
computed on the same random splits (`MinP`), and Holm's step-down, weighted (`holm`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from monitor.metrics.two_sample import Measured


def holm(
    measured: dict[str, Measured], alpha: float, weights: Mapping[str, float] | None = None
) -> dict[str, tuple[float, bool]]:
    """Holm's step-down, weighted: tests in order of p-value over weight, each at
    `alpha x weight / (the weights of the tests not yet rejected)` (equal weights: `alpha /
    (m - rank)`); the level and whether it rejects, per test."""

    def weight(name: str) -> float:
        return 1.0 if weights is None else weights.get(name, 1.0)

    ranked = sorted(measured, key=lambda name: (measured[name].p_value / weight(name), name))
    verdicts: dict[str, tuple[float, bool]] = {}
    rejecting = True
    for rank, name in enumerate(ranked):
        # summed afresh (not by subtraction), so that the last test's level is alpha itself
        remaining = sum(weight(other) for other in ranked[rank:])
        level = alpha * (weight(name) / remaining)
        # the same expression as `DriftFamily.p_value`, so that the two always agree
        rejecting = rejecting and measured[name].p_value * remaining / weight(name) <= alpha
        verdicts[name] = (level, rejecting)
    return verdicts


class MinP:
    """Westfall and Young's min-p over statistics computed on the same splits, weighted.

    `matrix` holds, per member (a row), the observed statistic then its `B` split values.
    Each value's p-value is its rank within its row; the combined statistic of a column is
    its smallest p-value divided by its member's weight, and the combined p-value ranks
    the observed one among them. The observed column and the splits are exchangeable
    without drift, so the level is exact whatever the weights.
    """

    def __init__(self, matrix: np.ndarray, weights: list[float] | None = None) -> None:
        raw = np.ones(len(matrix)) if weights is None else np.asarray(weights, dtype=float)
        self.weights = [float(w) for w in raw / raw.sum()]
        total = matrix.shape[1]
        ranked = np.sort(matrix, axis=1)
        # near-ties (float rounding of equal sums) count as exceedances
        tolerance = 1e-9 * np.maximum(1.0, np.abs(matrix))
        below = np.vstack(
            [
                np.searchsorted(r, v, side="left")
                for r, v in zip(ranked, matrix - tolerance, strict=True)
            ]
        )
        p_values = (total - below) / total
        self.minima = (p_values / np.asarray(self.weights)[:, None]).min(axis=0)
        self.statistics = [float(v) for v in matrix[:, 0]]
        self.p_values = [float(v) for v in p_values[:, 0]]
        self.minimum = float(self.minima[0])
        self.sorted_minima = np.sort(self.minima)
        self.p_value = self._share_at_most(self.minimum)

    def _share_at_most(self, value: float) -> float:
        count = np.searchsorted(self.sorted_minima, value * (1 + 1e-9), side="right")
        return float(count / len(self.sorted_minima))

    def critical(self, level: float) -> float:
        """The largest combined statistic (smallest p-value over weight) the combination
        rejects at `level` (0: none); a member rejects at `critical x weight`."""
        allowed = int(np.floor(level * len(self.sorted_minima) + 1e-9))
        candidates = self.sorted_minima[:allowed]
        fits = [v for v in np.unique(candidates) if self._share_at_most(v) <= level]
        return float(max(fits)) if fits else 0.0
