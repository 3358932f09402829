"""The Evidently snapshot stored with a run, so `driftwarden report` can rebuild its HTML later."""

from __future__ import annotations

import json
import zlib
from typing import Any

import numpy as np
import pandas as pd
from evidently import (
    BinaryClassification,
    DataDefinition,
    Dataset,
    MulticlassClassification,
    Report,
)
from evidently.core.report import Snapshot
from evidently.metrics import Accuracy, F1Score, Precision, Recall, ValueDrift

from monitor.metrics.drift import NUMERICAL
from monitor.metrics.engine import PREDICTED_CLASS, MetricsEngine, Observed
from monitor.metrics.report_page import report_page

TARGET = "target"


def _frame(observed: Observed, target_names: list[str | None] | None) -> pd.DataFrame:
    frame = pd.concat([observed.features, observed.prediction_frame()], axis=1)
    if target_names is not None:
        frame[TARGET] = target_names
    return frame.reset_index(drop=True)


def build_snapshot(
    engine: MetricsEngine,
    reference: Observed,
    window: Observed,
    reference_targets: list[str | None] | None,
    window_targets: list[str | None] | None,
) -> bytes:
    """Run an Evidently report with the engine's pinned methods; return compressed JSON."""
    tests = engine.column_tests()
    labelled = bool(
        reference_targets is not None
        and window_targets is not None
        and any(t is not None for t in window_targets)
    )
    current = _frame(window, window_targets if labelled else None)
    ref = _frame(reference, reference_targets if labelled else None)
    numerical = [t.column for t in tests if t.kind == NUMERICAL]
    categorical = [t.column for t in tests if t.kind != NUMERICAL]
    metrics: list = [
        ValueDrift(column=t.column, method=t.method, threshold=t.threshold) for t in tests
    ]
    classification = None
    if labelled:
        current = current[current[TARGET].notna()]
        ref = ref[ref[TARGET].notna()]
        categorical.append(TARGET)
        names = window.scores.class_names
        classification = (
            [
                BinaryClassification(
                    target=TARGET, prediction_labels=PREDICTED_CLASS, pos_label=names[1]
                )
            ]
            if len(names) == 2
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
    snapshot = Report(metrics).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    return zlib.compress(snapshot.dumps().encode("utf-8"), level=6)


def snapshot_html(body: bytes) -> str:
    snapshot = Snapshot.loads(zlib.decompress(body).decode("utf-8"))
    html: str = snapshot.get_html_str(as_iframe=False)
    return html


def snapshot_values(body: bytes) -> dict[str, float]:
    """Metric values of a stored snapshot by Evidently's display name (used by tests)."""
    snapshot = Snapshot.loads(zlib.decompress(body).decode("utf-8"))
    values: dict[str, float] = {}
    for item in snapshot.dict()["metrics"]:
        value = item.get("value")
        if isinstance(value, int | float | np.floating):
            values[item["metric_name"] if "metric_name" in item else item["id"]] = float(value)
    return values


def report_html(body: bytes, run: dict[str, Any]) -> str:
    """The report of a stored run: a title and a header with the run's key numbers, then
    Evidently's widgets, each shown once.

    `run` is the run in the `runs --json` shape. Snapshots stored before the classification
    metrics stopped repeating it drew the same confusion matrix three times; a widget equal
    to an earlier one (ids aside) is left out.
    """
    from evidently.core.metric_types import render_widgets
    from evidently.legacy.renderers.html_widgets import group_widget

    snapshot = Snapshot.loads(zlib.decompress(body).decode("utf-8"))
    # Snapshot.get_html_str renders exactly these two lists (evidently is pinned)
    widgets = _unique(list(snapshot._widgets))
    page: str = render_widgets(
        [group_widget(title="", widgets=widgets), *_unique(list(snapshot._tests_widgets))],
        as_iframe=False,
    )
    return report_page(page, run)


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
