"""What each newly arrived label does: joins its prediction, or is quarantined with a reason.

Pure: the caller looks up the predictions whose row ids the labels name and applies the
decisions in one store transaction. A label that arrives twice counts once: the second is
a `duplicate`; one that disagrees with the row's label is `conflicting` (the first stands).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from monitor.records.labels import (
    AFTER_FINAL,
    AMBIGUOUS,
    CONFLICTING,
    DUPLICATE,
    INVALID,
    JOINED,
    UNKNOWN_ID,
    ArrivedLabel,
    Decision,
    LoggedPrediction,
)


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
