"""Shared building blocks for driftwarden's dashboards: queries, panel presets, variables.

Every panel queries through the `$datasource` variable so one JSON file works against any
Prometheus that Grafana knows, and every query filters on the `monitor` label.
"""

from __future__ import annotations

import typing

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import prometheus as prometheus_builder
from grafana_foundation_sdk.builders import stat as stat_builder
from grafana_foundation_sdk.builders import statetimeline as statetimeline_builder
from grafana_foundation_sdk.builders import table as table_builder
from grafana_foundation_sdk.builders import timeseries as timeseries_builder
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common, dashboard, prometheus

from dashboards.records import STATUS_NOT_SEEN

# Panels point at the datasource *variable*, never at a fixed uid, so the dashboards import
# cleanly into a Grafana whose Prometheus datasource has another uid.
DATASOURCE = dashboard.DataSourceRef(type_val="prometheus", uid="${datasource}")

TAGS = ["driftwarden", "ml-monitoring"]
OVERVIEW_UID = "driftwarden-overview"
MONITOR_UID = "driftwarden-monitor"

# The variable query reads the series the exporter emits for every configured monitor as
# soon as the daemon starts (it comes from the config), so a monitor shows up in the
# picker before its first cycle completes.
MONITOR_VARIABLE_QUERY = (
    'label_values(driftwarden_schedule_interval_seconds{job=~"$job", namespace=~"$namespace"}, '
    "monitor)"
)
# One deployment of the daemon (namespace, job): same-named monitors of two daemons never
# merge on a dashboard. The rules key monitors the same way; `instance` (one pod) only
# narrows the daemon-health panels, since a monitor's series follow it from pod to pod.
DEPLOYMENT = 'job=~"$job", namespace=~"$namespace"'
TARGET = f'{DEPLOYMENT}, instance=~"$instance"'
# What a "now" stat shows when no daemon serves the monitor any more (see `or_not_seen`).
NOT_SEEN_VALUE = -1
NOT_SEEN_TEXT = "Daemon not seen"

# One meaning per colour on every panel: green healthy, orange drift (a warning), red a
# page (quality below its floor, stale, failing, down), purple the store down, blue facts.
GREEN = "green"
ORANGE = "orange"
RED = "red"
PURPLE = "purple"
BLUE = "blue"

# Series whose legend ends so are thresholds: drawn as dashed red lines, never as points.
THRESHOLD_LEGEND = r".*(bound|floor|threshold|schedule period)$"


def query(
    expr: str, legend: str | None = None, ref: str = "A", *, instant: bool = False
) -> prometheus_builder.Dataquery:
    """A range query drawn over time (or an instant one, for "now" only); `legend` uses
    Grafana's `{{label}}` syntax."""
    target = prometheus_builder.Dataquery().expr(expr).ref_id(ref)
    if instant:
        target.instant()
    else:
        target.range()
    target.datasource(DATASOURCE).editor_mode(prometheus.QueryEditorMode.CODE)
    if legend is not None:
        target.legend_format(legend)
    return target


def instant_table_query(expr: str, ref: str) -> prometheus_builder.Dataquery:
    """An instant query formatted as a table, for tables that merge several queries by label."""
    return (
        prometheus_builder.Dataquery()
        .expr(expr)
        .ref_id(ref)
        .instant()
        .format(prometheus.PromQueryFormat.TABLE)
        .datasource(DATASOURCE)
        .editor_mode(prometheus.QueryEditorMode.CODE)
    )


def or_not_seen(expr: str, selected: str) -> str:
    """`expr`, or NOT_SEEN_VALUE while the monitor's status says no daemon serves it: a "now"
    stat then reads "Daemon not seen" in red, never its last value before the daemon died."""
    return (
        f"({expr})\nor on ()\n"
        f"(0 * (max(driftwarden:monitor_status{{{selected}}}) == {STATUS_NOT_SEEN})"
        f" + {NOT_SEEN_VALUE})"
    )


