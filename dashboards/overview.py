"""The fleet overview dashboard: every monitor's status at a glance, then trends and operations."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import table as table_builder
from grafana_foundation_sdk.models import dashboard

from dashboards import rules
from dashboards.panels import (
    DATASOURCE,
    DEPLOYMENT,
    DRIFT_FLAG_MAPPINGS,
    GREEN,
    MONITOR_UID,
    NOT_SEEN_TEXT,
    ORANGE,
    OVERVIEW_UID,
    PURPLE,
    RED,
    TAGS,
    TARGET,
    UP_MAPPINGS,
    PrometheusAnnotation,
    dashboard_links,
    datasource_variable,
    deployment_variables,
    finalize,
    grafana_builtin_annotation,
    hourly_counts,
    instant_table_query,
    merged_table,
    monitor_variable,
    query,
    rejected_retrains,
    runbook_link,
    state_timeline,
    thresholds,
    timeseries,
    value_text,
)

SELECTED = f'{DEPLOYMENT}, monitor=~"$monitor"'
DAEMON_UP = f"up{{{TARGET}}}"

# The values of driftwarden:monitor_status (dashboards/records.py), worst last. Everything
# that pages is red, the daemon not seen included: never a stale OK.
STATUS_MAPPINGS: list[dashboard.ValueMapping] = [
    value_text(
        {
            str(rules.STATUS_OK): ("OK", GREEN),
            str(rules.STATUS_DRIFTING): ("Drifting", ORANGE),
            str(rules.STATUS_QUALITY_LOW): ("Quality below floor", RED),
            str(rules.STATUS_FAILING): ("Failing", RED),
            str(rules.STATUS_STALE): ("Stale", RED),
            str(rules.STATUS_STORE_DOWN): ("Store down", PURPLE),
            str(rules.STATUS_NOT_SEEN): (NOT_SEEN_TEXT, RED),
        }
    )
]


def _column(expr: str) -> str:
    return f"max by (monitor) ({expr})"


def monitors_table() -> table_builder.Panel:
    """One row per configured monitor; the monitor name links to its drill-down dashboard."""
    columns = {
        "A": ("Status", _column(f"driftwarden:monitor_status{{{SELECTED}}}")),
        "B": ("Window drift", _column(f"driftwarden_dataset_drift{{{SELECTED}}}")),
        "C": ("Drifted share", _column(f"driftwarden_drifted_features_share{{{SELECTED}}}")),
        "D": ("Drifted-share bound", _column(f"driftwarden_drifted_share_threshold{{{SELECTED}}}")),
        "E": ("Accuracy", _column(f'driftwarden_model_quality{{{SELECTED}, metric="accuracy"}}')),
        "F": (
            "Accuracy over floor",
            _column(f'driftwarden:quality_margin{{{SELECTED}, metric="accuracy"}}'),
        ),
        "G": (
            "Estimated accuracy",
            _column(f'driftwarden_estimated_model_quality{{{SELECTED}, metric="accuracy"}}'),
        ),
        "H": (
            "Last success age",
            _column(f"driftwarden:monitor_success_age_seconds{{{SELECTED}}}"),
        ),
    }
    coloured = [
        dashboard.DynamicConfigValue(
            id_val="custom.cellOptions", value={"type": "color-background"}
        )
    ]
    panel = merged_table(
        table_builder.Panel().title("Monitors"),
        {"monitor": 0} | {title: index + 1 for index, (title, _) in enumerate(columns.values())},
        {f"Value #{ref}": title for ref, (title, _) in columns.items()},
    )
    return (
        panel.description(
            "Every configured monitor, never-succeeded ones included. Status (the recording "
            "rule driftwarden:monitor_status, which the alerts read too): OK, Drifting (one "
            "of its drift rules fires), Quality below floor (one of its quality rules "
            "fires), Failing (its latest cycle failed), Stale (no successful cycle for 3 "
            "schedule periods), Store down, or Daemon not seen (no daemon serves it now: "
            "the other columns are then empty, never its last values). Window drift is the "
            "latest window's flag; accuracy over floor is measured accuracy minus the floor of "
            "the monitor's own rule (red below 0, where the quality alert fires). Click a "
            "monitor to open its dashboard."
        )
        .datasource(DATASOURCE)
        .targets([instant_table_query(expr, ref) for ref, (_, expr) in columns.items()])
        .span(24)
        .height(8)
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
            [dashboard.DynamicConfigValue(id_val="mappings", value=STATUS_MAPPINGS), *coloured],
        )
        .override_by_name(
            "Window drift",
            [dashboard.DynamicConfigValue(id_val="mappings", value=DRIFT_FLAG_MAPPINGS), *coloured],
        )
        .override_by_regexp(
            "Drifted share|Drifted-share bound|Accuracy|Estimated accuracy|Accuracy over floor",
            [
                dashboard.DynamicConfigValue(id_val="unit", value="percentunit"),
                dashboard.DynamicConfigValue(id_val="decimals", value=1),
            ],
        )
        .override_by_name(
            "Accuracy over floor",
            [
                dashboard.DynamicConfigValue(
                    id_val="thresholds",
                    value=thresholds((None, RED), (0, GREEN)).build(),
                ),
                *coloured,
            ],
        )
        .override_by_name(
            "Last success age",
            [dashboard.DynamicConfigValue(id_val="unit", value="s")],
        )
    )


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
                [query(_column(f"driftwarden:monitor_status{{{SELECTED}}}"), "{{monitor}}")],
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
                [query(_column(f"driftwarden_dataset_drift{{{SELECTED}}}"), "{{monitor}}")],
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
                        _column(f"driftwarden_drifted_features_share{{{SELECTED}}}"),
                        "{{monitor}}",
                        ref="A",
                    ),
                    query(
                        _column(f"driftwarden_drifted_share_threshold{{{SELECTED}}}"),
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
                        _column(f'driftwarden_model_quality{{{SELECTED}, metric="accuracy"}}'),
                        "{{monitor}} measured",
                        ref="A",
                    ),
                    query(
                        _column(
                            f'driftwarden_estimated_model_quality{{{SELECTED}, metric="accuracy"}}'
                        ),
                        "{{monitor}} estimated",
                        ref="B",
                    ),
                    query(
                        _column(f'driftwarden:quality_floor{{{SELECTED}, metric="accuracy"}}'),
                        "{{monitor}} floor",
                        ref="C",
                    ),
                    query(
                        _column(
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
                        _column(f"driftwarden_last_run_duration_seconds{{{SELECTED}}}"),
                        "{{monitor}}",
                        ref="A",
                    ),
                    query(
                        _column(f"driftwarden_schedule_interval_seconds{{{SELECTED}}}"),
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
