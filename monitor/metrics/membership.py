"""The membership-aware estimator: rows the head was trained on and new rows are calibrated
apart, because a head is far more confident (and right) on its own training rows.

- A row whose text the head was trained on (`fit-head` keeps hashes of its training texts)
  gets the in-sample calibration: the deployed head's confidence against correctness on
  the reference rows it was trained on (isotonic).
- Any other row gets an out-of-sample calibration, learned by cross-fitting: heads of the
  same kind are refitted on folds of the reference, and each fold's held-out rows give
  (where the fold head's confidence falls among its own training rows' confidences, the
  row's cosine distance to its nearest training rows) -> right or wrong, a logistic model.
  The deployed head's confidence on a new row is placed among its confidences on the
  reference the same way, and its distance is measured to the reference.

It needs an embedding-head model whose head recorded its training texts, and a reference
the head was trained on; otherwise `build_estimator` falls back to `cbpe`.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from monitor.metrics.estimation import (
    EstimationInput,
    Estimator,
    EstimatorUnavailable,
    LabelledReference,
    isotonic,
)

FOLDS = 10
REPEATS = 3  # seeded fold splits: the calibration does not hinge on one split
NEIGHBOURS = 3
# The in-sample calibration needs the reference to be (mostly) rows the head was trained on.
MIN_MEMBER_SHARE = 0.5
_EDGE = 1e-3  # quantiles kept off 0 and 1, where their logit is infinite


def unit_rows(embeddings: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return np.asarray(embeddings / np.where(norms == 0, 1.0, norms), dtype=np.float32)


def neighbour_distance(rows: np.ndarray, against: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """1 - the mean cosine similarity of each row to its `k` nearest rows of `against`."""
    similarity = rows @ against.T
    k = min(k, against.shape[0])
    nearest = -np.partition(-similarity, k - 1, axis=1)[:, :k]
    return np.asarray(1.0 - nearest.mean(axis=1), dtype=float)


def quantile_in(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Where each value falls among `sorted_values`, as a share in [0, 1]."""
    return np.searchsorted(sorted_values, values) / len(sorted_values)


def features(quantile: np.ndarray, distance: np.ndarray) -> np.ndarray:
    q = np.clip(quantile, _EDGE, 1 - _EDGE)
    return np.column_stack([np.log(q / (1 - q)), distance])


class MembershipEstimator(Estimator):
    """In-sample calibration for training rows, cross-fitted calibration for new rows."""

    name = "membership"

    def _fit(self, reference: LabelledReference) -> None:
        if reference.refit is None or reference.embeddings is None:
            raise EstimatorUnavailable("the model is not an embedding head that can be refitted")
        if reference.members is None:
            raise EstimatorUnavailable("the head recorded no training texts (refit it)")
        share = float(reference.members.mean())
        if share < MIN_MEMBER_SHARE:
            raise EstimatorUnavailable(
                f"only {share:.0%} of the reference rows are training rows of the head"
            )
        members = reference.members.astype(bool)
        self._in_sample = isotonic(reference.confidence[members], reference.correct[members])
        self._reference_confidence = np.sort(reference.confidence[members])
        self._reference = unit_rows(reference.embeddings)
        self._out_of_sample = self._cross_fit(reference)

    def _cross_fit(self, reference: LabelledReference) -> LogisticRegression:
        assert reference.refit is not None and reference.embeddings is not None
        embeddings = unit_rows(reference.embeddings)
        targets = reference.target_ids
        rows: list[np.ndarray] = []
        outcomes: list[np.ndarray] = []
        folds = min(FOLDS, int(np.bincount(targets).min()))
        if folds < 2:
            raise EstimatorUnavailable("a class has fewer than 2 labelled reference rows")
        for seed in range(REPEATS):
            split = StratifiedKFold(folds, shuffle=True, random_state=seed)
            for train, held in split.split(embeddings, targets):
                head = reference.refit(reference.embeddings[train], targets[train])
                own = np.sort(head.predict_proba(reference.embeddings[train]).max(axis=1))
                probabilities = head.predict_proba(reference.embeddings[held])
                quantile = quantile_in(own, probabilities.max(axis=1))
                distance = neighbour_distance(embeddings[held], embeddings[train])
                rows.append(features(quantile, distance))
                outcomes.append(probabilities.argmax(axis=1) == targets[held])
        correct = np.concatenate(outcomes)
        if correct.all() or not correct.any():
            raise EstimatorUnavailable("the refitted heads were always right (or always wrong)")
        return LogisticRegression(C=100.0, max_iter=5000).fit(np.vstack(rows), correct)

    def _correctness(self, window: EstimationInput) -> np.ndarray:
        if window.embeddings is None:
            raise EstimatorUnavailable("the window carries no embeddings")
        confidence = window.confidence
        quantile = quantile_in(self._reference_confidence, confidence)
        distance = neighbour_distance(unit_rows(window.embeddings), self._reference)
        new_rows = self._out_of_sample.predict_proba(features(quantile, distance))[:, 1]
        if window.members is None:
            return np.asarray(new_rows)
        seen = self._in_sample.predict(confidence)
        return np.where(window.members.astype(bool), seen, new_rows)
