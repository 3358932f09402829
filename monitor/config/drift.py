"""The `drift:` block: which test each column gets, and when a window drifted as a whole."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from monitor.plugins.fields import Strict

# Every per-column drift method, once: its config name (also what the store and the
# `method` label carry) and whether its score is a p-value (drift at or below the threshold)
# or a distance (drift at or above). The config, the exporter's ranking and the dashboards'
# axes all read this table.
PVALUE, DISTANCE = "p-value", "distance"
DRIFT_METHOD_SCALES: dict[str, str] = {
    "ks": PVALUE,
    "wasserstein": DISTANCE,
    "jensenshannon": DISTANCE,
    "psi": DISTANCE,
    "kl_div": DISTANCE,
    "chisquare": PVALUE,
    "z": PVALUE,
    "anderson": PVALUE,
    "cramer_von_mises": PVALUE,
    "ed": DISTANCE,
    "hellinger": DISTANCE,
    "mannw": PVALUE,
    "t_test": PVALUE,
    "empirical_mmd": PVALUE,
    "TVD": PVALUE,
    "fisher_exact": PVALUE,
    "g_test": PVALUE,
    "es": PVALUE,  # Epps-Singleton
}
DRIFT_METHODS = ("auto", *DRIFT_METHOD_SCALES)
PVALUE_METHODS = frozenset(name for name, scale in DRIFT_METHOD_SCALES.items() if scale == PVALUE)


class ColumnDrift(Strict):
    method: Literal[DRIFT_METHODS] = "auto"  # type: ignore[valid-type]
    threshold: float | None = None


class EmbeddingDrift(Strict):
    """What `embedding_drift_score` shows. The drift family always tests embeddings with
    the permutation MMD test (unless `off`); `model`, `distance` and `ratio` add Evidently's
    score of that name, with its own threshold and flag, for rules written on that scale."""

    method: Literal["mmd", "model", "distance", "ratio", "off"] = "mmd"
    threshold: float | None = Field(
        None, description="model/distance/ratio: the method's own default when null"
    )
    sample: int = Field(
        1000, ge=50, description="rows of each side the kernel tests (and methods) use at most"
    )

    @model_validator(mode="after")
    def _threshold_has_a_method(self) -> EmbeddingDrift:
        if self.threshold is not None and self.method in ("mmd", "off"):
            raise ValueError(
                f"`threshold` applies to the model, distance and ratio methods; "
                f"{self.method!r} has none (the mmd test's level is drift.alpha)"
            )
        return self


class SequentialDrift(Strict):
    """The sequential test: the last `windows` windows' rows tested together (embeddings)."""

    windows: int = Field(
        5, ge=0, le=50, description="consecutive windows pooled by the sequential test; 0: off"
    )
    false_alarms_per_1000: float = Field(
        1.0,
        gt=0,
        le=100,
        description="expected windows flagged by the sequential test per 1,000 without drift",
    )


class DriftConfig(Strict):
    alpha: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="level of the drift family: the false-alarm rate of dataset_drift per window",
    )
    method: Literal[DRIFT_METHODS] = "auto"  # type: ignore[valid-type]
    threshold: float | None = None
    # before `alpha`, dataset_drift was this share of drifted features (or embedding drift);
    # still accepted so older configs load, and no longer used (check-config warns)
    drifted_share: float = Field(0.5, gt=0, le=1)
    per_column: dict[str, ColumnDrift] = Field(default_factory=dict)
    embedding: EmbeddingDrift = Field(default_factory=lambda: EmbeddingDrift())
    sequential: SequentialDrift = Field(default_factory=lambda: SequentialDrift())
    processes: int | None = Field(
        None,
        ge=1,
        le=64,
        description="processes for per-column drift; default: 2 from 500,000-row windows",
    )
    explain: bool = Field(
        True,
        description="store what changed in each text window (rows, terms, descriptors)",
    )
