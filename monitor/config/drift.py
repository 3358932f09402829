"""The `drift:` block: which test each column gets, and when a window drifted as a whole."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from monitor.plugins.fields import Strict

DRIFT_METHODS = (
    "auto",
    "ks",
    "wasserstein",
    "jensenshannon",
    "psi",
    "kl_div",
    "chisquare",
    "z",
    "anderson",
    "cramer_von_mises",
    "ed",
    "hellinger",
    "mannw",
    "t_test",
    "empirical_mmd",
    "TVD",
    "fisher_exact",
    "g_test",
    "es",
)


class ColumnDrift(Strict):
    method: Literal[DRIFT_METHODS] = "auto"  # type: ignore[valid-type]
    threshold: float | None = None


class EmbeddingDrift(Strict):
    method: Literal["model", "mmd", "distance", "ratio", "off"] = "model"
    threshold: float | None = Field(None, description="method's own default when null")
    sample: int = Field(1000, ge=50, description="rows of each side used at most")


class DriftConfig(Strict):
    method: Literal[DRIFT_METHODS] = "auto"  # type: ignore[valid-type]
    threshold: float | None = None
    drifted_share: float = Field(0.5, gt=0, le=1)
    per_column: dict[str, ColumnDrift] = Field(default_factory=dict)
    embedding: EmbeddingDrift = Field(default_factory=lambda: EmbeddingDrift())
    processes: int | None = Field(
        None,
        ge=1,
        le=64,
        description="processes for per-column drift; default: 2 from 500,000-row windows",
    )
