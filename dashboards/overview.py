"""The fleet overview dashboard: every monitor's status at a glance, then trends and operations."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.models import dashboard

from dashboards import rules
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
from dashboards.overview_table import STATUS_MAPPINGS, column, monitors_table
from dashboards.panels import (
    DEPLOYMENT,
    DRIFT_FLAG_MAPPINGS,
    GREEN,
    ORANGE,
    OVERVIEW_UID,
    RED,
    TAGS,
    TARGET,
    UP_MAPPINGS,
    finalize,
    hourly_counts,
    query,
    state_timeline,
    thresholds,
    timeseries,
)

SELECTED = f'{DEPLOYMENT}, monitor=~"$monitor"'
DAEMON_UP = f"up{{{TARGET}}}"


def health_row() -> dashboard_builder.Row:
    """The daemon's own health: scraped, its store usable, its scheduler keeping time."""
    return (
        dashboard_builder.Row("Daemon health")
        .with_panel(
            state_timeline(
                "Daemon and store up",
                "Whether Prometheus can scrape each daemon (`up`), and whether that daemon can "
                "read and write its store (`driftwarden_store_up`). A store that is down blinds "
                "every monitor of the daemon.",
                [
                    query(f"max by (instance) ({DAEMON_UP})", "daemon {{instance}}", ref="A"),
                    query(
                        "min by (instance) "
                        f'(driftwarden_store_up{{{SELECTED}, instance=~"$instance"}})',
                        "store {{instance}}",
                        ref="B",
                    ),
                ],
                mappings=UP_MAPPINGS,
                steps=thresholds((None, RED), (1, GREEN)),
                width=12,
                height=5,
            )
        )
        .with_panel(
            hourly_counts(
                "Missed wake-ups and unrecorded failures",
                "Scheduler wake-ups missed or skipped (a cycle still running) and failed "
                "cycles the store could not record, per hour. Any bar here is an alert.",
                [
                    query(
                        "sum by (monitor, event) (increase(driftwarden_scheduler_events_total"
                        f'{{{SELECTED}, event=~"missed|max_instances"}}[$__interval]))',
                        "{{monitor}} {{event}}",
                        ref="A",
                    ),
                    query(
                        "sum by (monitor) (increase("
                        f"driftwarden_unrecorded_failures_total{{{SELECTED}}}[$__interval]))",
                        "{{monitor}} unrecorded failure",
                        ref="B",
                    ),
                ],
            )
        )
    )


