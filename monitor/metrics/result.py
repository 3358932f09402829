"""The one object a metrics computation returns; the store and the exporter both read it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Names of the long-format metric rows that carry a drift test (method, threshold, flag).
FEATURE_DRIFT = "feature_drift"
PREDICTION_DRIFT = "prediction_drift"
EMBEDDING_DRIFT = "embedding_drift"
QUALITY_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


@dataclass(frozen=True)
class DriftScore:
    """One drift test: which method, its score and threshold, and whether it found drift."""

    column: str
    method: str
    score: float
    threshold: float
    drifted: bool


@dataclass
class Result:
    """Everything one window's metrics computation found, against the reference."""

    features: dict[str, DriftScore]
    drifted_share: float
    dataset_drift: bool
    prediction: dict[str, DriftScore] = field(default_factory=dict)
    embedding: DriftScore | None = None
    quality: dict[str, float] = field(default_factory=dict)
    extras: dict[str, float] = field(default_factory=dict)

    def run_metrics(self) -> dict[str, float]:
        """The flat run-level numbers (`runs --json` "metrics", alert rule inputs)."""
        values: dict[str, float] = {
            "drifted_share": self.drifted_share,
            "dataset_drift": float(self.dataset_drift),
        }
        if "predicted_class" in self.prediction:
            values["prediction_drift_score"] = self.prediction["predicted_class"].score
        if "confidence" in self.prediction:
            values["confidence_drift_score"] = self.prediction["confidence"].score
        if self.embedding is not None:
            values["embedding_drift_score"] = self.embedding.score
        values.update(self.quality)
        values.update(self.extras)
        return {k: v for k, v in values.items() if v is not None and not math.isnan(v)}

    def drift_rows(self) -> list[tuple[str, DriftScore]]:
        """Every drift test with the long-format name it is stored under."""
        rows = [(FEATURE_DRIFT, score) for score in self.features.values()]
        rows += [(PREDICTION_DRIFT, score) for score in self.prediction.values()]
        if self.embedding is not None:
            rows.append((EMBEDDING_DRIFT, self.embedding))
        return rows