def thresholds(*steps: tuple[float | None, str]) -> dashboard_builder.ThresholdsConfig:
    """Absolute thresholds; the first step's value must be None (Grafana's -Infinity)."""
    return (
        dashboard_builder.ThresholdsConfig()
        .mode(dashboard.ThresholdsMode.ABSOLUTE)
        .steps([dashboard.Threshold(value=value, color=color) for value, color in steps])
    )


def value_text(mapping: dict[str, tuple[str, str]]) -> dashboard.ValueMap:
    """Maps exact values to (text, color), e.g. the 0/1 drift flags to OK/Drift."""
    return dashboard.ValueMap(
        options={
            value: dashboard.ValueMappingResult(text=text, color=color, index=index)
            for index, (value, (text, color)) in enumerate(mapping.items())
        }
    )


def range_text(low: float, high: float, text: str, color: str, index: int) -> dashboard.RangeMap:
    return dashboard.RangeMap(
        options=dashboard.DashboardRangeMapOptions(
            from_val=low,
            to=high,
            result=dashboard.ValueMappingResult(text=text, color=color, index=index),
        )
    )


NOT_SEEN_MAPPING = value_text({str(NOT_SEEN_VALUE): (NOT_SEEN_TEXT, RED)})
DRIFT_FLAG_MAPPINGS: list[dashboard.ValueMapping] = [
    value_text({"0": ("OK", GREEN), "1": ("Drift", ORANGE)})
]
UP_MAPPINGS: list[dashboard.ValueMapping] = [value_text({"0": ("Down", RED), "1": ("Up", GREEN)})]
FIRING_MAPPINGS: list[dashboard.ValueMapping] = [
    value_text({"0": ("OK", GREEN), "1": ("Firing", RED)})
]


def legend_table(*calcs: str) -> common_builder.VizLegendOptions:
    """A legend table below the graph; `calcs` adds columns such as "lastNotNull" or "max"."""
    legend = (
        common_builder.VizLegendOptions()
        .display_mode(common.LegendDisplayMode.TABLE)
        .placement(common.LegendPlacement.BOTTOM)
        .show_legend(True)
    )
    if calcs:
        legend.calcs(list(calcs))
    return legend


def multi_tooltip() -> common_builder.VizTooltipOptions:
    return (
        common_builder.VizTooltipOptions()
        .mode(common.TooltipDisplayMode.MULTI)
        .sort(common.SortOrder.DESCENDING)
    )


def timeseries(
    title: str,
    description: str,
    targets: list[prometheus_builder.Dataquery],
    *,
    unit: str,
    width: int = 12,
    height: int = 8,
    style: str = "points",
    legend: tuple[str, ...] = ("lastNotNull", "max"),
) -> timeseries_builder.Panel:
    """A time series panel. `style`: "points" for per-window values (a gauge changes once
    per cycle, so a line would invent values between windows), "bars" for counts per
    interval, "line" for continuous readings. Thresholds (legends matching
    THRESHOLD_LEGEND) are drawn as dashed red lines."""
    panel = (
        timeseries_builder.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(typing.cast(list[cogbuilder.Builder[typing.Any]], targets))
        .unit(unit)
        .span(width)
        .height(height)
        .line_width(1)
        .fill_opacity(10)
        .show_points(common.VisibilityMode.NEVER)
        .legend(legend_table(*legend))
        .tooltip(multi_tooltip())
    )
    if style == "points":
        panel.draw_style(common.GraphDrawStyle.POINTS).point_size(6)
    elif style == "bars":
        panel.draw_style(common.GraphDrawStyle.BARS).fill_opacity(70).line_width(0)
    return panel.override_by_regexp(THRESHOLD_LEGEND, THRESHOLD_LINE)


def hourly_counts(
    title: str,
    description: str,
    targets: list[prometheus_builder.Dataquery],
    *,
    width: int = 12,
) -> timeseries_builder.Panel:
    """Bars of a counter's increase per hour (queries use `[$__interval]`): cycles come minutes
    or an hour apart, so a rate over a short interval would draw spikes and fractions."""
    return timeseries(
        title, description, targets, unit="short", width=width, style="bars", legend=("sum",)
    ).interval("1h")


