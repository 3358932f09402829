"""The one object a metrics computation returns; the store and the exporter both read it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from monitor.metrics.catalog import BY_NAME, NAMES

# Names of the long-format metric rows that carry a drift test (method, threshold, flag).
FEATURE_DRIFT = "feature_drift"
PREDICTION_DRIFT = "prediction_drift"
EMBEDDING_DRIFT = "embedding_drift"


@dataclass(frozen=True)
class DriftScore:
    """One drift test: which method, its score and threshold, and whether it found drift."""

    column: str
    method: str
    score: float
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class SetAside:
    """The window's rows that were quarantined instead of scored (`empty`: for empty text)."""

    rows: int = 0
    empty: int = 0


@dataclass
class Result:
    """Everything one window's metrics computation found, against the reference.

    `quality` holds the catalog's quality metrics, `extras` its estimates and counts; the
    engine fills both, and nothing changes a Result after `calculate`.
    """

    features: dict[str, DriftScore]
    drifted_share: float
    dataset_drift: bool
    prediction: dict[str, DriftScore] = field(default_factory=dict)
    embedding: DriftScore | None = None
    quality: dict[str, float] = field(default_factory=dict)
    extras: dict[str, float] = field(default_factory=dict)

    def run_metrics(self) -> dict[str, float]:
        """The flat run-level numbers (`runs --json` "metrics", alert rule inputs), by the
        catalog's names in its order."""
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
        unknown = set(values) - set(BY_NAME)
        if unknown:
            raise ValueError(f"run metric(s) {sorted(unknown)} are not in the catalog")
        return {
            name: values[name]
            for name in NAMES
            if name in values and values[name] is not None and not math.isnan(values[name])
        }

    def drift_rows(self) -> list[tuple[str, DriftScore]]:
        """Every drift test with the long-format name it is stored under."""
        rows = [(FEATURE_DRIFT, score) for score in self.features.values()]
        rows += [(PREDICTION_DRIFT, score) for score in self.prediction.values()]
        if self.embedding is not None:
            rows.append((EMBEDDING_DRIFT, self.embedding))
        return rows
