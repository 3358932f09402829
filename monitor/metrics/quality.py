"""Classification quality on a window's labelled rows, with the averaging stated."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score


def classification_quality(
    target_ids: np.ndarray, predicted_ids: np.ndarray, probabilities: np.ndarray | None
) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and ROC AUC.

    Binary: the positive class is class id 1 (the model's second label). Multiclass: macro
    averages, and one-vs-rest macro ROC AUC. ROC AUC is left out when the window holds a
    single class (it is undefined there).
    """
    n_classes = (
        probabilities.shape[1]
        if probabilities is not None
        else int(max(target_ids.max(initial=0), predicted_ids.max(initial=0)) + 1)
    )
    binary = n_classes == 2
    average = "binary" if binary else "macro"
    labels = list(range(n_classes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        kwargs = {"average": average, "zero_division": 0.0}
        if not binary:
            kwargs["labels"] = labels
        values = {
            "accuracy": float(accuracy_score(target_ids, predicted_ids)),
            "precision": float(precision_score(target_ids, predicted_ids, **kwargs)),
            "recall": float(recall_score(target_ids, predicted_ids, **kwargs)),
            "f1": float(f1_score(target_ids, predicted_ids, **kwargs)),
        }
    present = np.unique(target_ids)
    if probabilities is not None and len(present) > 1:
        if binary:
            values["roc_auc"] = float(roc_auc_score(target_ids, probabilities[:, 1]))
        elif len(present) == n_classes:
            values["roc_auc"] = float(
                roc_auc_score(target_ids, probabilities, multi_class="ovr", average="macro")
            )
    return values
