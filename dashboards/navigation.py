"""The dashboards' navigation: the datasource, deployment and monitor variables, the links
(other dashboards, the runbooks) and the annotations drawn over every panel."""

from __future__ import annotations

import typing

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard

from dashboards.panels import DATASOURCE, DEPLOYMENT, MONITOR_VARIABLE_QUERY, PURPLE


def datasource_variable() -> dashboard_builder.DatasourceVariable:
    return (
        dashboard_builder.DatasourceVariable("datasource").label("Data source").type("prometheus")
    )


def deployment_variables() -> list[dashboard_builder.QueryVariable]:
    """`job`, `namespace` and `instance` pickers (All by default): which daemon's monitors."""
    specs = [
        ("job", "Job", "label_values(driftwarden_schedule_interval_seconds, job)"),
        (
            "namespace",
            "Namespace",
            'label_values(driftwarden_schedule_interval_seconds{job=~"$job"}, namespace)',
        ),
        (
            "instance",
            "Instance",
            f"label_values(driftwarden_schedule_interval_seconds{{{DEPLOYMENT}}}, instance)",
        ),
    ]
    variables = []
    for name, label, query_text in specs:
        variable = (
            dashboard_builder.QueryVariable(name)
            .label(label)
            .datasource(DATASOURCE)
            .query(query_text)
            .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(dashboard.VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
            .multi(True)
            .include_all(True)
        )
        if name != "job":
            # without Kubernetes there is no namespace label: ".*" matches its absence
            variable.all_value(".*")
        variables.append(variable)
    return variables


def monitor_variable(*, multi: bool) -> dashboard_builder.QueryVariable:
    """The `monitor` picker: several (All: every monitor) on the overview, one on a drill-down."""
    variable = (
        dashboard_builder.QueryVariable("monitor")
        .label("Monitor")
        .datasource(DATASOURCE)
        .query(MONITOR_VARIABLE_QUERY)
        .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard.VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
    )
    if multi:
        # ".*" rather than Grafana's "(a|b|c)" expansion keeps queries short and picks up
        # monitors that start reporting after the dashboard was loaded.
        variable.multi(True).include_all(True).all_value(".*")
    return variable


class PrometheusAnnotationQuery(dashboard.AnnotationQuery):
    """The SDK's annotation model lacks the Prometheus-specific fields; this adds them."""

    def __init__(self, title_format: str, tag_keys: str, step: str, **kwargs: typing.Any) -> None:
        super().__init__(**kwargs)
        self.title_format = title_format
        self.tag_keys = tag_keys
        self.step = step

    def to_json(self) -> dict[str, object]:
        payload = super().to_json()
        payload.update(
            {
                "titleFormat": self.title_format,
                "tagKeys": self.tag_keys,
                "step": self.step,
                # Annotate when the condition held, not at the sample's value.
                "useValueForTime": False,
            }
        )
        return payload


class PrometheusAnnotation(cogbuilder.Builder[dashboard.AnnotationQuery]):
    """Marks the periods where a PromQL expression returns series (Grafana draws regions)."""

    def __init__(self, name: str, expr: str, *, title: str, tags: str, color: str) -> None:
        self._internal = PrometheusAnnotationQuery(
            title_format=title,
            tag_keys=tags,
            step="1m",
            name=name,
            datasource=DATASOURCE,
            enable=True,
            hide=False,
            icon_color=color,
            expr=expr,
            built_in=None,
        )

    def build(self) -> dashboard.AnnotationQuery:
        return self._internal


def rejected_retrains(selected: str) -> PrometheusAnnotation:
    """Marks the retrains the retrain-head hook made but did not promote."""
    return PrometheusAnnotation(
        "Rejected retrains",
        f'increase(driftwarden_retrain_decisions_total{{{selected}, decision="rejected"}}[5m]) > 0',
        title="retrain of {{monitor}} rejected",
        tags="monitor,decision",
        color=PURPLE,
    )


def grafana_builtin_annotation() -> dashboard_builder.AnnotationQuery:
    """Grafana's own annotations and alerts, which every dashboard normally carries."""
    return (
        dashboard_builder.AnnotationQuery()
        .name("Annotations & Alerts")
        .datasource(dashboard.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
        .enable(True)
        .hide(True)
        .icon_color("rgba(0, 211, 255, 1)")
        .type("dashboard")
        .built_in(1)
    )


def dashboard_links() -> dashboard_builder.DashboardLink:
    """A dropdown of every driftwarden dashboard that carries the selected monitor along."""
    return (
        dashboard_builder.DashboardLink("Driftwarden")
        .type(dashboard.DashboardLinkType.DASHBOARDS)
        .tags(["driftwarden"])
        .as_dropdown(True)
        .include_vars(True)
        .keep_time(True)
    )


def runbook_link(runbook_base: str) -> dashboard_builder.DashboardLink:
    """The runbooks of the alerts these panels explain (the operating guide's alerts page)."""
    return (
        dashboard_builder.DashboardLink("Runbooks")
        .type(dashboard.DashboardLinkType.LINK)
        .url(runbook_base)
        .icon("doc")
        .tooltip("What each driftwarden alert means and what to do")
        .target_blank(True)
    )
