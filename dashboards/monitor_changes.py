"""The per-monitor dashboard's "What changed" table: the latest window's explanation as the
exporter serves it (the top terms of each side with their log-odds z, the descriptors that
moved with their Cohen's d)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import table as table_builder

from dashboards.monitor_latest import SELECTED
from dashboards.panels import DATASOURCE, instant_table_query, merged_table

TITLE = "What changed in the latest window"
TERM_Z = "Term z"
DESCRIPTOR_D = "Descriptor d"


def what_changed_table() -> table_builder.Panel:
    """One row per exported term (side, rank, term, z) and per moved descriptor (d)."""
    panel = merged_table(
        table_builder.Panel().title(TITLE),
        {"side": 0, "rank": 1, "term": 2, "Value #A": 3, "descriptor": 4, "Value #B": 5},
        {"Value #A": TERM_Z, "Value #B": DESCRIPTOR_D},
    )
    return (
        panel.description(
            "What sets the latest window apart from the reference (text monitors with "
            "drift.explain). Terms: the 5 most over-represented in the window (side window) "
            "and in the reference (side reference), rank 1 strongest, with the z-score of "
            "their log-odds ratio (above 2 is rarely chance). Descriptors: those that moved, "
            "with Cohen's d (window minus reference; 0.2 small, 0.5 medium, 0.8 large). "
            "`driftwarden runs --json` and the window's report show the full explanation, "
            "example rows included."
        )
        .datasource(DATASOURCE)
        .targets(
            [
                instant_table_query(
                    f"max by (side, rank, term) (driftwarden_window_term_zscore{{{SELECTED}}})",
                    "A",
                ),
                instant_table_query(
                    f"max by (descriptor) (driftwarden_descriptor_effect_size{{{SELECTED}}})",
                    "B",
                ),
            ]
        )
        .unit("none")
        .decimals(2)
        .span(24)
        .height(8)
        .sort_by([common_builder.TableSortByFieldState().display_name("rank")])
    )