def merged_table(
    panel: table_builder.Panel, index: dict[str, int], rename: dict[str, str]
) -> table_builder.Panel:
    """One row per label set, from several instant table queries merged by their labels."""
    return panel.with_transformation(
        dashboard.DataTransformerConfig(id_val="merge", options={})
    ).with_transformation(
        dashboard.DataTransformerConfig(
            id_val="organize",
            options={"excludeByName": {"Time": True}, "indexByName": index, "renameByName": rename},
        )
    )


THRESHOLD_LINE = [
    dashboard.DynamicConfigValue(id_val="custom.drawStyle", value="line"),
    dashboard.DynamicConfigValue(
        id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]}
    ),
    dashboard.DynamicConfigValue(id_val="custom.lineWidth", value=2),
    dashboard.DynamicConfigValue(id_val="custom.fillOpacity", value=0),
    dashboard.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": RED}),
]


def threshold_from_query(ref: str, legend: str) -> dashboard.DataTransformerConfig:
    """Grafana's "Config from query results": the series of query `ref` (its legend
    `legend`) becomes the panel's first threshold step, so a stat turns colour at the
    value the daemon and the alert rules use, not at a number written into the JSON."""
    return dashboard.DataTransformerConfig(
        id_val="configFromQuery",
        options={
            "configRefId": ref,
            "mappings": [{"fieldName": legend, "handlerKey": "threshold1"}],
            "applyTo": {"id": "byFrameRefID", "options": "A"},
        },
    )


def stat(
    title: str,
    description: str,
    target: prometheus_builder.Dataquery,
    *,
    unit: str,
    steps: dashboard_builder.ThresholdsConfig,
    width: int = 3,
    mappings: list[dashboard.ValueMapping] | None = None,
    threshold_expr: str | None = None,
) -> stat_builder.Panel:
    """A big number for "now" (an instant query: never the last value of a series that
    stopped). With `threshold_expr`, that series (query B) sets the first threshold step of
    `steps`; the value written there is the fallback, so make it the alarming one. Without
    data the panel says so; "Daemon not seen" (see `or_not_seen`) shows red."""
    panel = (
        stat_builder.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(target)
        .unit(unit)
        .span(width)
        .height(4)
        .thresholds(steps)
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .no_value("No data")
    )
    panel.mappings([NOT_SEEN_MAPPING, *(mappings or [])])
    if threshold_expr is not None:
        panel.with_target(query(threshold_expr, "threshold", ref="B", instant=True))
        panel.with_transformation(threshold_from_query("B", "threshold"))
    return panel


def state_timeline(
    title: str,
    description: str,
    targets: list[prometheus_builder.Dataquery],
    *,
    mappings: list[dashboard.ValueMapping],
    steps: dashboard_builder.ThresholdsConfig,
    width: int = 12,
    height: int = 6,
) -> statetimeline_builder.Panel:
    return (
        statetimeline_builder.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(typing.cast(list[cogbuilder.Builder[typing.Any]], targets))
        .span(width)
        .height(height)
        .mappings(mappings)
        .thresholds(steps)
        .color_scheme(dashboard_builder.FieldColor().mode(dashboard.FieldColorModeId.THRESHOLDS))
        .show_value(common.VisibilityMode.NEVER)
        .merge_values(True)
        .legend(common_builder.VizLegendOptions().show_legend(False))
    )


def finalize(board: dashboard.Dashboard) -> dashboard.Dashboard:
    """Expands every row and gives every panel a stable id (`viewPanel=` links use it).

    The SDK nests a row's panels inside the row and marks it collapsed; Grafana only reads
    nested panels of *collapsed* rows. An expanded row's panels must follow it at the top
    level, so they are moved there (their grid positions are already laid out).
    """
    flat: list[dashboard.Panel | dashboard.RowPanel] = []
    for panel in board.panels or []:
        flat.append(panel)
        if isinstance(panel, dashboard.RowPanel):
            flat.extend(panel.panels)
            panel.panels = []
            panel.collapsed = False
    for panel_id, panel in enumerate(flat, start=1):
        panel.id_val = panel_id
    board.panels = flat
    return board
