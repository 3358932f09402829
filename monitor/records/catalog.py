"""The one catalog of run-level metrics: what each is, its unit, and where it is exported.

The `Result` produces exactly these names, the store keeps them, `runs --json` shows them,
alert rules may watch them, the exporter maps them to series, and `tests/test_docs.py`
checks that README.md documents each. A new run metric is added here first. Its `help` is
the one text for it: the exporter's series registry reads it for the gauge that shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

DRIFT = "drift"
QUALITY = "quality"
ESTIMATE = "estimate"
DATA = "data"

#: an alert rule on one feature's drift score: `feature_drift_score:<feature>`
FEATURE_METRIC_PREFIX = "feature_drift_score:"


@dataclass(frozen=True)
class Series:
    """The Prometheus gauge (name without the `driftwarden_` prefix) showing the latest value."""

    name: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RunMetric:
    """One run-level number: name, kind, meaning and unit; `summary` orders a cycle's log line."""

    name: str
    kind: str
    help: str
    unit: str
    series: Series | None = None
    summary: int | None = None


RUN_METRICS: tuple[RunMetric, ...] = (
    RunMetric(
        "drifted_share",
        DRIFT,
        "share of input features (text descriptors or tabular features) whose test found drift",
        "ratio",
        Series("drifted_features_share"),
        summary=0,
    ),
    RunMetric(
        "dataset_drift",
        DRIFT,
        "1 when the drift family (embeddings, descriptors or features, predicted class) finds "
        "drift at level drift.alpha (text: min-p over shared permutations and the "
        "nearest-neighbour novelty test, weighted Holm; tabular: Holm): "
        "a window without drift is flagged with "
        "probability at most drift.alpha",
        "flag",
        Series("dataset_drift"),
        summary=1,
    ),
    RunMetric(
        "dataset_drift_p_value",
        DRIFT,
        "the drift family's p-value (text: the weighted Holm-adjusted p-value of the min-p "
        "combination and the novelty test; tabular: Holm-adjusted smallest p-value): "
        "dataset_drift is 1 "
        "exactly when it is at or below drift.alpha",
        "p-value",
        Series("dataset_drift_p_value"),
    ),
    RunMetric(
        "sequential_drift",
        DRIFT,
        "1 when the sequential test (the last drift.sequential.windows windows' rows pooled, "
        "tested at drift.sequential.false_alarms_per_1000 per 1,000 windows) finds drift; "
        "absent where it is off or where dataset_drift flagged the window alone (the pool is "
        "then not tested)",
        "flag",
        Series("sequential_drift"),
    ),
    RunMetric(
        "sequential_drift_p_value",
        DRIFT,
        "the sequential test's p-value: sequential_drift is 1 exactly when it is at or below "
        "drift.sequential.false_alarms_per_1000 / 1000",
        "p-value",
        Series("sequential_drift_p_value"),
    ),
    RunMetric(
        "prediction_drift_score",
        DRIFT,
        "drift score of the predicted class against the reference's predictions",
        "score",
        Series("prediction_drift_score"),
        summary=3,
    ),
    RunMetric(
        "confidence_drift_score",
        DRIFT,
        "drift score of the top-class probability against the reference's",
        "score",
    ),
    RunMetric(
        "embedding_drift_score",
        DRIFT,
        "embedding drift of the window against the reference (mmd: unbiased MMD², RBF "
        "kernel; model: domain classifier ROC AUC)",
        "score",
        Series("embedding_drift_score"),
        summary=2,
    ),
    RunMetric(
        "accuracy",
        QUALITY,
        "share of labelled rows predicted right",
        "ratio",
        Series("model_quality", (("metric", "accuracy"),)),
        summary=4,
    ),
    RunMetric(
        "precision",
        QUALITY,
        "precision on the labelled rows (binary: class id 1; multiclass: macro)",
        "ratio",
        Series("model_quality", (("metric", "precision"),)),
    ),
    RunMetric(
        "recall",
        QUALITY,
        "recall on the labelled rows (binary: class id 1; multiclass: macro)",
        "ratio",
        Series("model_quality", (("metric", "recall"),)),
    ),
    RunMetric(
        "f1",
        QUALITY,
        "F1 on the labelled rows (binary: class id 1; multiclass: macro)",
        "ratio",
        Series("model_quality", (("metric", "f1"),)),
        summary=5,
    ),
    RunMetric(
        "roc_auc",
        QUALITY,
        "ROC AUC on the labelled rows (left out when they hold a single class)",
        "ratio",
        Series("model_quality", (("metric", "roc_auc"),)),
    ),
    RunMetric("labelled_rows", DATA, "scored rows that carry a label", "rows"),
    RunMetric(
        "label_coverage",
        DATA,
        "share of the scored rows that carry a label (grows as late labels arrive)",
        "ratio",
        Series("label_coverage"),
    ),
    RunMetric(
        "mean_confidence",
        ESTIMATE,
        "mean top-class probability of the scored rows",
        "ratio",
        summary=6,
    ),
    RunMetric(
        "estimated_accuracy",
        ESTIMATE,
        "label-free accuracy estimate from the scores alone, calibrated on the labelled "
        "reference (`estimation.method`)",
        "ratio",
        Series("estimated_model_quality", (("metric", "accuracy"),)),
    ),
    RunMetric(
        "estimated_f1",
        ESTIMATE,
        "label-free F1 estimate (binary models: class id 1 positive), as estimated_accuracy",
        "ratio",
        Series("estimated_model_quality", (("metric", "f1"),)),
    ),
    RunMetric("quarantined_share", DATA, "share of the window's rows quarantined", "ratio"),
    RunMetric(
        "empty_share", DATA, "share of the window's rows quarantined for empty text", "ratio"
    ),
)

BY_NAME: dict[str, RunMetric] = {metric.name: metric for metric in RUN_METRICS}
NAMES: tuple[str, ...] = tuple(BY_NAME)
QUALITY_METRICS: tuple[str, ...] = tuple(m.name for m in RUN_METRICS if m.kind == QUALITY)
#: the few numbers a cycle's summary line shows, in order
SUMMARY_METRICS: tuple[str, ...] = tuple(
    m.name
    for m in sorted(RUN_METRICS, key=lambda m: (m.summary is None, m.summary or 0))
    if m.summary is not None
)


def rule_metric_problem(metric: str) -> str | None:
    """Why an alert rule cannot watch `metric` (None: it can)."""
    if metric in BY_NAME or metric.startswith(FEATURE_METRIC_PREFIX):
        return None
    known = ", ".join(NAMES)
    return f"unknown metric {metric!r}; use one of {known} or {FEATURE_METRIC_PREFIX}<feature>"
