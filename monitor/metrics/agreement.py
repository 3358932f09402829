"""The shift-aware estimator for a held-out labelled reference: a row's chance of being
right from three things the reference can calibrate, not from confidence alone.

- the deployed head's confidence;
- agreement: the mean probability that heads refitted on folds of the reference give the
  deployed head's predicted class (on a reference row, only the head that did not see it);
- nearness: the mean cosine similarity of the row to its 5 nearest reference rows (on a
  reference row, the other rows).

A logistic regression of right-or-wrong on these (confidence and agreement as logits) is
fitted on the reference rows. On rows of another domain the heads disagree more and the
rows lie farther from the reference, where the reference showed the head to be wrong more
often; confidence alone reads such windows several points high. It needs an embedding
head that can be refitted and a reference the head was not trained on (on its training
rows the head's confidence is in-sample: `membership` serves that reference).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from monitor.metrics.estimation import (
    EstimationInput,
    Estimator,
    EstimatorUnavailable,
    LabelledReference,
)

log = logging.getLogger("driftwarden.metrics")

FOLDS = 5
NEIGHBOURS = 5


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(p / (1 - p)))


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


class AgreementEstimator(Estimator):
    """Confidence, cross-fitted heads' agreement and nearness to the reference, calibrated
    together on a held-out labelled reference."""

    name = "agreement"
    #: the share of the embedding's dimensions each cross-fitted head is fitted on, drawn
    #: at random per head (seeded); None: all of them
    subspace: float | None = None
    #: the seed of those draws
    draw_seed: int = 0

    def _fit(self, reference: LabelledReference) -> None:
        if reference.refit is None or reference.embeddings is None:
            raise EstimatorUnavailable("the model is not an embedding head that can be refitted")
        embeddings, targets = reference.embeddings, reference.target_ids
        folds = min(FOLDS, int(np.bincount(targets).min()))
        if folds < 2:
            raise EstimatorUnavailable("a class has fewer than 2 labelled reference rows")
        try:
            agreement = self._fit_heads(reference, folds, self.subspace)
        except ValueError as exc:  # a head kind that needs every dimension (a pickled pipeline)
            if self.subspace is None:
                raise
            log.info("%s: heads refitted on every dimension (on part of them: %s)", self.name, exc)
            agreement = self._fit_heads(reference, folds, None)
        #: each reference row's agreement, from the head that did not see it
        self._reference_agreement = agreement
        self._reference = _unit(np.asarray(embeddings, dtype=float))
        features = self._features(reference.confidence, agreement, self._nearness(None))
        self._model = LogisticRegression(C=1.0).fit(features, reference.correct)

    def _fit_heads(
        self, reference: LabelledReference, folds: int, subspace: float | None
    ) -> np.ndarray:
        """Fit the cross-fitted heads, each on a `subspace` share of the dimensions (None:
        all); returns each reference row's agreement from the head that did not see it."""
        assert reference.refit is not None and reference.embeddings is not None
        embeddings, targets, predicted = (
            reference.embeddings,
            reference.target_ids,
            reference.predicted,
        )
        agreement = np.zeros(len(targets))
        #: each cross-fitted head and the dimensions it reads
        self._heads: list[tuple[Any, np.ndarray]] = []
        split = StratifiedKFold(folds, shuffle=True, random_state=0)
        draw = np.random.default_rng(self.draw_seed)
        width = embeddings.shape[1]
        for train, held in split.split(embeddings, targets):
            dims = np.arange(width)
            if subspace is not None:
                count = max(1, round(subspace * width))
                dims = np.sort(draw.choice(width, count, replace=False))
            head = reference.refit(embeddings[train][:, dims], targets[train])
            self._heads.append((head, dims))
            agreement[held] = head.predict_proba(embeddings[held][:, dims])[
                np.arange(len(held)), predicted[held]
            ]
        return agreement

    def _nearness(self, rows: np.ndarray | None) -> np.ndarray:
        """Mean similarity to the nearest reference rows (None: the reference's own rows,
        each against the others)."""
        own = rows is None
        other = self._reference if rows is None else _unit(rows)
        similarity = self._reference @ other.T
        if own:
            np.fill_diagonal(similarity, -np.inf)
        count = min(NEIGHBOURS, len(self._reference) - 1)
        return np.asarray(np.sort(similarity, axis=0)[-count:].mean(axis=0))

    @staticmethod
    def _features(confidence, agreement, nearness) -> np.ndarray:
        return np.column_stack([_logit(confidence), _logit(agreement), nearness])

    def _correctness(self, window: EstimationInput) -> np.ndarray:
        return self._calibrated(window, self._fold_probabilities(window))

    def _fold_probabilities(self, window: EstimationInput) -> list[np.ndarray]:
        """Each cross-fitted head's class probabilities for the window's rows."""
        if window.embeddings is None:
            raise EstimatorUnavailable("the window has no embeddings")
        return [head.predict_proba(window.embeddings[:, dims]) for head, dims in self._heads]

    @staticmethod
    def _agreement(window: EstimationInput, folds: list[np.ndarray]) -> np.ndarray:
        """The heads' mean probability of the deployed head's predicted class, per row."""
        rows = np.arange(len(window.probabilities))
        return np.asarray(np.mean([p[rows, window.predicted] for p in folds], axis=0))

    def _calibrated(self, window: EstimationInput, folds: list[np.ndarray]) -> np.ndarray:
        """Each row's chance of being right from confidence, agreement and nearness."""
        assert window.embeddings is not None  # _fold_probabilities refused otherwise
        agreement = self._agreement(window, folds)
        features = self._features(window.confidence, agreement, self._nearness(window.embeddings))
        return np.asarray(self._model.predict_proba(features)[:, 1])
