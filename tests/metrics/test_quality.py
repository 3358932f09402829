"""Quality metrics from one confusion matrix equal scikit-learn's functions on the same rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from monitor.metrics.quality import classification_quality


def sklearn_quality(target, predicted, probabilities) -> dict[str, float]:
    classes = probabilities.shape[1]
    kwargs = (
        {"average": "binary", "zero_division": 0.0}
        if classes == 2
        else {"average": "macro", "zero_division": 0.0, "labels": list(range(classes))}
    )
    values = {
        "accuracy": accuracy_score(target, predicted),
        "precision": precision_score(target, predicted, **kwargs),
        "recall": recall_score(target, predicted, **kwargs),
        "f1": f1_score(target, predicted, **kwargs),
    }
    if len(np.unique(target)) == classes:
        values["roc_auc"] = (
            roc_auc_score(target, probabilities[:, 1])
            if classes == 2
            else roc_auc_score(target, probabilities, multi_class="ovr", average="macro")
        )
    return values


@pytest.mark.parametrize("classes", [2, 3, 5])
@pytest.mark.parametrize("seed", range(6))
def test_quality_equals_sklearn(classes: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = int(rng.integers(5, 300))
    # coarse probabilities: ties in the ranking, as real scores have
    counts = rng.multinomial(20, np.ones(classes) / classes, size=rows) + 1
    probabilities = counts / counts.sum(axis=1, keepdims=True)
    target = rng.integers(0, classes, size=rows)
    predicted = np.where(rng.random(rows) < 0.7, target, rng.integers(0, classes, size=rows))
    if seed == 0:
        predicted[:] = 0  # a class never predicted: zero division counts 0
    ours = classification_quality(target, predicted, probabilities)
    theirs = sklearn_quality(target, predicted, probabilities)
    assert ours.keys() == theirs.keys()
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(value, abs=1e-12), name


def test_a_window_of_one_class_has_no_roc_auc() -> None:
    target = np.zeros(20, dtype=int)
    probabilities = np.full((20, 2), 0.5)
    values = classification_quality(target, target, probabilities)
    assert "roc_auc" not in values
    assert values["accuracy"] == 1.0
