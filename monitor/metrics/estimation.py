"""Label-free quality estimates: each row's chance that its prediction is right, calibrated
on the labelled reference, summed into an expected accuracy and (binary) F1.

An estimator is `fit(reference)` then `estimate(window) -> Estimate`. `confidence` trusts
the model's own top-class probability; `cbpe` and `atc` calibrate it on the reference;
`membership` (monitor.metrics.membership) also tells rows the head was trained on from new
ones and measures how far a new row lies from the reference; `agreement` and `consensus`
(monitor.metrics.agreement, .consensus) read how far heads cross-fitted on a held-out
reference agree with the deployed head.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
from sklearn.isotonic import IsotonicRegression

from monitor.errors import MetricsError

log = logging.getLogger("driftwarden.metrics")

#: fits a fresh classifier of the deployed head's kind: (embeddings, class ids) -> classifier
Refit = Callable[[np.ndarray, np.ndarray], Any]

# The in-sample calibration (`membership`) needs the reference to be (mostly) rows the head
# was trained on; below this share the reference is a held-out labelled set.
MIN_MEMBER_SHARE = 0.5
TRAINING_ROWS = "the head's training rows"
HELD_OUT = "held-out labelled rows"
UNKNOWN = "rows of unknown provenance (the model records no training texts)"


def reference_kind(reference: EstimationInput) -> str:
    """Which kind of reference this is: the head's training rows (as `init` makes) or a
    held-out labelled set (as NannyML expects)."""
    if reference.members is None or len(reference.members) == 0:
        return UNKNOWN
    share = float(np.mean(reference.members))
    return TRAINING_ROWS if share >= MIN_MEMBER_SHARE else HELD_OUT


# Below this many labelled reference rows (or with one class only) a calibration learns
# nothing trustworthy: the estimate falls back to the model's own confidence.
MIN_LABELLED = 20


class EstimatorUnavailable(MetricsError):
    """This estimator cannot serve this model or reference (the builder falls back)."""


@dataclass(frozen=True)
class EstimationInput:
    """What an estimator may look at for a set of rows: never their labels."""

    probabilities: np.ndarray
    embeddings: np.ndarray | None = None
    #: True where the deployed head was trained on the row's text (None: unknown)
    members: np.ndarray | None = None

    @property
    def confidence(self) -> np.ndarray:
        return np.asarray(self.probabilities.max(axis=1), dtype=float)

    @property
    def predicted(self) -> np.ndarray:
        return np.asarray(self.probabilities.argmax(axis=1))


@dataclass(frozen=True)
class LabelledReference(EstimationInput):
    """The reference as the deployed model scores it, with its labels (-1: unlabelled)."""

    target_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    #: refits a head on reference embeddings (embedding-head models only)
    refit: Refit | None = None

    def labelled(self) -> LabelledReference:
        """Only the labelled rows."""
        keep = self.target_ids >= 0
        return LabelledReference(
            self.probabilities[keep],
            None if self.embeddings is None else self.embeddings[keep],
            None if self.members is None else self.members[keep],
            self.target_ids[keep],
            self.refit,
        )

    @property
    def correct(self) -> np.ndarray:
        return (self.predicted == self.target_ids).astype(float)


@dataclass(frozen=True)
class Estimate:
    """A window's estimated quality, and the per-row chances it was summed from."""

    method: str
    correctness: np.ndarray
    accuracy: float
    f1: float | None

    def run_metrics(self) -> dict[str, float]:
        values = {"estimated_accuracy": self.accuracy}
        if self.f1 is not None:
            values["estimated_f1"] = self.f1
        return values


