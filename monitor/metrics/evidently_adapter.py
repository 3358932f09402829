"""The one module that imports Evidently: everything driftwarden uses of it, public or not.

Public API (`evidently`, `evidently.metrics`, `evidently.core.report.Snapshot`) builds a
run's report. Three things exist only in Evidently's internals, and are used here and
nowhere else:

- the stat-test registry (`evidently.legacy.calculations.stattests`): the per-column drift
  tests whose scores driftwarden reports, called directly (the public `ValueDrift` metric
  runs each test three times and draws plots);
- the embedding drift methods (`evidently.legacy.metrics.data_drift.embedding_drift_methods`);
- a snapshot's widget lists (`Snapshot._widgets`, `_tests_widgets`) and the widget group
  and renderer behind `Snapshot.get_html_str`, so a report can leave repeated widgets out.

Evidently is pinned exactly (`EVIDENTLY_VERSION`, pyproject.toml) because of them;
`tests/metrics/test_evidently_adapter.py` fails loudly when another version is installed,
naming this module as the place to re-check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evidently import (
    BinaryClassification,
    DataDefinition,
    Dataset,
    MulticlassClassification,
    Report,
)
from evidently.core.report import Snapshot
from evidently.legacy.calculations.stattests import get_stattest
from evidently.legacy.calculations.stattests.registry import StatTest
from evidently.legacy.core import ColumnType
from evidently.legacy.metrics.data_drift.embedding_drift_methods import (
    calc_roc_auc_random,
    distance,
    model,
    ratio,
)
from evidently.metrics import Accuracy, F1Score, Precision, Recall, ValueDrift

#: the version whose internals this module is written against (pyproject pins it too)
EVIDENTLY_VERSION = "0.7.23"

__all__ = [
    "EVIDENTLY_VERSION",
    "Accuracy",
    "BinaryClassification",
    "ColumnType",
    "DataDefinition",
    "Dataset",
    "F1Score",
    "MulticlassClassification",
    "Precision",
    "Recall",
    "Report",
    "Snapshot",
    "StatTest",
    "ValueDrift",
    "calc_roc_auc_random",
    "distance",
    "get_stattest",
    "model",
    "ratio",
    "render_snapshot",
]


def render_snapshot(snapshot: Snapshot, keep: Callable[[list[Any]], list[Any]]) -> str:
    """The HTML body `Snapshot.get_html_str` renders, with each widget list passed through
    `keep` first (the report drops repeated widgets); not an iframe.

    Private API: `get_html_str` renders exactly the metric widgets (`_widgets`, grouped) and
    the test widgets (`_tests_widgets`) of Evidently 0.7.23.
    """
    from evidently.core.metric_types import render_widgets
    from evidently.legacy.renderers.html_widgets import group_widget

    widgets = keep(list(snapshot._widgets))
    page: str = render_widgets(
        [group_widget(title="", widgets=widgets), *keep(list(snapshot._tests_widgets))],
        as_iframe=False,
    )
    return page
