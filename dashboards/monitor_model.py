"""The monitor dashboard's Model row: the drift family's p-value (log axis), embedding and
prediction drift, measured and estimated quality, label coverage and age, model versions
and the daemon's own alert rules."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.models import common, dashboard

from dashboards.panels import (
    BLUE,
    DEPLOYMENT,
    FIRING_MAPPINGS,
    GREEN,
    RED,
    query,
    state_timeline,
    thresholds,
    timeseries,
    value_text,
)

SELECTED = f'{DEPLOYMENT}, monitor="$monitor"'


def model_row() -> dashboard_builder.Row:
    return (
        dashboard_builder.Row("Model")
        .with_panel(
            timeseries(
                "Drift family p-value",
                "The p-value of the window's drift family (embeddings, text descriptors or "
                "tabular features, predicted class; text: min-p over shared permutations and "
                "the novelty test, weighted Holm; tabular: Holm-adjusted), one point per window, "
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
