"""The per-monitor dashboard: which features drifted, model drift and quality, data and cycles.

(Not named `monitor.py`: run as a script, build.py's folder is on sys.path and that name
would shadow the daemon's `monitor` package.)
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import heatmap as heatmap_builder
from grafana_foundation_sdk.builders import table as table_builder
from grafana_foundation_sdk.builders import timeseries as timeseries_builder
from grafana_foundation_sdk.models import common, dashboard, heatmap

from dashboards import rules
from dashboards.overview import STATUS_MAPPINGS
from dashboards.panels import (
    BLUE,
    DATASOURCE,
    DRIFT_FLAG_MAPPINGS,
    FIRING_MAPPINGS,
    GREEN,
    MONITOR_UID,
    ORANGE,
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
    rejected_retrains,
    stat,
    state_timeline,
    thresholds,
    timeseries,
    value_text,
)
from monitor.config.drift import DRIFT_METHODS
from monitor.exporter.collector import PVALUE_METHODS

SELECTED = 'monitor="$monitor"'
# Methods whose score is a p-value; the others are distances (see the exporter's ranking).
PVALUE = "|".join(sorted(PVALUE_METHODS))
DISTANCE = "|".join(sorted(set(DRIFT_METHODS) - PVALUE_METHODS - {"auto"}))

# A new (model, version) series that did not exist 10 minutes earlier: a deploy, a retrain
# promoted by `driftwarden model promote`, or a rollback.
MODEL_VERSION_CHANGE_EXPR = (
    f"driftwarden_model_info{{{SELECTED}}}\n"
    "unless on (monitor, model, version)\n"
    f"driftwarden_model_info{{{SELECTED}}} offset 10m"
)


def _floor(metric: str) -> str:
    return f'max(driftwarden:quality_floor{{{SELECTED}, metric="{metric}"}})'


def status_row() -> dashboard_builder.Row:
    return (
        dashboard_builder.Row("Latest window")
        .with_panel(
            stat(
                "Status",
                "The monitor's status (recording rule driftwarden:monitor_status, which the "
                "alerts read too): OK, Drifting, Failing, Stale or Store down.",
                query(f"max(driftwarden:monitor_status{{{SELECTED}}})"),
                unit="none",
                steps=thresholds((None, GREEN)),
                mappings=STATUS_MAPPINGS,
            )
        )
        .with_panel(
            stat(
                "Dataset drift",
                "Whether the latest window drifted as a whole.",
                query(f"max(driftwarden_dataset_drift{{{SELECTED}}})"),
                unit="none",
                steps=thresholds((None, GREEN), (1, ORANGE)),
                mappings=DRIFT_FLAG_MAPPINGS,
            )
        )
        .with_panel(
            stat(
                "Drifted features share",
                "Share of monitored columns whose drift test fired in the latest window; "
                "orange from the monitor's drift.drifted_share.",
                query(f"max(driftwarden_drifted_features_share{{{SELECTED}}})"),
                unit="percentunit",
                steps=thresholds((None, GREEN), (0.5, ORANGE)),
                threshold_expr=f"max(driftwarden_drifted_share_threshold{{{SELECTED}}})",
            )
        )
        .with_panel(
            stat(
                "Accuracy",
                "Measured on the latest labelled window; with late labels, on the latest "
                "window whose quality is final. Red below the floor of the monitor's own "
                "accuracy rule (green throughout when it has none).",
                query(f'max(driftwarden_model_quality{{{SELECTED}, metric="accuracy"}})'),
                unit="percentunit",
                steps=thresholds((None, RED), (0.0, GREEN)),
                threshold_expr=_floor("accuracy"),
            )
        )
        .with_panel(
            stat(
                "Estimated accuracy",
                "Label-free estimate for the latest window; red below the floor of the "
                "monitor's rule on estimated_accuracy.",
                query(f'max(driftwarden_estimated_model_quality{{{SELECTED}, metric="accuracy"}})'),
                unit="percentunit",
                steps=thresholds((None, RED), (0.0, GREEN)),
                threshold_expr=(
                    f'max(driftwarden:estimated_quality_floor{{{SELECTED}, metric="accuracy"}})'
                ),
            )
        )
        .with_panel(
            stat(
                "Last successful cycle",
                "Time since the last cycle that stored a result (since the daemon started, if "
                "none has); red from 3 schedule periods, where the stale alert fires.",
                query(f"max(driftwarden:monitor_success_age_seconds{{{SELECTED}}})"),
                unit="s",
                steps=thresholds((None, GREEN), (900, RED)),
                threshold_expr=(
                    f"{rules.STALE_PERIODS} * max(driftwarden_schedule_interval_seconds"
                    f"{{{SELECTED}}})"
                ),
            )
        )
        .with_panel(
            stat(
                "Model version",
                "The model and version that scored the latest window.",
                # Instant: a range query would also show the version replaced minutes ago.
                query(
                    f"max by (model, version) (driftwarden_model_info{{{SELECTED}}})",
                    "{{model}} {{version}}",
                    instant=True,
                ),
                unit="none",
                steps=thresholds((None, BLUE)),
                width=6,
            ).text_mode(common.BigValueTextMode.NAME)
        )
    )


def feature_table() -> table_builder.Panel:
    return (
        table_builder.Panel()
        .title("Features in the latest window")
        .description(
            "Per-feature drift score, the method that produced it, and whether it drifted. "
            "p-value methods (ks, chisquare, ...) drift when the score is at or below the "
            "threshold; distance methods (wasserstein, jensenshannon, psi, ...) when at or "
            "above it."
        )
        .datasource(DATASOURCE)
        .targets(
            [
                instant_table_query(
                    f"max by (feature, method) (driftwarden_feature_drift_score{{{SELECTED}}})",
                    "A",
                ),
                instant_table_query(
                    f"max by (feature) (driftwarden_feature_drifted{{{SELECTED}}})", "B"
                ),
            ]
        )
        .span(12)
        .height(10)
        .with_transformation(dashboard.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            dashboard.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True},
                    "indexByName": {"feature": 0, "method": 1, "Value #A": 2, "Value #B": 3},
                    "renameByName": {"Value #A": "Drift score", "Value #B": "Drifted"},
                },
            )
        )
        .sort_by([common_builder.TableSortByFieldState().display_name("Drifted").desc(True)])
        .override_by_name(
            "Drifted",
            [
                dashboard.DynamicConfigValue(id_val="mappings", value=DRIFT_FLAG_MAPPINGS),
                dashboard.DynamicConfigValue(
                    id_val="custom.cellOptions", value={"type": "color-background"}
                ),
            ],
        )
        .override_by_name("Drift score", [dashboard.DynamicConfigValue(id_val="decimals", value=4)])
    )


def feature_heatmap() -> heatmap_builder.Panel:
    # The heatmap shows the drifted *flags*, not the scores: scores of p-value and distance
    # methods point in opposite directions and cannot share one colour scale.
    return (
        heatmap_builder.Panel()
        .title("Drifted features over time")
        .description("One row per feature; red cells are windows in which that feature drifted.")
        .datasource(DATASOURCE)
        .with_target(
            query(f"max by (feature) (driftwarden_feature_drifted{{{SELECTED}}})", "{{feature}}")
        )
        .span(24)
        .height(9)
        .calculate(False)
        .color(
            heatmap_builder.HeatmapColorOptions()
            .mode(heatmap.HeatmapColorMode.SCHEME)
            .scheme("RdYlGn")
            .scale(heatmap.HeatmapColorScale.LINEAR)
            .exponent(0.5)
            .fill("dark-red")
            .reverse(True)
            .steps(2)
            .min(0)
            .max(1)
        )
        # Grafana hides cells <= 1e-9 by default; here 0 ("no drift") is a value worth seeing.
        .filter_values(heatmap_builder.FilterValueRange().le(-1))
        .rows_frame(heatmap_builder.RowsHeatmapOptions().value("drifted"))
        .cell_gap(1)
        .hide_y_histogram()
        .show_legend()
    )


def feature_scores(kind: str, methods: str, reading: str) -> timeseries_builder.Panel:
    """One panel per kind of score: p-values and distances point in opposite directions and
    have different scales, so they never share an axis."""
    selected = f'{SELECTED}, method=~"{methods}"'
    panel = timeseries(
        f"Feature drift {kind}s",
        f"Per-feature {kind}s of methods {methods.replace('|', ', ')}: {reading}, one point "
        "per window.",
        [
            query(
                f"max by (feature, method) (driftwarden_feature_drift_score{{{selected}}})",
                "{{feature}} ({{method}})",
                ref="A",
            ),
            query(
                f"max by (feature, method) (driftwarden_feature_drift_threshold{{{selected}}})",
                "{{feature}} ({{method}}) threshold",
                ref="B",
            ),
        ],
        unit="none",
        width=12,
        height=10,
    )
    if kind == "p-value":
        panel.scale_distribution(
            common_builder.ScaleDistributionConfig().type(common.ScaleDistribution.LOG).log(10)
        )
    return panel


def build() -> dashboard.Dashboard:
    feature_row = (
        dashboard_builder.Row("Feature drift")
        .with_panel(feature_heatmap())
        .with_panel(feature_table().span(24))
        .with_panel(feature_scores("p-value", PVALUE, "drift at or below the dashed threshold"))
        .with_panel(feature_scores("distance", DISTANCE, "drift at or above the dashed threshold"))
    )
    model_row = (
        dashboard_builder.Row("Model")
        .with_panel(
            timeseries(
                "Embedding drift",
                "Drift of the model's embeddings of the inputs against the reference window, "
                "one point per window (its method's score: the domain classifier's ROC AUC "
                "by default).",
                [query(f"max(driftwarden_embedding_drift_score{{{SELECTED}}})", "embedding drift")],
                unit="none",
                width=6,
            )
        )
        .with_panel(
            timeseries(
                "Prediction drift",
                "Drift of the predicted classes against the reference window's, one point per "
                "window.",
                [
                    query(
                        f"max(driftwarden_prediction_drift_score{{{SELECTED}}})",
                        "prediction drift",
                    )
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
                ],
                unit="percentunit",
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
            timeseries(
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
                unit="short",
                width=8,
                style="bars",
                legend=("sum",),
            ).interval("1h")
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
            timeseries(
                "Cycles by outcome",
                "Cycles recorded per hour, ok or error.",
                [
                    query(
                        "sum by (outcome) "
                        f"(increase(driftwarden_runs_total{{{SELECTED}}}[$__interval]))",
                        "{{outcome}}",
                    )
                ],
                unit="short",
                style="bars",
                legend=("sum",),
            ).interval("1h")
        )
        .with_panel(
            timeseries(
                "Hook deliveries",
                "Delivery attempts per hour by hook and outcome (delivered, retry, failed).",
                [
                    query(
                        "sum by (hook, outcome) (increase("
                        f"driftwarden_hook_deliveries_total{{{SELECTED}}}[$__interval]))",
                        "{{hook}} {{outcome}}",
                    )
                ],
                unit="short",
                style="bars",
                legend=("sum",),
            ).interval("1h")
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
        .with_variable(datasource_variable())
        .with_variable(monitor_variable(multi=False))
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
