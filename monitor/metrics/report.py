"""A run's Evidently report, built when `driftwarden report` asks for it.

Nothing of it is built on the cycle's path: the store keeps what it needs (the window's
predictions, probabilities, labels and text or feature values; the reference's, once per
reference and model version), and the same Evidently metrics run on that with the methods
and thresholds the run's own drift tests used. Runs recorded before kept a snapshot of
their report instead, which `stored_snapshot` reads.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitor.metrics.drift import NUMERICAL
from monitor.metrics.engine import CONFIDENCE, PREDICTED_CLASS
from monitor.metrics.evidently_adapter import (
    Accuracy,
    BinaryClassification,
    DataDefinition,
    Dataset,
    F1Score,
    MulticlassClassification,
    Precision,
    Recall,
    Report,
    Snapshot,
    ValueDrift,
    render_snapshot,
)
from monitor.metrics.report_page import report_page

TARGET = "target"


@dataclass(frozen=True)
class PinnedTest:
    """One drift test of the run: the column, its kind (`num`/`cat`), method and threshold."""

    column: str
    kind: str
    method: str
    threshold: float | None


@dataclass
class ReportSide:
    """The reference or the window as the report shows it, row by row."""

    features: pd.DataFrame
    predicted_names: list[str]
    confidence: np.ndarray | None
    #: class names of the labels (None: unlabelled row); None: no label column at all
    targets: list[str | None] | None

    def frame(self, labelled: bool) -> pd.DataFrame:
        frame = self.features.reset_index(drop=True).copy()
        frame[PREDICTED_CLASS] = self.predicted_names
        if self.confidence is not None:
            frame[CONFIDENCE] = self.confidence
        if labelled and self.targets is not None:
            frame[TARGET] = self.targets
            frame = frame[frame[TARGET].notna()]
        return frame


def build_snapshot(
    tests: list[PinnedTest],
    reference: ReportSide,
    window: ReportSide,
    class_names: tuple[str, ...],
) -> Snapshot:
    """Run Evidently's report on the two sides with the run's pinned methods."""
    labelled = bool(
        reference.targets is not None
        and window.targets is not None
        and any(t is not None for t in window.targets)
    )
    current, ref = window.frame(labelled), reference.frame(labelled)
    numerical = [t.column for t in tests if t.kind == NUMERICAL]
    categorical = [t.column for t in tests if t.kind != NUMERICAL]
    metrics: list = [
        ValueDrift(column=t.column, method=t.method, threshold=t.threshold) for t in tests
    ]
    classification = None
    if labelled:
        categorical.append(TARGET)
        classification = (
            [
                BinaryClassification(
                    target=TARGET, prediction_labels=PREDICTED_CLASS, pos_label=class_names[1]
                )
            ]
            if len(class_names) == 2
            else [MulticlassClassification(target=TARGET, prediction_labels=PREDICTED_CLASS)]
        )
        # one confusion matrix: each of these draws the same one by default
        metrics += [
            Accuracy(),
            Precision(conf_matrix=False),
            Recall(conf_matrix=False),
            F1Score(),
        ]
    definition = DataDefinition(
        numerical_columns=numerical, categorical_columns=categorical, classification=classification
    )
    return Report(metrics).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )


def stored_snapshot(body: bytes) -> Snapshot:
    """The snapshot a run stored before reports were built on demand."""
    return Snapshot.loads(zlib.decompress(body).decode("utf-8"))


def snapshot_values(snapshot: Snapshot) -> dict[str, float]:
    """Metric values of a snapshot by Evidently's display name (used by tests)."""
    values: dict[str, float] = {}
    for item in snapshot.dict()["metrics"]:
        value = item.get("value")
        if isinstance(value, int | float | np.floating):
            values[item["metric_name"] if "metric_name" in item else item["id"]] = float(value)
    return values


def report_html(snapshot: Snapshot, run: dict[str, Any]) -> str:
    """The report of a run: a title and a header with the run's key numbers, then
    Evidently's widgets, each shown once.

    `run` is the run in the `runs --json` shape. Snapshots stored before the classification
    metrics stopped repeating it drew the same confusion matrix three times; a widget equal
    to an earlier one (ids aside) is left out.
    """
    return report_page(render_snapshot(snapshot, _unique), run)


def _unique(widgets: list[Any]) -> list[Any]:
    seen: set[str] = set()
    kept = []
    for widget in widgets:
        key = json.dumps(_without_ids(widget.dict()), sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            kept.append(widget)
    return kept


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value
