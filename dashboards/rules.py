"""Driftwarden's Prometheus alerts as data, beside the recording rules of `dashboards.records`
that define each status once. `dashboards.build` renders both to prometheus/rules.yml, to the
monitoring mixin and to the PrometheusRule manifest; the dashboards query the same series.

Every alert carries `severity` (critical pages, warning tickets, none for the Watchdog) and,
where it is about one monitor, `namespace, job, monitor` (never `instance`, so a pod move is
no new alert). Thresholds are never written here: they are the daemon's, exported as series.

An alert derived from the daemon's series never resolves because the daemon is out of sight:
while no daemon of its deployment answers with a readable store, a firing alert holds (its
own `ALERTS` sample keeps it), and DriftwardenDown or DriftwardenStoreDown says why. It
resolves only once the daemon is back and its own state says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboards.alert_text import HELD, ON_MONITOR, WINDOW_TERMS, latest
from dashboards.records import (
    DAEMON,
    KEY,
    RECORDS,
    SELECTOR,
    STALE_PERIODS,
    STATUS_DRIFTING,
    STATUS_FAILING,
    STATUS_NAMES,
    STATUS_NOT_SEEN,
    STATUS_OK,
    STATUS_QUALITY_LOW,
    STATUS_STALE,
    STATUS_STORE_DOWN,
    SUCCESS_MEMORY,
    TARGET,
    Record,
    record_groups,
    series,
)

# Where the runbooks live: the operating guide of the documentation site, one section per
# alert (docs/operating/alerts.md). The ONE setting that moves them: `python -m
# dashboards.build --runbook-base URL`, or the mixin's `_config.runbookBase`.
RUNBOOK_BASE = "https://driftwarden.readthedocs.io/en/latest/operating/alerts/"
# Where Grafana serves the dashboards (`--grafana-base`, `_config.grafanaBase`): each alert
# links the dashboard that shows it.
GRAFANA_BASE = "http://127.0.0.1:3000"
JOB = "driftwarden"
STARTUP_GRACE_S = 600  # missed wake-ups while the model loads at start are not an alert
MISSED_WINDOW = "15m"

__all__ = [
    "ALERTS",
    "GRAFANA_BASE",
    "KEY",
    "RECORDS",
    "RUNBOOK_BASE",
    "SELECTOR",
    "STALE_PERIODS",
    "STATUS_DRIFTING",
    "STATUS_FAILING",
    "STATUS_NAMES",
    "STATUS_NOT_SEEN",
    "STATUS_OK",
    "STATUS_QUALITY_LOW",
    "STATUS_STALE",
    "STATUS_STORE_DOWN",
    "SUCCESS_MEMORY",
    "Alert",
    "Record",
    "alert_groups",
    "record_groups",
]

MONITOR_DASHBOARD = "/d/driftwarden-monitor/driftwarden-monitor?var-monitor={{ $labels.monitor }}"
OVERVIEW_DASHBOARD = "/d/driftwarden-overview/driftwarden-overview"


@dataclass(frozen=True)
class Alert:
    alert: str
    expr: str  # with `$SEL` where the selector goes
    severity: str
    summary: str
    description: str
    for_: str = "1m"
    keep_firing_for: str | None = None
    comment: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    # the labels the alert carries (its expression's `by`): set for alerts derived from the
    # daemon's series, which then hold while no daemon of the deployment can be read
    held_by: str | None = None
    dashboard: str = MONITOR_DASHBOARD

    def full_expr(self, selector: str = SELECTOR) -> str:
        expr = self.expr
        if self.held_by is not None:
            expr = (
                f"(\n{_indent(expr)}\n)\nor\n(\n"
                f"  max by ({self.held_by}) (\n"
                f'    ALERTS{{alertname="{self.alert}", alertstate="firing"}}\n  )\n'
                f"    unless on ({DAEMON})\n"
                f"  max by ({DAEMON}) ({series('driftwarden_store_up')}) == 1\n)"
            )
        return expr.replace("$SEL", selector)

    def to_dict(
        self,
        runbook_base: str = RUNBOOK_BASE,
        *,
        selector: str = SELECTOR,
        grafana_base: str = GRAFANA_BASE,
    ) -> dict[str, Any]:
        rule: dict[str, Any] = {"alert": self.alert, "expr": self.full_expr(selector)}
        rule["for"] = self.for_
        if self.keep_firing_for is not None:
            rule["keep_firing_for"] = self.keep_firing_for
        rule["labels"] = {"severity": self.severity, **self.labels}
        rule["annotations"] = {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": f"{runbook_base}#{self.alert.lower()}",
            "dashboard_url": grafana_base + self.dashboard,
        }
        return rule


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


ALERTS = (
    Alert(
        "DriftwardenDatasetDrift",
        "driftwarden:monitor_drifting:bool == 1",
        "warning",
        f"Dataset drift on monitor {ON_MONITOR}",
        f"A drift rule of monitor {ON_MONITOR} is firing: its windows drifted from the "
        "reference for as many windows in a row as the rule's `for` asks. The latest window's "
        "drift family (tested at drift.alpha) gave the p-value "
        + latest("driftwarden_dataset_drift_p_value", "", 'printf "%.4f"')
        + "."
        + WINDOW_TERMS
        + HELD,
        keep_firing_for="15m",
        held_by=KEY,
        comment="Pages through the daemon's own rule state, so a single noisy window never "
        "pages and a flapping flag is smoothed by the rule's `for` and `resolve_after`; "
        "`keep_firing_for` rides out a restart; the hold rides out a dead daemon.",
    ),
    Alert(
        "DriftwardenQualityBelowThreshold",
        "driftwarden:monitor_quality_low:bool == 1",
        "critical",
        f"{{{{ $labels.metric }}}} of monitor {ON_MONITOR} is below its floor",
        f"The monitor's own rule on {{{{ $labels.metric }}}} of monitor {ON_MONITOR} fires: "
        "its measured quality stayed below the floor for the rule's `for` windows. The latest "
        "labelled window (with late labels: the latest final one) measured "
        + latest("driftwarden_model_quality", ",metric=%q", "humanizePercentage").replace(
            "$labels.monitor |", "$labels.monitor $labels.metric |"
        )
        + "."
        + HELD,
        keep_firing_for="10m",
        held_by=f"{KEY}, metric",
        comment="Pages through the daemon's own rule state, as drift does: one window under "
        "the floor is a dashboard signal (driftwarden:quality_margin), not a page.",
    ),
    Alert(
        "DriftwardenEstimatedQualityBelowThreshold",
        f"max by ({KEY}, metric) ({series('driftwarden_estimated_model_quality')})\n"
        f"  < on ({KEY}, metric) group_left ()\ndriftwarden:estimated_quality_floor",
        "warning",
        f"Estimated {{{{ $labels.metric }}}} of monitor {ON_MONITOR} is below its floor",
        f"The label-free estimate of {{{{ $labels.metric }}}} for monitor {ON_MONITOR} on "
        "its latest window is below the floor of the monitor's own rule on the estimate." + HELD,
        keep_firing_for="10m",
        held_by=f"{KEY}, metric",
        comment="An early warning while labels are late, never a page.",
    ),
    Alert(
        "DriftwardenLabelsStalled",
        f"max by ({KEY}) ({series('driftwarden_open_quality_windows')} > 0)\n"
        f"  unless on ({KEY})\n(\n  sum by ({KEY}) (\n    increase("
        + series("driftwarden_labels_total", 'outcome=~"joined|rejoined|after_final"')
        + "[6h])\n  ) > 0\n)",
        "warning",
        f"No labels joined for monitor {ON_MONITOR} in 6 hours",
        f"Window(s) of monitor {ON_MONITOR} wait for late labels, and none has been joined "
        "for 6 hours: its measured quality is going stale.",
        for_="30m",
        held_by=KEY,
    ),
    Alert(
        "DriftwardenMonitorStale",
        "driftwarden:monitor_stale:bool == 1",
        "critical",
        f"Monitor {ON_MONITOR} has not completed a cycle for {STALE_PERIODS} schedule periods",
        f"Monitor {ON_MONITOR} has had no successful cycle for more than {STALE_PERIODS} "
        "times its schedule period (or none since the daemon started). Its drift and quality "
        "readings are out of date.",
        held_by=KEY,
    ),
    Alert(
        "DriftwardenMonitorFailing",
        "driftwarden:monitor_failing:bool == 1",
        "warning",
        f"Monitor {ON_MONITOR} cycles are failing",
        f"The latest recorded cycle of monitor {ON_MONITOR} ended in error; "
        "`driftwarden runs --monitor` shows the error.",
        for_="5m",
        held_by=KEY,
    ),
    Alert(
        "DriftwardenHookDeliveriesFailing",
        f"sum by ({KEY}, hook) (\n  increase("
        + series("driftwarden_hook_deliveries_total", 'outcome="failed"')
        + "[15m])\n) > 0",
        "warning",
        f"Hook {{{{ $labels.hook }}}} of monitor {ON_MONITOR} is failing",
        f"Hook {{{{ $labels.hook }}}} of monitor {ON_MONITOR} gave up on an event in the "
        "last 15 minutes after exhausting its retries; that event was not delivered.",
        held_by=f"{KEY}, hook",
        comment="The counter starts at 0 for every hook a monitor's rules name, so the first "
        "failure is an increase.",
    ),
    Alert(
        "DriftwardenStoreDown",
        f"max by ({TARGET}) ({series('driftwarden_store_up')}) == 0",
        "critical",
        "The store of driftwarden {{ $labels.instance }} cannot be read or written",
        "Driftwarden {{ $labels.instance }} cannot use its store: scrapes serve no drift or "
        "quality, and cycles cannot be recorded. Every monitor of this daemon is blind; its "
        "open pages hold until the store is back.",
        for_="2m",
        held_by=TARGET,
        dashboard=OVERVIEW_DASHBOARD,
    ),
    Alert(
        "DriftwardenUnrecordedFailures",
        f"sum by ({KEY}) (increase({series('driftwarden_unrecorded_failures_total')}[15m])) > 0",
        "critical",
        f"Failed cycles of monitor {ON_MONITOR} could not be recorded",
        f"Monitor {ON_MONITOR} had cycles fail in the last 15 minutes that the store could "
        "not record: they are missing from `driftwarden runs`, and its status on the "
        "dashboards is older than it looks.",
        for_="5m",
        held_by=KEY,
        comment="`for: 5m`, longer than DriftwardenStoreDown's 2m: when the store is down, "
        "StoreDown fires first and inhibits this one; a 15-minute window, not an hour, so one "
        "failure does not page for an hour.",
    ),
    Alert(
        "DriftwardenSchedulerMissedRuns",
        f"max by ({KEY}) (\n"
        f"  sum by (instance, {KEY}) (\n    increase("
        + series("driftwarden_scheduler_events_total", 'event=~"missed|max_instances"')
        + f"[{MISSED_WINDOW}])\n  ) > 0\n"
        f"    and on (instance, {DAEMON})\n"
        f"  (time() - {series('process_start_time_seconds')})"
        f" > {STARTUP_GRACE_S + 900}\n)",
        "warning",
        f"The scheduler skipped wake-ups of monitor {ON_MONITOR}",
        f"Monitor {ON_MONITOR} missed a scheduled wake-up in the last {MISSED_WINDOW} (the "
        "daemon was busy, or a cycle was still running at the next one); its windows are "
        "behind.",
        for_="0m",
        held_by=KEY,
        comment=f"Only once the daemon has run {STARTUP_GRACE_S // 60} minutes past the "
        f"{MISSED_WINDOW} window: the wake-ups missed while the model loads at start are "
        "expected.",
    ),
    Alert(
        "DriftwardenDown",
        f"{series('up')} == 0",
        "critical",
        "Driftwarden daemon {{ $labels.instance }} is not answering scrapes",
        "Prometheus could not scrape {{ $labels.instance }} for 2 minutes. No monitor of "
        "this daemon is being watched. Its open alerts hold until it is back: "
        '{{ range printf "ALERTS{alertstate=\\"firing\\", job=%q, monitor!=\\"\\"}" '
        "$labels.job | query }}{{ .Labels.alertname }} ({{ .Labels.monitor }}) "
        "{{ else }}none{{ end }}.",
        for_="2m",
        dashboard=OVERVIEW_DASHBOARD,
        comment="Without a scrape the monitors' series vanish; their alerts hold (see above) "
        "and this one says why.",
    ),
    Alert(
        "DriftwardenAbsent",
        f"absent({series('up')})",
        "critical",
        "Prometheus has no driftwarden target",
        "No driftwarden target has been discovered for 5 minutes: the daemon is not "
        "deployed, or the scrape configuration lost it. Nothing is watching the models.",
        for_="5m",
        dashboard=OVERVIEW_DASHBOARD,
    ),
    Alert(
        "DriftwardenNotificationsFailing",
        "sum by (namespace, job, instance, integration) (\n"
        "  increase(alertmanager_notifications_failed_total[15m])\n) > 0",
        "critical",
        "Alertmanager {{ $labels.instance }} fails to deliver {{ $labels.integration }} "
        "notifications",
        "Alertmanager {{ $labels.instance }} could not deliver notifications through "
        "{{ $labels.integration }} in the last 15 minutes: pages may not be reaching anyone.",
        for_="5m",
        dashboard=OVERVIEW_DASHBOARD,
        comment="Needs Prometheus to scrape Alertmanager (the shipped prometheus.yml does). "
        "Route it through another integration than the one failing.",
    ),
    Alert(
        "DriftwardenWatchdog",
        "vector(1)",
        "none",
        "The driftwarden alerting pipeline is alive",
        "Always firing. Route it to a dead man's switch that alerts when it stops arriving: "
        "then Prometheus, its rules or Alertmanager are down. It arrives every 1 to 2 minutes "
        "(repeat_interval 1m plus the group_interval tick): set the switch's timeout to 5 "
        "minutes.",
        for_="0m",
        dashboard=OVERVIEW_DASHBOARD,
    ),
)


def alert_groups(
    runbook_base: str = RUNBOOK_BASE,
    *,
    selector: str = SELECTOR,
    grafana_base: str = GRAFANA_BASE,
) -> list[dict[str, Any]]:
    rules = [
        rule.to_dict(runbook_base, selector=selector, grafana_base=grafana_base) for rule in ALERTS
    ]
    return [{"name": "driftwarden.alerts", "rules": rules}]
