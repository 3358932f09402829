"""The per-monitor dashboard: which features drifted, model drift and quality, data and cycles.

(Not named `monitor.py`: run as a script, build.py's folder is on sys.path and that name
would shadow the daemon's `monitor` package.)
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.models import common, dashboard

from dashboards import rules
from dashboards.monitor_latest import feature_heatmap, feature_scores, feature_table, status_row
from dashboards.panels import (
    BLUE,
    DEPLOYMENT,
    FIRING_MAPPINGS,
    GREEN,
    MONITOR_UID,
    ORANGE,
    RED,
    TAGS,
    PrometheusAnnotation,
    dashboard_links,
    datasource_variable,
    deployment_variables,
    finalize,
    grafana_builtin_annotation,
    hourly_counts,
    monitor_variable,
    query,
    rejected_retrains,
    runbook_link,
    state_timeline,
    thresholds,
    timeseries,
    value_text,
)

SELECTED = f'{DEPLOYMENT}, monitor="$monitor"'

# A new (model, version) series that did not exist 10 minutes earlier: a deploy, a retrain
# promoted by `driftwarden model promote`, or a rollback.
MODEL_VERSION_CHANGE_EXPR = (
    f"driftwarden_model_info{{{SELECTED}}}\n"
    "unless on (namespace, job, monitor, model, version)\n"
    f"driftwarden_model_info{{{SELECTED}}} offset 10m"
)


def build(runbook_base: str = rules.RUNBOOK_BASE) -> dashboard.Dashboard:
    feature_row = (
        dashboard_builder.Row("Feature drift")
        .with_panel(feature_heatmap())
        .with_panel(feature_table())
        .with_panel(feature_scores())
    )
    model_row = (
        dashboard_builder.Row("Model")
        .with_panel(
            timeseries(
                "Drift family p-value",
                "The Holm-adjusted p-value of the window's drift family (embeddings, text "
                "descriptors or tabular features, predicted class), one point per window, "
                "with the monitor's drift.alpha dashed: dataset_drift is 1 at or below it.",
                [
                    query(
                        f"max(driftwarden_dataset_drift_p_value{{{SELECTED}}})",
                        "p-value",
                        ref="A",
                    ),
                    query(
                        f"max(driftwarden_drift_alpha{{{SELECTED}}})",
                        "threshold",
                        ref="B",
                    ),
                ],
                unit="none",
                width=6,
            )
            # a p-value spans decades: on a linear axis everything under alpha looks alike
            .scale_distribution(
                common_builder.ScaleDistributionConfig().type(common.ScaleDistribution.LOG).log(10)
            )
        )
        .with_panel(
            timeseries(
                "Embedding drift",
                "Drift of the model's embeddings of the inputs against the reference window, "
                "one point per window: MMD² by default (about 0 when they look alike; its "
                "flag is the drift family's embedding test, see Drift family p-value), or the "
                "score of the configured Evidently method (`drift.embedding.method`), whose "
                "threshold is `driftwarden_embedding_drift_threshold`.",
                [
                    query(
                        f"max(driftwarden_embedding_drift_score{{{SELECTED}}})",
                        "embedding drift",
                        ref="A",
                    ),
                ],
                unit="none",
                width=6,
            )
        )
        .with_panel(
            timeseries(
                "Prediction drift",
                "Drift of the predicted classes against the reference window's, one point per "
                "window, with its test's threshold dashed.",
                [
                    query(
                        f"max(driftwarden_prediction_drift_score{{{SELECTED}}})",
                        "prediction drift",
                        ref="A",
                    ),
                    query(
                        f"max(driftwarden_prediction_drift_threshold{{{SELECTED}}})",
                        "threshold",
                        ref="B",
                    ),
                ],
                unit="none",
                width=6,
            )
        )
        .with_panel(
            timeseries(
                "Quality metrics",
                "Measured (round points: on labelled windows; with late labels, on the latest "
                "window whose quality is final, so it trails the estimate by the labels' delay) "
                "and estimated from the scores alone (squares), one point per window; dashed: "
                "the floors of the monitor's own rules.",
                [
                    query(
                        f"max by (metric) (driftwarden_model_quality{{{SELECTED}}})",
                        "{{metric}}",
                        ref="A",
                    ),
                    query(
                        f"max by (metric) (driftwarden_estimated_model_quality{{{SELECTED}}})",
                        "{{metric}} (estimated)",
                        ref="B",
                    ),
                    query(
                        f"max by (metric) (driftwarden:quality_floor{{{SELECTED}}})",
                        "{{metric}} floor",
                        ref="C",
                    ),
                    query(
                        f"max by (metric) (driftwarden:estimated_quality_floor{{{SELECTED}}})",
                        "{{metric}} estimated floor",
                        ref="D",
                    ),
                ],
                unit="percentunit",
                width=6,
                legend=("lastNotNull", "min"),
            )
            .max(1)
            .override_by_regexp(
                r".*\(estimated\)",
                [dashboard.DynamicConfigValue(id_val="custom.pointSymbol", value="square")],
            )
        )
        .with_panel(
            timeseries(
                "Label coverage",
                "Share of the rows of the window the measured quality describes that carry "
                "a label (late labels raise it until the window's quality is final).",
                [query(f"max(driftwarden_label_coverage{{{SELECTED}}})", "label coverage")],
                unit="percentunit",
                width=6,
            ).max(1)
        )
        .with_panel(
            timeseries(
                "Measured quality age",
                "How long ago the window the measured quality describes ended: with late "
                "labels, about the labels' delay (or the labels horizon).",
                [
                    query(
                        f"max(time() - driftwarden_quality_window_end_timestamp_seconds"
                        f"{{{SELECTED}}})",
                        "age",
                    )
                ],
                unit="s",
                width=6,
                style="line",
            )
        )
        .with_panel(
            state_timeline(
                "Model versions over time",
                "Which model version scored each window; a new row starts at each deploy, "
                "promotion or rollback.",
                [query(f"max by (version) (driftwarden_model_info{{{SELECTED}}})", "{{version}}")],
                mappings=[value_text({"1": ("active", BLUE)})],
                steps=thresholds((None, BLUE)),
            )
        )
        .with_panel(
            state_timeline(
                "Daemon alert rules",
                "The monitor's own alert rules (from its config) and when they fired; each "
                "firing episode delivers the rule's hooks once.",
                [query(f"max by (rule) (driftwarden_alert_firing{{{SELECTED}}})", "{{rule}}")],
                mappings=FIRING_MAPPINGS,
                steps=thresholds((None, GREEN), (1, RED)),
                width=24,
            )
        )
    )
    data_row = (
        dashboard_builder.Row("Data and cycles")
        .with_panel(
            timeseries(
                "Rows per window",
                "Rows scored in the latest window, and rows quarantined from it (unusable "
                "input: empty text, bad label or timestamp).",
                [
                    query(f"max(driftwarden_window_rows{{{SELECTED}}})", "scored", ref="A"),
                    query(
                        f"max(driftwarden_window_quarantined_rows{{{SELECTED}}})",
                        "quarantined",
                        ref="B",
                    ),
                ],
                unit="short",
                width=8,
            )
        )
        .with_panel(
            hourly_counts(
                "Quarantined rows",
                "Rows set aside per hour. `driftwarden runs` and the store keep the reason of "
                "each.",
                [
                    query(
                        "sum(increase("
                        f"driftwarden_quarantined_rows_total{{{SELECTED}}}[$__interval]))",
                        "quarantined",
                    )
                ],
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Last cycle duration",
                "How long the latest cycle took, read to store, beside the schedule period "
                "(dashed): a cycle that nears its period makes wake-ups coalesce.",
                [
                    query(
                        f"max(driftwarden_last_run_duration_seconds{{{SELECTED}}})",
                        "last cycle",
                        ref="A",
                    ),
                    query(
                        f"max(driftwarden_schedule_interval_seconds{{{SELECTED}}})",
                        "schedule period",
                        ref="B",
                    ),
                ],
                unit="s",
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Cycle duration p95 by stage, last 24 hours",
                "Where a cycle spends its time (read, score, metrics, store, and the total): "
                "the 95th percentile of the cycles of the 24 hours before each point, so an "
                "hourly schedule still has cycles to rank. Buckets reach a day.",
                [
                    query(
                        "histogram_quantile(0.95, sum by (stage, le) (increase("
                        f"driftwarden_run_duration_seconds_bucket{{{SELECTED}}}[1d])))",
                        "{{stage}}",
                    )
                ],
                unit="s",
                width=8,
                style="line",
            ).interval("5m")
        )
        .with_panel(
            hourly_counts(
                "Cycles by outcome",
                "Cycles recorded per hour, ok or error.",
                [
                    query(
                        "sum by (outcome) "
                        f"(increase(driftwarden_runs_total{{{SELECTED}}}[$__interval]))",
                        "{{outcome}}",
                    )
                ],
                width=8,
            )
        )
        .with_panel(
            hourly_counts(
                "Hook deliveries",
                "Delivery attempts per hour by hook and outcome (delivered, retry, failed).",
                [
                    query(
                        "sum by (hook, outcome) (increase("
                        f"driftwarden_hook_deliveries_total{{{SELECTED}}}[$__interval]))",
                        "{{hook}} {{outcome}}",
                    )
                ],
                width=8,
            )
        )
    )
    board = (
        dashboard_builder.Dashboard("Driftwarden monitor")
        .uid(MONITOR_UID)
        .description("One monitor in depth: feature drift, model drift and quality, data, cycles.")
        .tags(TAGS)
        .editable()
        .tooltip(dashboard.DashboardCursorSync.CROSSHAIR)
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("browser")
        .link(dashboard_links())
        .link(runbook_link(runbook_base))
        .variables([datasource_variable(), *deployment_variables(), monitor_variable(multi=False)])
        .annotations(
            [
                grafana_builtin_annotation(),
                PrometheusAnnotation(
                    "Driftwarden rule firings",
                    f"driftwarden_alert_firing{{{SELECTED}}} == 1",
                    title="{{rule}} firing",
                    tags="monitor,rule",
                    color=ORANGE,
                ),
                PrometheusAnnotation(
                    "Prometheus alerts",
                    f'ALERTS{{alertstate="firing", alertname=~"Driftwarden.*", {SELECTED}}}',
                    title="{{alertname}}",
                    tags="alertname,severity",
                    color=RED,
                ),
                rejected_retrains(SELECTED),
                PrometheusAnnotation(
                    "Model version changes",
                    MODEL_VERSION_CHANGE_EXPR,
                    title="{{model}} {{version}} deployed",
                    tags="model,version",
                    color=BLUE,
                ),
            ]
        )
        .with_row(status_row())
        .with_row(feature_row)
        .with_row(model_row)
        .with_row(data_row)
    )
    return finalize(board.build())