def expected_f1(correctness: np.ndarray, predicted: np.ndarray) -> float:
    """Binary F1 (class id 1 positive) from each row's chance of being right.

    A row predicted positive adds its chance to the expected true positives and the rest to
    the false positives; one predicted negative adds the rest to the false negatives.
    """
    positive = predicted == 1
    tp = float(correctness[positive].sum())
    fp = float((1 - correctness[positive]).sum())
    fn = float((1 - correctness[~positive]).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else 0.0


class Estimator(ABC):
    """`fit(reference)` once per model version, then `estimate(window)` per window."""

    name: str = ""
    #: which kind of reference it was fitted on (`reference_kind`)
    reference: str = UNKNOWN

    def fit(self, reference: LabelledReference) -> Self:
        labelled = reference.labelled()
        self.reference = reference_kind(labelled)
        if len(labelled.target_ids) < MIN_LABELLED or len(set(labelled.target_ids)) < 2:
            raise EstimatorUnavailable(
                f"the reference has {len(labelled.target_ids)} labelled rows of "
                f"{len(set(labelled.target_ids))} class(es); {self.name} needs "
                f"{MIN_LABELLED} of two classes"
            )
        self._fit(labelled)
        return self

    def estimate(self, window: EstimationInput) -> Estimate:
        if len(window.probabilities) == 0:
            raise MetricsError("no scored rows to estimate quality on")
        correctness = np.clip(np.asarray(self._correctness(window), dtype=float), 0.0, 1.0)
        binary = window.probabilities.shape[1] == 2
        f1 = expected_f1(correctness, window.predicted) if binary else None
        return Estimate(self.name, correctness, float(correctness.mean()), f1)

    def _fit(self, reference: LabelledReference) -> None:  # noqa: B027 - most learn a little
        """Learn from the labelled reference rows."""

    @abstractmethod
    def _correctness(self, window: EstimationInput) -> np.ndarray: ...


class ConfidenceEstimator(Estimator):
    """The top-class probability as the chance of being right (exact for a calibrated model)."""

    name = "confidence"

    def fit(self, reference: LabelledReference) -> Self:
        self.reference = reference_kind(reference)
        return self  # needs no labels

    def _correctness(self, window: EstimationInput) -> np.ndarray:
        return window.confidence


def isotonic(confidence: np.ndarray, correct: np.ndarray) -> IsotonicRegression:
    """A monotone map from confidence to the chance of being right."""
    return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(confidence, correct)


class CbpeEstimator(Estimator):
    """CBPE's idea: probabilities calibrated on the labelled reference (isotonic, on the
    top-class probability so that multiclass models work the same way)."""

    name = "cbpe"

    def _fit(self, reference: LabelledReference) -> None:
        self._calibration = isotonic(reference.confidence, reference.correct)

    def _correctness(self, window: EstimationInput) -> np.ndarray:
        return np.asarray(self._calibration.predict(window.confidence))


class AtcEstimator(Estimator):
    """Average thresholded confidence (Garg et al., 2022): the threshold under which the
    reference's share of rows equals its error rate; a window's estimate is its share above."""

    name = "atc"

    def _fit(self, reference: LabelledReference) -> None:
        self._threshold = float(np.quantile(reference.confidence, 1 - reference.correct.mean()))

    def _correctness(self, window: EstimationInput) -> np.ndarray:
        return (window.confidence > self._threshold).astype(float)


ESTIMATORS: dict[str, type[Estimator]] = {
    "confidence": ConfidenceEstimator,
    "cbpe": CbpeEstimator,
    "atc": AtcEstimator,
}


def build_estimator(method: str, reference: LabelledReference) -> Estimator:
    """The fitted estimator `method` names, logging which and on which kind of reference.

    `auto` is `membership` where the reference is the head's training rows (the deployment
    `init` makes), `consensus` where it is a held-out labelled set (NannyML's setup) and the
    head can be refitted, else `cbpe` (calibrated on the reference directly, as NannyML's
    CBPE is). One that cannot be fitted falls back to
    `confidence`, saying why."""
    kind = reference_kind(reference.labelled())
    estimator = _built(method, reference, kind)
    log.info("quality estimated by %s; the reference is %s", estimator.name, estimator.reference)
    return estimator


def _built(method: str, reference: LabelledReference, kind: str) -> Estimator:
    if method == "membership" or (method == "auto" and kind == TRAINING_ROWS):
        from monitor.metrics.membership import MembershipEstimator

        try:
            return MembershipEstimator().fit(reference)
        except EstimatorUnavailable as exc:
            log.info("membership estimate unavailable (%s); using cbpe", exc)
    elif method in ("agreement", "consensus") or (method == "auto" and kind == HELD_OUT):
        from monitor.metrics.agreement import AgreementEstimator
        from monitor.metrics.consensus import ConsensusEstimator

        chosen = AgreementEstimator if method == "agreement" else ConsensusEstimator
        try:
            return chosen().fit(reference)
        except EstimatorUnavailable as exc:
            log.info("%s estimate unavailable (%s); using cbpe", chosen.name, exc)
    if method in ("auto", "membership", "agreement", "consensus"):
        method = "cbpe"
    try:
        return ESTIMATORS[method]().fit(reference)
    except EstimatorUnavailable as exc:
        log.warning("%s estimate unavailable (%s); using the mean confidence", method, exc)
        fallback = ConfidenceEstimator()
        fallback.reference = kind
        return fallback
