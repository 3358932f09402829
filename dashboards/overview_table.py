"""The overview's table of monitors, one row each, and the status value mappings (shared
with the monitor dashboard's Status stat)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builder
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
    PURPLE,
    RED,
    instant_table_query,
    merged_table,
    thresholds,
    value_text,
)

SELECTED = f'{DEPLOYMENT}, monitor=~"$monitor"'


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


def column(expr: str) -> str:
    return f"max by (monitor) ({expr})"


def monitors_table() -> table_builder.Panel:
    """One row per configured monitor; the monitor name links to its drill-down dashboard."""
    columns = {
        "A": ("Status", column(f"driftwarden:monitor_status{{{SELECTED}}}")),
        "B": ("Window drift", column(f"driftwarden_dataset_drift{{{SELECTED}}}")),
        "C": ("Drifted share", column(f"driftwarden_drifted_features_share{{{SELECTED}}}")),
        "D": ("Drifted-share bound", column(f"driftwarden_drifted_share_threshold{{{SELECTED}}}")),
        "E": ("Accuracy", column(f'driftwarden_model_quality{{{SELECTED}, metric="accuracy"}}')),
        "F": (
            "Accuracy over floor",
            column(f'driftwarden:quality_margin{{{SELECTED}, metric="accuracy"}}'),
        ),
        "G": (
            "Estimated accuracy",
            column(f'driftwarden_estimated_model_quality{{{SELECTED}, metric="accuracy"}}'),
        ),
        "H": (
            "Last success age",
            column(f"driftwarden:monitor_success_age_seconds{{{SELECTED}}}"),
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
