"""Evidently's embedding drift scores (`model`, `distance`, `ratio`), called directly (no t-SNE
plot per run), for monitors whose `embedding_drift_score` should show one of them.

The default score, `mmd`, and the embedding test of the drift family are the family's own
permutation test (`monitor.metrics.family`); these methods flag nothing in `dataset_drift`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from monitor.metrics.evidently_adapter import calc_roc_auc_random, distance, model, ratio
from monitor.metrics.settings import EmbeddingSettings
from monitor.records.results import DriftScore

_NULL_QUANTILE = 0.95
_DEFAULT_THRESHOLDS = {"distance": 0.2, "ratio": 0.2}


@lru_cache(maxsize=64)
def null_auc_threshold(n_reference: int, n_current: int) -> float:
    """The 95th percentile of a random classifier's ROC AUC on Evidently's own test split.

    Evidently's bootstrapped `model()` compares the domain classifier's AUC with this value
    but does not return it; it depends only on the two sizes, so we rebuild the same split.
    """
    labels = np.r_[np.ones(n_reference, dtype=int), np.zeros(n_current, dtype=int)]
    _, _, _, y_test = train_test_split(
        np.zeros(len(labels)), labels, test_size=0.5, random_state=42, shuffle=True
    )
    aucs = [calc_roc_auc_random(y_test, i) for i in range(100)]
    return float(np.percentile(aucs, 100 * _NULL_QUANTILE))


def _sample(matrix: np.ndarray, limit: int, seed: int) -> np.ndarray:
    if len(matrix) <= limit:
        return matrix
    rows = np.random.default_rng(seed).choice(len(matrix), size=limit, replace=False)
    return matrix[np.sort(rows)]


def embedding_drift(
    reference: np.ndarray, current: np.ndarray, config: EmbeddingSettings
) -> DriftScore:
    """Score the window's embeddings against the reference's with `config.method`."""
    ref = _sample(reference, config.sample, seed=1)
    cur = _sample(current, config.sample, seed=2)
    # the methods add columns to, or re-project, their inputs: give them fresh frames
    ref_frame, cur_frame = pd.DataFrame(ref), pd.DataFrame(cur)
    threshold = config.threshold
    if config.method == "model":
        if threshold is None:  # a statistical test against a random classifier's AUC
            method = model(bootstrap=True, quantile_probability=_NULL_QUANTILE)
            threshold = null_auc_threshold(len(ref), len(cur))
        else:
            method = model(threshold=threshold)
    else:
        threshold = _DEFAULT_THRESHOLDS[config.method] if threshold is None else threshold
        factory = {"distance": distance, "ratio": ratio}[config.method]
        method = factory(threshold=threshold)
    score, drifted, _ = method(cur_frame, ref_frame)
    return DriftScore("embedding", config.method, float(score), float(threshold), bool(drifted))
