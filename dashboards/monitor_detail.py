"""The per-monitor dashboard: which features drifted, model drift and quality, data and cycles.

(Not named `monitor.py`: run as a script, build.py's folder is on sys.path and that name
would shadow the daemon's `monitor` package.)
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.models import dashboard

from dashboards import monitor_model, rules
from dashboards.monitor_changes import what_changed_table
from dashboards.monitor_latest import feature_heatmap, feature_scores, feature_table, status_row
from dashboards.navigation import (
    PrometheusAnnotation,
    dashboard_links,
    datasource_variable,
    deployment_variables,
    grafana_builtin_annotation,
    monitor_variable,
    rejected_retrains,
    runbook_link,
)
from dashboards.panels import (
    BLUE,
    DEPLOYMENT,
    MONITOR_UID,
    ORANGE,
    RED,
    TAGS,
    finalize,
    hourly_counts,
    query,
    timeseries,
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
        .with_panel(what_changed_table())
    )
    model_row = monitor_model.model_row()
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
