"""Drift and quality of one window against the reference: `fit(reference)` then `calculate`."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitor.errors import MetricsError
from monitor.metrics.drift import CATEGORICAL, NUMERICAL, ColumnTest, prepare_column
from monitor.metrics.embedding import embedding_drift
from monitor.metrics.explain import Explainer
from monitor.metrics.family import EMBEDDING, DriftFamilyTests, Side
from monitor.metrics.identity import row_keys
from monitor.metrics.parallel import ColumnPool, pays_off
from monitor.metrics.quality import classification_quality
from monitor.metrics.settings import DriftSettings
from monitor.records.pool import PooledWindow
from monitor.records.results import DriftFamily, DriftScore, Result, SetAside
from monitor.records.scores import Scores

log = logging.getLogger("driftwarden.metrics")

PREDICTED_CLASS = "predicted_class"
CONFIDENCE = "confidence"


@dataclass
class Observed:
    """One side of the comparison: input features and what the model made of them.

    `keys` holds a content key per row (`monitor.metrics.identity.row_keys` of the rows'
    inputs: the text, or the features as read); None: keys of the features. `texts`: a text
    model's inputs, which the explanation of a window quotes (`row_ids` names the rows).
    """

    features: pd.DataFrame
    scores: Scores
    keys: np.ndarray | None = None
    texts: list[str] | None = None
    row_ids: list[str] | None = None

    def side(self) -> Side:
        """This side as the drift family sees it: rows in canonical (content) order."""
        keys = self.keys if self.keys is not None else row_keys(self.features)
        scores = self.scores
        return Side.canonical(self.features, scores.predicted_ids, scores.embeddings, keys)

    def prediction_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(
            {PREDICTED_CLASS: self.scores.predicted_names}, index=self.features.index
        )
        if self.scores.confidence is not None:
            frame[CONFIDENCE] = self.scores.confidence
        return frame


class MetricsEngine:
    """Keeps the reference's prepared columns and drift family between cycles.

    `text_descriptors`: the features are a text model's descriptors, tested jointly in the
    family (a tabular model's features are tested one by one). Feature columns go to a pool
    of worker processes where that pays (`drift.processes`; unset: 2 processes from
    500,000-row windows, on 2 or more cores), started at the first such window and kept,
    with its share of the reference, until `close` or the next `fit`.
    """

    def __init__(self, drift: DriftSettings, *, text_descriptors: bool = False) -> None:
        self.drift = drift
        self.text_descriptors = text_descriptors
        self._features: dict[str, ColumnTest] = {}
        self._prediction: dict[str, ColumnTest] = {}
        self._family: DriftFamilyTests | None = None
        self._reference_side: Side | None = None
        self._pool: ColumnPool | None = None
        self._explainer: Explainer | None = None

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
        side = reference.side()
        self._reference_side = side
        self._family = DriftFamilyTests(
            side,
            self.drift.alpha,
            text=self.text_descriptors,
            class_names=reference.scores.class_names,
            embeddings=self.drift.embedding.method != "off",
            limit=self.drift.embedding.sample,
            sequential=_sequential(self.drift),
        )
        self._explainer = None
        if reference.texts is not None and getattr(self.drift, "explain", True):
            self._explainer = Explainer(
                reference.texts,
                reference.features,
                reference.scores.embeddings,
                self.embedding_bandwidth,
            )
        return self

    @property
    def embedding_bandwidth(self) -> float | None:
        """The RBF bandwidth of the family's embedding test (None: it runs none)."""
        return None if self._family is None else self._family.bandwidth(EMBEDDING)

    @property
    def fitted(self) -> bool:
        return bool(self._features)

    def calculate(
        self,
        window: Observed,
        target_ids: np.ndarray | None = None,
        set_aside: SetAside | None = None,
        estimates: Mapping[str, float] | None = None,
        history: Sequence[PooledWindow] | None = None,
    ) -> Result:
        """Compare `window` with the reference: the complete Result of the window.

        `target_ids` holds -1 where a row has no label; `set_aside` counts the window's
        quarantined rows (its shares are run metrics too); `estimates` are the label-free
        quality estimates (monitor.metrics.estimation; default: the mean confidence);
        `history`: the stored windows before this one in the sequential test's pool (None:
        the pool the engine kept in memory).
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
        assert self._family is not None
        side = window.side()
        if self._reference_side is not None and (side.embeddings is None) != (
            self._reference_side.embeddings is None
        ):
            raise MetricsError("the model gave embeddings for one side only")
        family = self._family.calculate(side, features, history)
        embedding = self._embedding_score(side, family)
        drifted_share = sum(s.drifted for s in features.values()) / len(features)
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
        explanation = None
        if self._explainer is not None and window.texts is not None:
            explanation = self._explainer.explain(
                window.texts, window.features, window.scores.embeddings, window.row_ids
            )
        return Result(
            features,
            drifted_share,
            family.drifted,
            prediction,
            embedding,
            quality,
            extras,
            family,
            explanation,
        )

    def _embedding_score(self, window: Side, family: DriftFamily) -> DriftScore | None:
        """`embedding_drift_score`: the family's MMD² (method `mmd`), or Evidently's method
        of that name on the same rows in canonical order (`model`, `distance`, `ratio`)."""
        config = self.drift.embedding
        test = family.tests.get(EMBEDDING)
        if test is None:
            return None
        if config.method == "mmd":
            # no threshold on the score: its flag is the family test's (p-value vs level)
            assert test.statistic is not None
            return DriftScore("embedding", "mmd", test.statistic, math.nan, test.drifted)
        assert self._reference_side is not None
        reference = self._reference_side.embeddings
        assert reference is not None and window.embeddings is not None
        return embedding_drift(reference, window.embeddings, config)


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


def _sequential(drift: DriftSettings) -> tuple[int, float] | None:
    """The sequential test's pooled windows and level (None: off)."""
    settings = drift.sequential
    if settings.windows == 0:
        return None
    return settings.windows, settings.false_alarms_per_1000 / 1000
