"""What each arrived label does, decided without a store."""

from __future__ import annotations

from monitor.labels.join import decide
from monitor.records.labels import (
    AFTER_FINAL,
    AMBIGUOUS,
    CONFLICTING,
    DUPLICATE,
    INVALID,
    JOINED,
    UNKNOWN_ID,
    ArrivedLabel,
    LoggedPrediction,
)

CLASSES = ("negative", "positive")


def class_name(value: object) -> str | None:
    if value in (0, "0", "negative"):
        return "negative"
    if value in (1, "1", "positive"):
        return "positive"
    return None


def label(row_id: str, value: object) -> ArrivedLabel:
    return ArrivedLabel(row_id, value, None, {"id": row_id, "label": value})


PREDICTIONS = {
    "open": [LoggedPrediction(1, 10, None, final=False)],
    "final": [LoggedPrediction(2, 9, None, final=True)],
    "inline": [LoggedPrediction(3, 10, "positive", final=False)],
    "twice": [LoggedPrediction(4, 10, None, False), LoggedPrediction(5, 11, None, False)],
}


def test_each_label_joins_once_and_the_first_label_stands() -> None:
    arrived = [
        label("open", 1),
        label("open", "positive"),  # the same label again, in the same batch
        label("open", 0),  # another label for a row that has one now
        label("final", 0),
        label("inline", 1),  # the row came labelled
        label("inline", 0),
        label("nobody", 1),
        label("twice", 1),
        label("open", "maybe"),
    ]
    decisions = decide(arrived, PREDICTIONS, class_name, ", ".join(CLASSES))
    assert [d.outcome for d in decisions] == [
        JOINED,
        DUPLICATE,
        CONFLICTING,
        AFTER_FINAL,
        DUPLICATE,
        CONFLICTING,
        UNKNOWN_ID,
        AMBIGUOUS,
        INVALID,
    ]
    assert decisions[0].name == "positive" and decisions[0].prediction == PREDICTIONS["open"][0]
    assert decisions[3].joins and not decisions[1].joins
    assert decisions[2].reason == "row 'open' already has label 'positive'; the first stands"
    assert decisions[6].reason == "no scored row has id 'nobody' (yet)"
    assert decisions[8].reason == (
        "label 'maybe' is not a class the model knows (negative, positive)"
    )
