"""Which unlabelled rows to ask labellers for: those both unlike the reference and uncertain.

Unlike the reference: the witness value of the drift family's embedding test
(`monitor.metrics.explain`); uncertain: one minus the margin between the model's two most
probable classes. A row's score is the product of its percentile ranks on the two, so a row
must stand out on both (a confident row far from the reference, or an uncertain one the
reference already covers, teaches a refitted head little); rows are then taken greedily,
each pick discounting the rows like it, so that a batch is not ten copies of one row.
"""

from __future__ import annotations

import numpy as np

#: how much a pick lowers the score of a row like it (times their kernel similarity)
DIVERSITY = 1.0


def uncertainty(probabilities: np.ndarray) -> np.ndarray:
    """One minus the margin between each row's two most probable classes (1: a coin toss)."""
    ordered = np.sort(np.asarray(probabilities, dtype=float), axis=1)
    if ordered.shape[1] < 2:
        return np.zeros(len(ordered))
    return 1.0 - (ordered[:, -1] - ordered[:, -2])


def rank_share(values: np.ndarray) -> np.ndarray:
    """Each value's percentile rank in (0, 1) (ties broken by position, stably)."""
    ranks = np.empty(len(values))
    ranks[np.argsort(values, kind="stable")] = np.arange(len(values))
    return (ranks + 0.5) / max(len(values), 1)


def request_scores(uncertain: np.ndarray, unlike: np.ndarray) -> np.ndarray:
    """The product of the two percentile ranks (higher: ask first)."""
    return rank_share(uncertain) * rank_share(unlike)


def choose(
    scores: np.ndarray,
    windows: np.ndarray,
    budget: int,
    per_window: int | None = None,
    embeddings: np.ndarray | None = None,
    bandwidth: float | None = None,
) -> np.ndarray:
    """Positions of at most `budget` rows, at most `per_window` from any one window
    (`windows`: each row's window), taken greedily by score.

    With `embeddings` (and the family's RBF `bandwidth`), each pick lowers the score of the
    rows like it by their kernel similarity to it (`DIVERSITY` times): ten near-copies of
    one uncertain review teach a head what one of them does. On the real sentences this
    took requested labels from 60% to 50% of random labels' count (`benchmarks/label_requests.py`).
    """
    available = np.ones(len(scores), dtype=bool)
    likeness = np.zeros(len(scores))
    taken: dict[int, int] = {}
    chosen: list[int] = []
    vectors = None if embeddings is None else np.asarray(embeddings, dtype=np.float64)
    while len(chosen) < budget and available.any():
        position = int(np.argmax(np.where(available, scores - DIVERSITY * likeness, -np.inf)))
        available[position] = False
        window = int(windows[position])
        if per_window is not None and taken.get(window, 0) >= per_window:
            continue
        taken[window] = taken.get(window, 0) + 1
        chosen.append(position)
        if vectors is not None:
            distances = ((vectors - vectors[position]) ** 2).sum(axis=1)
            likeness = np.maximum(likeness, np.exp(-distances / (bandwidth or 1.0)))
    return np.array(chosen, dtype=int)
