"""The fleet overview dashboard: every monitor's status at a glance, then trends and operations."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import table as table_builder
from grafana_foundation_sdk.models import dashboard

from dashboards.panels import (
    DATASOURCE,
    DRIFT_FLAG_MAPPINGS,
    GREEN,
    MONITOR_UID,
    ORANGE,
    OVERVIEW_UID,
    RED,
    TAGS,
    PrometheusAnnotation,
    dashboard_links,
    datasource_variable,
    finalize,
    grafana_builtin_annotation,
    instant_table_query,
    monitor_variable,
    query,
    range_text,
    state_timeline,
    thresholds,
    timeseries,
    value_text,
)

SELECTED = 'monitor=~"$monitor"'

# 0 healthy, 1 dataset drift, 2 or 3 stale (stale wins: a stale monitor's drift flag is old
# news). Same staleness definition as the DriftwardenMonitorStale alert.
STATUS_EXPR = (
    f"max by (monitor) (driftwarden_dataset_drift{{{SELECTED}}})\n"
    "+ on (monitor)\n"
    "max by (monitor) (\n"
    f"  2 * ((time() - driftwarden_last_success_timestamp_seconds{{{SELECTED}}})\n"
    "    > bool on (job, instance, monitor)\n"
    f"  3 * driftwarden_schedule_interval_seconds{{{SELECTED}}})\n"
    ")"
)

STATUS_MAPPINGS: list[dashboard.ValueMapping] = [
    value_text({"0": ("OK", GREEN), "1": ("Drift", ORANGE)}),
    range_text(2, 3, "Stale", RED, index=2),
]


def monitors_table() -> table_builder.Panel:
    """One row per monitor; the monitor name links to its drill-down dashboard."""
    columns = {
        "A": ("Status", STATUS_EXPR),
        "B": (
            "Drifted share",
            f"max by (monitor) (driftwarden_drifted_features_share{{{SELECTED}}})",
        ),
        "C": (
            "Accuracy",
            f'max by (monitor) (driftwarden_model_quality{{{SELECTED}, metric="accuracy"}})',
        ),
        "D": (
            "Estimated accuracy",
            "max by (monitor) "
            f'(driftwarden_estimated_model_quality{{{SELECTED}, metric="accuracy"}})',
        ),
        "E": (
            "Last success age",
            f"max by (monitor) (time() - driftwarden_last_success_timestamp_seconds{{{SELECTED}}})",
        ),
    }
    panel = (
        table_builder.Panel()
        .title("Monitors")
        .description(
            "Latest state of every monitor. Status: OK, Drift (the latest window's dataset "
            "drift flag), or Stale (no successful cycle for 3x its schedule). Accuracy needs "
            "labels in the stream; estimated accuracy is the label-free estimate. Click a "
            "monitor to open its dashboard."
        )
        .datasource(DATASOURCE)
        .targets([instant_table_query(expr, ref) for ref, (_, expr) in columns.items()])
        .span(24)
        .height(8)
        .with_transformation(dashboard.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            dashboard.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True},
                    "indexByName": {"monitor": 0}
                    | {title: index + 1 for index, (title, _) in enumerate(columns.values())},
                    "renameByName": {f"Value #{ref}": title for ref, (title, _) in columns.items()},
                },
            )
        )
        .sort_by([common_builder.TableSortByFieldState().display_name("Status").desc(True)])
        .override_by_name(
            "monitor",
            [
                dashboard.DynamicConfigValue(
                    id_val="links",
                    value=[
                        {
                            "title": "Open the ${__value.raw} dashboard",
                            "url": f"/d/{MONITOR_UID}/driftwarden-monitor?var-monitor="
                            "${__value.raw}&var-datasource=${datasource}&${__url_time_range}",
                        }
                    ],
                )
            ],
        )
        .override_by_name(
            "Status",
            [
                dashboard.DynamicConfigValue(id_val="mappings", value=STATUS_MAPPINGS),
                dashboard.DynamicConfigValue(
                    id_val="custom.cellOptions", value={"type": "color-background"}
                ),
            ],
        )
        .override_by_regexp(
            "Drifted share|Accuracy|Estimated accuracy",
            [
                dashboard.DynamicConfigValue(id_val="unit", value="percentunit"),
                dashboard.DynamicConfigValue(id_val="decimals", value=1),
            ],
        )
        .override_by_name(
            "Last success age",
            [dashboard.DynamicConfigValue(id_val="unit", value="s")],
        )
    )
    return panel


def build() -> dashboard.Dashboard:
    drift_row = (
        dashboard_builder.Row("Drift and quality")
        .with_panel(
            state_timeline(
                "Dataset drift",
                "Per monitor, whether the latest window drifted as a whole (drifted share "
                "reached the monitor's drift.drifted_share, or embedding drift was detected).",
                query(f"max by (monitor) (driftwarden_dataset_drift{{{SELECTED}}})", "{{monitor}}"),
                mappings=DRIFT_FLAG_MAPPINGS,
                steps=thresholds((None, GREEN), (1, RED)),
                width=24,
                height=5,
            )
        )
        .with_panel(
            timeseries(
                "Drifted features share",
                "Share of the monitored columns whose drift test fired in each window.",
                [
                    query(
                        f"max by (monitor) (driftwarden_drifted_features_share{{{SELECTED}}})",
                        "{{monitor}}",
                    )
                ],
                unit="percentunit",
            )
            .min(0)
            .max(1)
        )
        .with_panel(
            timeseries(
                "Accuracy: measured and estimated",
                "Measured accuracy needs labels in the window; the estimate needs none. "
                "A gap between the two means the estimate cannot be trusted for this data.",
                [
                    query(
                        "max by (monitor) "
                        f'(driftwarden_model_quality{{{SELECTED}, metric="accuracy"}})',
                        "{{monitor}} measured",
                        ref="A",
                    ),
                    query(
                        "max by (monitor) "
                        f'(driftwarden_estimated_model_quality{{{SELECTED}, metric="accuracy"}})',
                        "{{monitor}} estimated",
                        ref="B",
                    ),
                ],
                unit="percentunit",
            ).max(1)
        )
    )
    operations_row = (
        dashboard_builder.Row("Operations")
        .with_panel(
            timeseries(
                "Rows scored per second",
                "Throughput of the model on the monitored stream.",
                [
                    query(
                        "sum by (monitor) "
                        f"(rate(driftwarden_rows_scored_total{{{SELECTED}}}[$__rate_interval]))",
                        "{{monitor}}",
                    )
                ],
                unit="rowsps",
                width=6,
            )
        )
        .with_panel(
            timeseries(
                "Cycle duration p95",
                "95th percentile of a whole cycle (read, score, metrics, store). A cycle "
                "that nears the schedule period makes runs coalesce.",
                [
                    query(
                        "histogram_quantile(0.95, sum by (monitor, le) (rate("
                        f'driftwarden_run_duration_seconds_bucket{{{SELECTED}, stage="total"}}'
                        "[$__rate_interval])))",
                        "{{monitor}}",
                    )
                ],
                unit="s",
                width=6,
            )
            # Cycles are minutes apart in production: a 5m floor keeps several per point.
            .interval("5m")
        )
        .with_panel(
            timeseries(
                "Cycles by outcome",
                "Completed cycles per interval, ok or error; errors are in `driftwarden runs`.",
                [
                    query(
                        "sum by (monitor, outcome) "
                        f"(increase(driftwarden_runs_total{{{SELECTED}}}[$__rate_interval]))",
                        "{{monitor}} {{outcome}}",
                    )
                ],
                unit="short",
                width=6,
            )
        )
        .with_panel(
            timeseries(
                "Hook deliveries by outcome",
                "Hook delivery attempts: delivered, retry (will be tried again) or failed "
                "(gave up after its retries).",
                [
                    query(
                        "sum by (hook, outcome) (increase("
                        f"driftwarden_hook_deliveries_total{{{SELECTED}}}[$__rate_interval]))",
                        "{{hook}} {{outcome}}",
                    )
                ],
                unit="short",
                width=6,
            )
        )
    )
    board = (
        dashboard_builder.Dashboard("Driftwarden overview")
        .uid(OVERVIEW_UID)
        .description("Model-drift monitors: status, drift, quality and daemon operations.")
        .tags(TAGS)
        .editable()
        .tooltip(dashboard.DashboardCursorSync.CROSSHAIR)
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("browser")
        .link(dashboard_links())
        .with_variable(datasource_variable())
        .with_variable(monitor_variable(multi=True))
        .annotations(
            [
                grafana_builtin_annotation(),
                PrometheusAnnotation(
                    "Driftwarden rule firings",
                    f"driftwarden_alert_firing{{{SELECTED}}} == 1",
                    title="{{rule}} firing on {{monitor}}",
                    tags="monitor,rule",
                    color=RED,
                ),
                PrometheusAnnotation(
                    "Prometheus alerts",
                    'ALERTS{alertstate="firing", alertname=~"Driftwarden.*", monitor=~"$monitor|"}',
                    title="{{alertname}} {{monitor}}",
                    tags="alertname,monitor,severity",
                    color=ORANGE,
                ),
            ]
        )
        .with_panel(monitors_table())
        .with_row(drift_row)
        .with_row(operations_row)
    )
    return finalize(board.build())
