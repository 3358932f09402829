"""The membership-aware estimator: rows the head was trained on and new rows are calibrated
apart, because a head is far surer (and more often right) on its own training rows.

- A row whose text the head was trained on (`fit-head` keeps hashes of its training texts)
  gets the in-sample calibration: the deployed head's confidence against correctness on
  the reference rows it was trained on (isotonic).
- Any other row gets an out-of-sample calibration, learned by cross-fitting: heads of the
  same kind are refitted on folds of the reference, and each fold's held-out rows give
  (where the fold head's confidence on the row falls among its confidences on its own
  training rows) -> right or wrong (isotonic). The deployed head's confidence on a new row
  is placed among its confidences on the reference rows the same way.

It needs an embedding-head model whose head recorded its training texts, and a reference
the head was (mostly) trained on; otherwise `build_estimator` falls back to `cbpe`.
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

from monitor.metrics.estimation import (
    MIN_MEMBER_SHARE,
    EstimationInput,
    Estimator,
    EstimatorUnavailable,
    LabelledReference,
    isotonic,
)

FOLDS = 10
REPEATS = 3  # seeded fold splits, pooled: the calibration does not hinge on one split


def quantile_in(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Where each value falls among `sorted_values`, as a share in [0, 1]."""
    return np.searchsorted(sorted_values, values) / len(sorted_values)


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
        self._out_of_sample = self._cross_fit(reference)

    def _cross_fit(self, reference: LabelledReference) -> IsotonicRegression:
        assert reference.refit is not None and reference.embeddings is not None
        embeddings, targets = reference.embeddings, reference.target_ids
        folds = min(FOLDS, int(np.bincount(targets).min()))
        if folds < 2:
            raise EstimatorUnavailable("a class has fewer than 2 labelled reference rows")
        quantiles: list[np.ndarray] = []
        outcomes: list[np.ndarray] = []
        for seed in range(REPEATS):
            split = StratifiedKFold(folds, shuffle=True, random_state=seed)
            for train, held in split.split(embeddings, targets):
                head = reference.refit(embeddings[train], targets[train])
                own = np.sort(head.predict_proba(embeddings[train]).max(axis=1))
                probabilities = head.predict_proba(embeddings[held])
                quantiles.append(quantile_in(own, probabilities.max(axis=1)))
                outcomes.append(probabilities.argmax(axis=1) == targets[held])
        return isotonic(np.concatenate(quantiles), np.concatenate(outcomes).astype(float))

    def _correctness(self, window: EstimationInput) -> np.ndarray:
        confidence = window.confidence
        quantile = quantile_in(self._reference_confidence, confidence)
        new_rows = self._out_of_sample.predict(quantile)
        if window.members is None:
            return np.asarray(new_rows)
        seen = self._in_sample.predict(confidence)
        return np.where(window.members.astype(bool), seen, new_rows)
