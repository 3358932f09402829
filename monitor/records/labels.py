"""A label's records: what arrived, the prediction it may join, and what was decided.

Shared by the label join (`monitor.labels.join`, which decides) and the store (which
applies the decisions and keeps the quarantined ones), so neither imports the other.
"""

from __future__ import annotations

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
