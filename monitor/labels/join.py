"""What each newly arrived label does: joins its prediction, or is quarantined with a reason.

Pure: the caller looks up the predictions whose row ids the labels name and applies the
decisions in one store transaction. A label that arrives twice counts once: the second is
a `duplicate`; one that disagrees with the row's label is `conflicting` (the first stands).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

JOINED = "joined"  # its window's quality gains it (a new quality version)
AFTER_FINAL = "after_final"  # kept in the prediction log; the window's quality stays final
DUPLICATE = "duplicate"
CONFLICTING = "conflicting"
UNKNOWN_ID = "unknown_id"  # joined later, should a window score that row after all
AMBIGUOUS = "ambiguous"
INVALID = "invalid"
REJOINED = "rejoined"  # an unknown-id label joined once its row was scored
OUTCOMES = (JOINED, AFTER_FINAL, REJOINED, DUPLICATE, CONFLICTING, UNKNOWN_ID, AMBIGUOUS, INVALID)
QUARANTINED = (DUPLICATE, CONFLICTING, UNKNOWN_ID, AMBIGUOUS, INVALID)


@dataclass(frozen=True)
class ArrivedLabel:
    row_id: str
    value: Any
    observed_at: datetime | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class LoggedPrediction:
    """A prediction a label may join: where it is, its label so far, and whether its
    window's quality is final."""

    prediction_id: int
    run_id: int
    target: str | None
    final: bool


@dataclass(frozen=True)
class Decision:
    label: ArrivedLabel
    outcome: str
    reason: str = ""
    prediction: LoggedPrediction | None = None
    #: the label as a class name of the model
    name: str | None = None

    @property
    def joins(self) -> bool:
        return self.outcome in (JOINED, AFTER_FINAL)


def decide(
    labels: Sequence[ArrivedLabel],
    predictions: Mapping[str, Sequence[LoggedPrediction]],
    class_name: Callable[[Any], str | None],
    known_classes: str,
) -> list[Decision]:
    """One decision per label, in arrival order (an earlier label of a batch wins)."""
    assigned: dict[int, str] = {}  # prediction id -> label given earlier in this batch
    decisions = []
    for label in labels:
        name = class_name(label.value)
        found = predictions.get(label.row_id, ())
        if name is None:
            reason = f"label {label.value!r} is not a class the model knows ({known_classes})"
            decisions.append(Decision(label, INVALID, reason))
        elif not found:
            reason = f"no scored row has id {label.row_id!r} (yet)"
            decisions.append(Decision(label, UNKNOWN_ID, reason))
        elif len(found) > 1:
            reason = f"{len(found)} scored rows share id {label.row_id!r}"
            decisions.append(Decision(label, AMBIGUOUS, reason))
        else:
            prediction = found[0]
            before = assigned.get(prediction.prediction_id, prediction.target)
            if before == name:
                reason = f"row {label.row_id!r} already has this label"
                decisions.append(Decision(label, DUPLICATE, reason, prediction, name))
            elif before is not None:
                reason = f"row {label.row_id!r} already has label {before!r}; the first stands"
                decisions.append(Decision(label, CONFLICTING, reason, prediction, name))
            else:
                assigned[prediction.prediction_id] = name
                outcome = AFTER_FINAL if prediction.final else JOINED
                decisions.append(Decision(label, outcome, "", prediction, name))
    return decisions
