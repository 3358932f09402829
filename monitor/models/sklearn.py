"""A fitted scikit-learn estimator or pipeline (joblib file) scoring tabular features."""

from __future__ import annotations

import hashlib

import joblib
import numpy as np
import pandas as pd

from monitor.errors import ModelError
from monitor.models.base import Model, ModelInputs
from monitor.models.specs import SklearnModelConfig
from monitor.records.scores import Scores


class SklearnModel(Model):
    """`predict` gives classes; `predict_proba`, where the estimator has it, probabilities."""

    reads = "features"

    def __init__(self, config: SklearnModelConfig) -> None:
        if not config.path.is_file():
            raise ModelError(f"{config.path} does not exist")
        try:
            self.estimator = joblib.load(config.path)  # trusted files only, as documented
        except Exception as exc:
            raise ModelError(f"cannot load {config.path} with joblib: {exc}") from None
        if not hasattr(self.estimator, "predict"):
            raise ModelError(
                f"{config.path} holds a {type(self.estimator).__name__}, which has no predict()"
            )
        classes = getattr(self.estimator, "classes_", None)
        if classes is None:
            raise ModelError(
                f"{config.path}: the estimator has no classes_ (not a classifier or not fitted)"
            )
        self.classes = list(classes)
        self.class_names = tuple(str(c) for c in classes)
        digest = hashlib.sha256(config.path.read_bytes()).hexdigest()[:12]
        self.version = f"{config.path.name}@{digest}"
        self.name = config.path.stem

    def _score(self, inputs: ModelInputs) -> Scores:
        frame = inputs if isinstance(inputs, pd.DataFrame) else pd.DataFrame(inputs)
        probabilities = None
        if hasattr(self.estimator, "predict_proba"):
            probabilities = np.asarray(self.estimator.predict_proba(frame), dtype=float)
            predicted = probabilities.argmax(axis=1)
        else:
            lookup = {c: i for i, c in enumerate(self.classes)}
            predicted = np.array([lookup[c] for c in self.estimator.predict(frame)])
        return Scores(predicted, self.class_names, probabilities)
