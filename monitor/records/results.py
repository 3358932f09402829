"""The one object a metrics computation returns; the store and the exporter both read it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from monitor.records.catalog import BY_NAME, NAMES
from monitor.records.explanations import Explanation
from monitor.records.pool import PooledWindow

# Names of the long-format metric rows that carry a drift test (method, threshold, flag).
FEATURE_DRIFT = "feature_drift"
PREDICTION_DRIFT = "prediction_drift"
EMBEDDING_DRIFT = "embedding_drift"
#: a test of the drift family (value: its statistic; threshold: the level it was compared
#: with: Holm's, or the min-p combination's critical value)
FAMILY_TEST = "drift_test"


@dataclass(frozen=True)
class DriftScore:
    """One drift test: which method, its score and threshold, and whether it found drift."""

    column: str
    method: str
    score: float
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class FamilyTest:
    """One test of the drift family: its statistic and p-value, the level the family
    compared the p-value with (Holm's, or the min-p combination's critical value), and
    whether it rejected (found drift)."""

    name: str
    method: str
    #: None where the p-value is a per-feature test's, which keeps no statistic
    statistic: float | None
    p_value: float
    level: float
    drifted: bool
    #: random splits the p-value was computed from (None: a closed form)
    permutations: int | None = None
    #: the tests a combination combined (empty for a single test)
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class DriftFamily:
    """The window-level drift tests, corrected together at level `alpha`.

    `combined`: the permutation test of the members' smallest p-value (`monitor.metrics.
    family`), where the family has one; `sequential`: the test of the last windows' rows
    together (`monitor.metrics.sequential`), which does not count in `drifted`; `weights`:
    the weighted Holm step-down's weight of a test that is not a combined member (1
    where absent); `pooled`: the window's share of the sequential test's pool, which the
    store keeps for the windows after it (None: no sequential test).
    """

    alpha: float
    tests: dict[str, FamilyTest]
    combined: FamilyTest | None = None
    sequential: FamilyTest | None = None
    weights: dict[str, float] = field(default_factory=dict)
    pooled: PooledWindow | None = field(default=None, compare=False, repr=False)

    @property
    def drifted(self) -> bool:
        """Whether any test rejected: the window's `dataset_drift`."""
        return any(test.drifted for test in self.tests.values())

    @property
    def p_value(self) -> float:
        """The family's p-value: `dataset_drift` is 1 exactly when this is at or below
        `alpha` (the combined test's, else the weighted Holm adjusted p-value of the test
        with the smallest p-value over weight)."""
        if self.combined is not None and len(self.tests) == len(self.combined.members):
            return self.combined.p_value
        tested = [t for t in self.tests.values() if self._holm_member(t)]
        if self.combined is not None:
            tested.append(self.combined)
        if not tested:
            return 1.0
        weights = [self.weights.get(t.name, 1.0) for t in tested]
        total = sum(weights)
        return min(1.0, min(t.p_value * total / w for t, w in zip(tested, weights, strict=True)))

    def _holm_member(self, test: FamilyTest) -> bool:
        return self.combined is None or test.name not in self.combined.members

    def records(self) -> list[FamilyTest]:
        """Every test to store: the members, then the combination and the sequential test."""
        extra = [t for t in (self.combined, self.sequential) if t is not None]
        return [*self.tests.values(), *extra]


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
    family: DriftFamily | None = None
    #: what sets the window apart (a text monitor's; None: no texts to quote)
    explanation: Explanation | None = None

    def run_metrics(self) -> dict[str, float]:
        """The flat run-level numbers (`runs --json` "metrics", alert rule inputs), by the
        catalog's names in its order."""
        values: dict[str, float] = {
            "drifted_share": self.drifted_share,
            "dataset_drift": float(self.dataset_drift),
        }
        if self.family is not None:
            values["dataset_drift_p_value"] = self.family.p_value
            sequential = self.family.sequential
            if sequential is not None:
                values["sequential_drift"] = float(sequential.drifted)
                values["sequential_drift_p_value"] = sequential.p_value
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

    def family_tests(self) -> list[FamilyTest]:
        return [] if self.family is None else self.family.records()