def build(runbook_base: str = rules.RUNBOOK_BASE) -> dashboard.Dashboard:
    drift_row = (
        dashboard_builder.Row("Drift and quality")
        .with_panel(
            state_timeline(
                "Monitor status",
                "Each monitor's status over time, from the same recording rule as the table.",
                [query(column(f"driftwarden:monitor_status{{{SELECTED}}}"), "{{monitor}}")],
                mappings=STATUS_MAPPINGS,
                steps=thresholds((None, GREEN)),
                width=12,
                height=5,
            )
        )
        .with_panel(
            state_timeline(
                "Dataset drift per window",
                "Per monitor, whether each window drifted as a whole. A drift alert needs the "
                "monitor's drift rule to fire (its `for` windows in a row), not one window.",
                [query(column(f"driftwarden_dataset_drift{{{SELECTED}}}"), "{{monitor}}")],
                mappings=DRIFT_FLAG_MAPPINGS,
                steps=thresholds((None, GREEN), (1, ORANGE)),
                width=12,
                height=5,
            )
        )
        .with_panel(
            timeseries(
                "Drifted features share",
                "Share of the monitored columns whose drift test fired, one point per window; "
                "the dashed line is each monitor's drift.drifted_share.",
                [
                    query(
                        column(f"driftwarden_drifted_features_share{{{SELECTED}}}"),
                        "{{monitor}}",
                        ref="A",
                    ),
                    query(
                        column(f"driftwarden_drifted_share_threshold{{{SELECTED}}}"),
                        "{{monitor}} bound",
                        ref="B",
                    ),
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
                "A gap between the two means the estimate cannot be trusted for this data. "
                "The dashed lines are the floors of the monitor's own rules on accuracy and on "
                "estimated_accuracy.",
                [
                    query(
                        column(f'driftwarden_model_quality{{{SELECTED}, metric="accuracy"}}'),
                        "{{monitor}} measured",
                        ref="A",
                    ),
                    query(
                        column(
                            f'driftwarden_estimated_model_quality{{{SELECTED}, metric="accuracy"}}'
                        ),
                        "{{monitor}} estimated",
                        ref="B",
                    ),
                    query(
                        column(f'driftwarden:quality_floor{{{SELECTED}, metric="accuracy"}}'),
                        "{{monitor}} floor",
                        ref="C",
                    ),
                    query(
                        column(
                            f'driftwarden:estimated_quality_floor{{{SELECTED}, metric="accuracy"}}'
                        ),
                        "{{monitor}} estimated floor",
                        ref="D",
                    ),
                ],
                unit="percentunit",
                legend=("lastNotNull", "min"),
            ).max(1)
        )
    )
    operations_row = (
        dashboard_builder.Row("Operations")
        .with_panel(
            hourly_counts(
                "Rows scored per hour",
                "Rows the model scored on the monitored stream, per hour.",
                [
                    query(
                        "sum by (monitor) "
                        f"(increase(driftwarden_rows_scored_total{{{SELECTED}}}[$__interval]))",
                        "{{monitor}}",
                    )
                ],
                width=6,
            )
        )
        .with_panel(
            timeseries(
                "Last cycle duration",
                "How long each monitor's latest cycle took (read to store), beside its schedule "
                "period (dashed): a cycle that nears its period makes wake-ups coalesce.",
                [
                    query(
                        column(f"driftwarden_last_run_duration_seconds{{{SELECTED}}}"),
                        "{{monitor}}",
                        ref="A",
                    ),
                    query(
                        column(f"driftwarden_schedule_interval_seconds{{{SELECTED}}}"),
                        "{{monitor}} schedule period",
                        ref="B",
                    ),
                ],
                unit="s",
                width=6,
            )
        )
        .with_panel(
            hourly_counts(
                "Cycles by outcome",
                "Cycles recorded per hour, ok or error; errors are in `driftwarden runs`.",
                [
                    query(
                        "sum by (monitor, outcome) "
                        f"(increase(driftwarden_runs_total{{{SELECTED}}}[$__interval]))",
                        "{{monitor}} {{outcome}}",
                    )
                ],
                width=6,
            )
        )
        .with_panel(
            hourly_counts(
                "Hook deliveries by outcome",
                "Hook delivery attempts per hour, per monitor and hook: delivered, retry (will "
                "be tried again) or failed (gave up after its retries).",
                [
                    query(
                        "sum by (monitor, hook, outcome) (increase("
                        f"driftwarden_hook_deliveries_total{{{SELECTED}}}[$__interval]))",
                        "{{monitor}} {{hook}} {{outcome}}",
                    )
                ],
                width=6,
            )
        )
    )
    board = (
        dashboard_builder.Dashboard("Driftwarden overview")
        .uid(OVERVIEW_UID)
        .description("Model-drift monitors: status, drift, quality and daemon health.")
        .tags(TAGS)
        .editable()
        .tooltip(dashboard.DashboardCursorSync.CROSSHAIR)
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("browser")
        .link(dashboard_links())
        .link(runbook_link(runbook_base))
        .variables([datasource_variable(), *deployment_variables(), monitor_variable(multi=True)])
        .annotations(
            [
                grafana_builtin_annotation(),
                PrometheusAnnotation(
                    "Driftwarden rule firings",
                    f"driftwarden_alert_firing{{{SELECTED}}} == 1",
                    title="{{rule}} firing on {{monitor}}",
                    tags="monitor,rule",
                    color=ORANGE,
                ),
                PrometheusAnnotation(
                    "Prometheus alerts",
                    'ALERTS{alertstate="firing", alertname=~"Driftwarden.*", monitor=~"$monitor|"}',
                    title="{{alertname}} {{monitor}}",
                    tags="alertname,monitor,severity",
                    color=RED,
                ),
                rejected_retrains(SELECTED),
            ]
        )
        .with_panel(monitors_table())
        .with_row(health_row())
        .with_row(drift_row)
        .with_row(operations_row)
    )
    return finalize(board.build())
