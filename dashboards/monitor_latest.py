"""The per-monitor dashboard's panels about the latest window and its features: status
stats coloured by the daemon's own thresholds, the feature table, heatmap and scores."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import heatmap as heatmap_builder
from grafana_foundation_sdk.builders import prometheus as prometheus_builder
from grafana_foundation_sdk.builders import table as table_builder
from grafana_foundation_sdk.builders import timeseries as timeseries_builder
from grafana_foundation_sdk.models import common, dashboard, heatmap

from dashboards import rules
from dashboards.overview_table import STATUS_MAPPINGS
from dashboards.panels import (
    BLUE,
    DATASOURCE,
    DEPLOYMENT,
    DRIFT_FLAG_MAPPINGS,
    GREEN,
    ORANGE,
    RED,
    instant_table_query,
    merged_table,
    or_not_seen,
    query,
    stat,
    thresholds,
    timeseries,
)
from monitor.config.drift import PVALUE_METHODS

SELECTED = f'{DEPLOYMENT}, monitor="$monitor"'
# Methods whose score is a p-value; the others are distances (see the exporter's ranking).
PVALUE = "|".join(sorted(PVALUE_METHODS))


def _floor(metric: str) -> str:
    return f'max(driftwarden:quality_floor{{{SELECTED}, metric="{metric}"}})'


def _now(expr: str) -> prometheus_builder.Dataquery:
    """An instant query of `expr`, or "Daemon not seen" (red) once no daemon serves it."""
    return query(or_not_seen(expr, SELECTED), instant=True)


def status_row() -> dashboard_builder.Row:
    return (
        dashboard_builder.Row("Latest window")
        .with_panel(
            stat(
                "Status",
                "The monitor's status (recording rule driftwarden:monitor_status, which the "
                "alerts read too): OK, Drifting, Quality below floor, Failing, Stale, Store "
                "down, or Daemon not seen (red: no daemon serves the monitor now).",
                query(f"max(driftwarden:monitor_status{{{SELECTED}}})", instant=True),
                unit="none",
                steps=thresholds((None, GREEN)),
                mappings=STATUS_MAPPINGS,
            )
        )
        .with_panel(
            stat(
                "Dataset drift",
                "Whether the latest window drifted as a whole.",
                _now(f"max(driftwarden_dataset_drift{{{SELECTED}}})"),
                unit="none",
                steps=thresholds((None, GREEN), (1, ORANGE)),
                mappings=DRIFT_FLAG_MAPPINGS,
            )
        )
        .with_panel(
            stat(
                "Drifted features share",
                "Share of monitored columns whose drift test fired in the latest window; "
                "orange from the monitor's drift.drifted_share (orange throughout if that is "
                "unknown).",
                _now(f"max(driftwarden_drifted_features_share{{{SELECTED}}})"),
                unit="percentunit",
                steps=thresholds((None, GREEN), (0, ORANGE)),
                threshold_expr=f"max(driftwarden_drifted_share_threshold{{{SELECTED}}})",
            )
        )
        .with_panel(
            stat(
                "Accuracy",
                "Measured on the latest labelled window; with late labels, on the latest "
                "window whose quality is final. Red below the floor of the monitor's own "
                "accuracy rule (green throughout when it has none).",
                _now(f'max(driftwarden_model_quality{{{SELECTED}, metric="accuracy"}})'),
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
                _now(f'max(driftwarden_estimated_model_quality{{{SELECTED}, metric="accuracy"}})'),
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
                "Time since the last cycle that stored a result, whichever pod ran it (since "
                "the daemon started, if none has); it keeps counting while the daemon is gone. "
                "Red from 3 schedule periods, where the stale alert fires (red throughout if "
                "the schedule is unknown).",
                query(f"max(driftwarden:monitor_success_age_seconds{{{SELECTED}}})", instant=True),
                unit="s",
                steps=thresholds((None, GREEN), (0, RED)),
                threshold_expr=(
                    f"{rules.STALE_PERIODS} * max(last_over_time("
                    f"driftwarden_schedule_interval_seconds{{{SELECTED}}}[{rules.SUCCESS_MEMORY}]))"
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
    panel = merged_table(
        table_builder.Panel().title("Features in the latest window"),
        {"feature": 0, "method": 1, "Value #A": 2, "Value #B": 3},
        {"Value #A": "Drift score", "Value #B": "Drifted"},
    )
    return (
        panel.description(
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
        .description(
            "One row per feature; orange cells are windows in which that feature drifted (a "
            "drifted feature is a warning, not a page)."
        )
        .datasource(DATASOURCE)
        .with_target(
            query(f"max by (feature) (driftwarden_feature_drifted{{{SELECTED}}})", "{{feature}}")
        )
        .span(24)
        .height(9)
        .calculate(False)
        .color(
            heatmap_builder.HeatmapColorOptions()
            .mode(heatmap.HeatmapColorMode.OPACITY)
            .fill(ORANGE)
            .scale(heatmap.HeatmapColorScale.LINEAR)
            .exponent(0.5)
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


def feature_scores() -> timeseries_builder.Panel:
    """Per-feature scores, one point per window, with each test's threshold dashed.

    p-values and distances point in opposite directions and have different scales: p-values
    go on the left axis (log scale), distances on the right, so no axis mixes the two.
    """
    pvalues = rf".*\(({PVALUE})\).*"
    return (
        timeseries(
            "Feature drift scores",
            "Per-feature scores, one point per window, each with its test's threshold "
            "(dashed). Left axis, log scale: p-values (ks, chisquare, ...), drift at or "
            "below the threshold. Right axis: distances (wasserstein, jensenshannon, psi, "
            "...), drift at or above it.",
            [
                query(
                    f"max by (feature, method) (driftwarden_feature_drift_score{{{SELECTED}}})",
                    "{{feature}} ({{method}})",
                    ref="A",
                ),
                query(
                    f"max by (feature, method) (driftwarden_feature_drift_threshold{{{SELECTED}}})",
                    "{{feature}} ({{method}}) threshold",
                    ref="B",
                ),
            ],
            unit="none",
            width=12,
            height=10,
        )
        .axis_placement(common.AxisPlacement.RIGHT)
        .axis_label("distance")
        .override_by_regexp(
            pvalues,
            [
                dashboard.DynamicConfigValue(id_val="custom.axisPlacement", value="left"),
                dashboard.DynamicConfigValue(id_val="custom.axisLabel", value="p-value"),
                dashboard.DynamicConfigValue(
                    id_val="custom.scaleDistribution", value={"type": "log", "log": 10}
                ),
            ],
        )
    )
