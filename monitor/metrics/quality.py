"""Classification quality on a window's labelled rows, with the averaging stated.

The numbers are scikit-learn's definitions, computed from one confusion matrix and one
ranking: sklearn's own functions validate their inputs on every call, which cost more than
the rest of a 100-row window's metrics together. `tests/metrics/test_quality.py` holds
these to sklearn's results.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def classification_quality(
    target_ids: np.ndarray, predicted_ids: np.ndarray, probabilities: np.ndarray | None
) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and ROC AUC.

    Binary: the positive class is class id 1 (the model's second label). Multiclass: macro
    averages over every class the model has, and one-vs-rest macro ROC AUC. Precision or
    recall of a class never predicted (or never present) counts 0. ROC AUC is left out when
    the window holds a single class (it is undefined there), and for multiclass models also
    when some class is absent.
    """
    target_ids = np.asarray(target_ids, dtype=np.int64)
    predicted_ids = np.asarray(predicted_ids, dtype=np.int64)
    n_classes = (
        probabilities.shape[1]
        if probabilities is not None
        else int(max(target_ids.max(initial=0), predicted_ids.max(initial=0)) + 1)
    )
    confusion = np.bincount(
        target_ids * n_classes + predicted_ids, minlength=n_classes * n_classes
    ).reshape(n_classes, n_classes)
    hits = np.diag(confusion).astype(float)
    predicted = confusion.sum(axis=0).astype(float)
    actual = confusion.sum(axis=1).astype(float)
    precision = np.divide(hits, predicted, out=np.zeros(n_classes), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros(n_classes), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(n_classes), where=both > 0)
    binary = n_classes == 2
    pick = (lambda values: float(values[1])) if binary else (lambda v: float(np.mean(v)))
    values = {
        "accuracy": float(hits.sum() / len(target_ids)),
        "precision": pick(precision),
        "recall": pick(recall),
        "f1": pick(f1),
    }
    present = np.unique(target_ids)
    if probabilities is not None and len(present) > 1:
        if binary:
            values["roc_auc"] = _binary_auc(target_ids == 1, probabilities[:, 1])
        elif len(present) == n_classes:
            values["roc_auc"] = float(
                np.mean([_binary_auc(target_ids == c, probabilities[:, c]) for c in present])
            )
    return values


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney U statistic over ranks (ties share their mean rank)."""
    ranks = rankdata(score)
    n_positive = int(positive.sum())
    n_negative = len(positive) - n_positive
    u = ranks[positive].sum() - n_positive * (n_positive + 1) / 2
    return float(u / (n_positive * n_negative))
