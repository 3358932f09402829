"""Drift and quality of one window against the reference: `fit(reference)` then `calculate`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitor.config import DriftConfig
from monitor.errors import MetricsError
from monitor.metrics.drift import CATEGORICAL, NUMERICAL, ColumnTest, prepare_column
from monitor.metrics.embedding import embedding_drift
from monitor.metrics.parallel import ColumnPool, pays_off
from monitor.metrics.quality import classification_quality
from monitor.metrics.result import DriftScore, Result, SetAside
from monitor.models.base import Scores

log = logging.getLogger("driftwarden.metrics")

PREDICTED_CLASS = "predicted_class"
CONFIDENCE = "confidence"


@dataclass
class Observed:
    """One side of the comparison: input features and what the model made of them."""

    features: pd.DataFrame
    scores: Scores

    def prediction_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(
            {PREDICTED_CLASS: self.scores.predicted_names}, index=self.features.index
        )
        if self.scores.confidence is not None:
            frame[CONFIDENCE] = self.scores.confidence
        return frame


class MetricsEngine:
    """Keeps the reference's prepared columns and embeddings between cycles.

    Feature columns go to a pool of worker processes where that pays (`drift.processes`;
    unset: 2 processes from 500,000-row windows, on 2 or more cores), started at the first
    such window and kept, with its share of the reference, until `close` or the next `fit`.
    """

    def __init__(self, drift: DriftConfig) -> None:
        self.drift = drift
        self._features: dict[str, ColumnTest] = {}
        self._prediction: dict[str, ColumnTest] = {}
        self._reference_embeddings: np.ndarray | None = None
        self._pool: ColumnPool | None = None

    def _pool_for(self, rows: int) -> ColumnPool | None:
        processes = self.drift.processes
        if processes is None:
            processes = 2 if pays_off(rows) else 1
        if processes < 2:
            return None
        if self._pool is None:
            self._pool = ColumnPool(list(self._features.values()), processes)
        return self._pool

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _method(self, column: str) -> tuple[str, float | None]:
        override = self.drift.per_column.get(column)
        if override is not None:
            return override.method, override.threshold
        return self.drift.method, self.drift.threshold

    def fit(self, reference: Observed) -> MetricsEngine:
        self.close()  # workers hold the previous reference
        unknown = set(self.drift.per_column) - set(reference.features.columns)
        if unknown:
            raise MetricsError(
                f"drift.per_column names unknown column(s): {sorted(unknown)} "
                f"(columns: {', '.join(reference.features.columns)})"
            )
        self._features = {
            column: prepare_column(column, reference.features[column], *self._method(column))
            for column in reference.features.columns
        }
        predictions = reference.prediction_frame()
        self._prediction = {
            PREDICTED_CLASS: prepare_column(
                PREDICTED_CLASS,
                predictions[PREDICTED_CLASS],
                *self._method(PREDICTED_CLASS),
                kind=CATEGORICAL,
            ),
        }
        if CONFIDENCE in predictions:
            self._prediction[CONFIDENCE] = prepare_column(
                CONFIDENCE, predictions[CONFIDENCE], *self._method(CONFIDENCE), kind=NUMERICAL
            )
        self._reference_embeddings = reference.scores.embeddings
        return self

    def column_tests(self) -> list[ColumnTest]:
        """The prepared tests, features first (the snapshot pins the same methods)."""
        return [*self._features.values(), *self._prediction.values()]

    @property
    def fitted(self) -> bool:
        return bool(self._features)

    def calculate(
        self,
        window: Observed,
        target_ids: np.ndarray | None = None,
        set_aside: SetAside | None = None,
        estimates: Mapping[str, float] | None = None,
    ) -> Result:
        """Compare `window` with the reference: the complete Result of the window.

        `target_ids` holds -1 where a row has no label; `set_aside` counts the window's
        quarantined rows (its shares are run metrics too); `estimates` are the label-free
        quality estimates (monitor.metrics.estimation; default: the mean confidence).
        """
        if not self.fitted:
            raise MetricsError("metrics engine used before fit(reference)")
        if window.features.empty:
            raise MetricsError("the window has no usable rows to compare")
        pool = self._pool_for(len(window.features))
        features: dict[str, DriftScore] | None = None
        if pool is not None:
            try:
                features = pool.calculate(window.features[list(self._features)])
            except BrokenProcessPool:  # a worker died (killed, out of memory): start afresh
                log.warning("drift worker process died; this window's columns run serially")
                self.close()
        if features is None:
            features = {
                name: test.calculate(window.features[name]) for name, test in self._features.items()
            }
        predictions = window.prediction_frame()
        prediction = {
            name: test.calculate(predictions[name]) for name, test in self._prediction.items()
        }
        embedding = None
        if self._reference_embeddings is not None and window.scores.embeddings is not None:
            embedding = embedding_drift(
                self._reference_embeddings, window.scores.embeddings, self.drift.embedding
            )
        drifted_share = sum(s.drifted for s in features.values()) / len(features)
        dataset_drift = drifted_share >= self.drift.drifted_share or bool(
            embedding is not None and embedding.drifted
        )
        quality: dict[str, float] = {}
        if target_ids is not None:
            labelled = target_ids >= 0
            if labelled.any():
                probabilities = window.scores.probabilities
                quality = classification_quality(
                    target_ids[labelled],
                    window.scores.predicted_ids[labelled],
                    None if probabilities is None else probabilities[labelled],
                )
        extras = _estimates_and_counts(window, target_ids, set_aside or SetAside())
        if estimates is not None:
            extras.update(estimates)
        return Result(
            features, drifted_share, dataset_drift, prediction, embedding, quality, extras
        )


def _estimates_and_counts(
    window: Observed, target_ids: np.ndarray | None, set_aside: SetAside
) -> dict[str, float]:
    """Labelled rows, confidence and its accuracy estimate, and the quarantined shares."""
    extras: dict[str, float] = {}
    if target_ids is not None:
        extras["labelled_rows"] = float((target_ids >= 0).sum())
        extras["label_coverage"] = (
            extras["labelled_rows"] / len(target_ids) if len(target_ids) else 0.0
        )
    if window.scores.confidence is not None:
        extras["mean_confidence"] = float(np.mean(window.scores.confidence))
        # For a calibrated classifier the top-class probability is the chance its prediction
        # is right, so the mean is the expected accuracy; the cycle passes a better estimate
        extras["estimated_accuracy"] = extras["mean_confidence"]
    total = len(window.features) + set_aside.rows
    extras["quarantined_share"] = set_aside.rows / total if total else 0.0
    extras["empty_share"] = set_aside.empty / total if total else 0.0
    return extras
