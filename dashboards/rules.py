"""Driftwarden's Prometheus rules as data: the recording rules that define each status once,
and the alerts that read them. `dashboards.build` renders them to prometheus/rules.yml and to
the monitoring mixin, and the dashboards query the same recorded series.

Every alert carries `severity` (critical pages, warning tickets, none for the Watchdog) and
the `monitor` label where it is about one monitor; Alertmanager groups and inhibits by them.
Thresholds are never written here: they are the daemon's, exported as series from its config
(`driftwarden_alert_rule_threshold`, `driftwarden_drifted_share_threshold`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Where the runbooks live: one section per alert in dashboards/README.md. Rebuild with
# `python -m dashboards.build --runbook-base URL` (or set the mixin's `_config.runbookBase`)
# to point at your own copy.
RUNBOOK_BASE = "https://github.com/driftwarden/driftwarden/blob/main/dashboards/README.md"
JOB = "driftwarden"
KEY = "job, instance, monitor"  # what identifies one monitor of one daemon

# Rule metrics (`alerts[].metric` in the config) that are about drift, and those that are a
# quality measured on labels: the recording rules below pick the daemon's rules by them.
DRIFT_RULE_METRICS = ".*drift.*"
QUALITY_METRICS = "accuracy|f1|precision|recall|roc_auc"

# The values of driftwarden:monitor_status, worst last (the table sorts by it).
STATUS_OK, STATUS_DRIFTING, STATUS_FAILING, STATUS_STALE, STATUS_STORE_DOWN = range(5)
STALE_PERIODS = 3  # a monitor is stale after this many schedule periods without a success
SUCCESS_MEMORY = "6h"  # how long a last success is remembered through gaps in the scrape


@dataclass(frozen=True)
class Record:
    record: str
    expr: str
    comment: str  # why the rule is written so; shown in rules.yml above it

    def to_dict(self) -> dict[str, Any]:
        return {"record": self.record, "expr": self.expr}


@dataclass(frozen=True)
class Alert:
    alert: str
    expr: str
    severity: str
    summary: str
    description: str
    for_: str = "1m"
    keep_firing_for: str | None = None
    comment: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    def to_dict(self, runbook_base: str = RUNBOOK_BASE) -> dict[str, Any]:
        rule: dict[str, Any] = {"alert": self.alert, "expr": self.expr, "for": self.for_}
        if self.keep_firing_for is not None:
            rule["keep_firing_for"] = self.keep_firing_for
        rule["labels"] = {"severity": self.severity, **self.labels}
        rule["annotations"] = {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": f"{runbook_base}#{self.alert.lower()}",
        }
        return rule


def _every_monitor(expr: str) -> str:
    """`expr`, or 0 for each configured monitor it has no value for (the schedule series comes
    from the config, so it exists for every configured monitor, even while the store is down)."""
    return f"{expr}\nor on ({KEY})\n0 * driftwarden_schedule_interval_seconds"


RECORDS = (
    Record(
        "driftwarden:monitor_success_age_seconds",
        "time() - (\n  last_over_time(driftwarden_last_success_timestamp_seconds"
        f"[{SUCCESS_MEMORY}]) > 0\n)\nor on ({KEY})\n"
        "(\n  (time() - process_start_time_seconds)\n"
        "    + on (job, instance) group_right ()\n"
        "  (0 * driftwarden_schedule_interval_seconds)\n)",
        "Seconds since the monitor's last successful cycle; for one that has not succeeded "
        "since the daemon started, the daemon's uptime. The last success seen in the past "
        f"{SUCCESS_MEMORY} counts, so a store outage (which empties the scrape) does not make "
        "every monitor stale at once: the store alert says what is wrong.",
    ),
    Record(
        "driftwarden:monitor_stale:bool",
        f"driftwarden:monitor_success_age_seconds\n  > bool on ({KEY})\n"
        f"{STALE_PERIODS} * driftwarden_schedule_interval_seconds",
        f"1 when the monitor has had no successful cycle for {STALE_PERIODS} of its own "
        "schedule periods (never-succeeded monitors included), else 0.",
    ),
    Record(
        "driftwarden:monitor_failing:bool",
        _every_monitor(
            f"driftwarden_last_failure_timestamp_seconds\n  > bool on ({KEY})\n"
            f"(driftwarden_last_success_timestamp_seconds or on ({KEY}) "
            "0 * driftwarden_last_failure_timestamp_seconds)"
        ),
        "1 while the monitor's latest recorded cycle failed (its last failure is newer than "
        "its last success), else 0. Read from the latest run, not a rate over a fixed range, "
        "so it holds steady at any schedule: an hourly monitor is failing for the whole hour.",
    ),
    Record(
        "driftwarden:monitor_drifting:bool",
        _every_monitor(
            f"max by ({KEY}) (\n  driftwarden_alert_firing\n"
            f"    * on ({KEY}, rule) group_left ()\n"
            f"  group by ({KEY}, rule) (\n"
            f'    driftwarden_alert_rule_threshold{{metric=~"{DRIFT_RULE_METRICS}"}}\n  )\n)'
        ),
        "1 while one of the monitor's own drift rules fires, with its `for` windows, "
        "`resolve_after` and cooldown, else 0: a single drifted window does not make it 1.",
    ),
    Record(
        "driftwarden:quality_floor",
        f"max by ({KEY}, metric) (\n"
        f'  driftwarden_alert_rule_threshold{{direction="below", metric=~"{QUALITY_METRICS}"}}\n)',
        "The configured quality floor per metric: the highest `below` bound of the monitor's "
        "own rules on that metric. Monitors without such a rule have none.",
    ),
    Record(
        "driftwarden:estimated_quality_floor",
        f"max by ({KEY}, metric) (\n  label_replace(\n"
        "    driftwarden_alert_rule_threshold"
        f'{{direction="below", metric=~"estimated_({QUALITY_METRICS})"}},\n'
        '    "metric", "$1", "metric", "estimated_(.*)"\n  )\n)',
        "The floor of the label-free estimate, from rules on `estimated_accuracy` and the "
        "like, labelled with the metric it estimates.",
    ),
    Record(
        "driftwarden:quality_margin",
        f"driftwarden_model_quality\n  - on ({KEY}, metric)\ndriftwarden:quality_floor",
        "Measured quality minus its floor: below 0 is what DriftwardenQualityBelowThreshold "
        "alerts on and what the dashboards colour red.",
    ),
    Record(
        "driftwarden:monitor_status",
        f"max by ({KEY}) (\n"
        f'  label_replace(driftwarden:monitor_drifting:bool * {STATUS_DRIFTING}, "reason", '
        '"drifting", "", "")\n'
        f'  or label_replace(driftwarden:monitor_failing:bool * {STATUS_FAILING}, "reason", '
        '"failing", "", "")\n'
        f'  or label_replace(driftwarden:monitor_stale:bool * {STATUS_STALE}, "reason", '
        '"stale", "", "")\n'
        f'  or label_replace((driftwarden_store_up == bool 0) * {STATUS_STORE_DOWN}, "reason", '
        '"store_down", "", "")\n)',
        f"One status per configured monitor, the worst that holds: {STATUS_OK} ok, "
        f"{STATUS_DRIFTING} drifting, {STATUS_FAILING} failing, {STATUS_STALE} stale, "
        f"{STATUS_STORE_DOWN} store down. The overview table shows this, and the alerts "
        "read its parts.",
    ),
)

_ON_MONITOR = "{{ $labels.monitor }}"

ALERTS = (
    Alert(
        "DriftwardenDatasetDrift",
        "driftwarden:monitor_drifting:bool == 1",
        "warning",
        f"Dataset drift on monitor {_ON_MONITOR}",
        f"A drift rule of monitor {_ON_MONITOR} is firing: its windows drifted from the "
        "reference for as many windows in a row as the rule's `for` asks. The latest window's "
        "drift family (Holm at drift.alpha) gave the p-value "
        '{{ with printf "driftwarden_dataset_drift_p_value{monitor=%q}" $labels.monitor '
        '| query }}{{ . | first | value | printf "%.4f" }}{{ else }}(unknown){{ end }}.',
        keep_firing_for="15m",
        comment="Pages through the daemon's own rule state, so a single noisy window never "
        "pages and a flapping flag is smoothed by the rule's `for` and `resolve_after`; "
        "`keep_firing_for` rides out a scrape gap or a restart without a resolve and re-fire.",
    ),
    Alert(
        "DriftwardenQualityBelowThreshold",
        f"driftwarden_model_quality\n  < on ({KEY}, metric) group_left ()\n"
        "driftwarden:quality_floor",
        "critical",
        f"{{{{ $labels.metric }}}} of monitor {_ON_MONITOR} is below its floor",
        f"Measured {{{{ $labels.metric }}}} of monitor {_ON_MONITOR} on its latest labelled "
        "window (with late labels: its latest final window) is "
        "{{ $value | humanizePercentage }}, below the floor of the monitor's own rule.",
        keep_firing_for="10m",
        comment="The floor is the daemon's (`alerts[].below` on a quality metric), exported as "
        "driftwarden_alert_rule_threshold; monitors without such a rule have no floor here.",
    ),
    Alert(
        "DriftwardenEstimatedQualityBelowThreshold",
        f"driftwarden_estimated_model_quality\n  < on ({KEY}, metric) group_left ()\n"
        "driftwarden:estimated_quality_floor",
        "warning",
        f"Estimated {{{{ $labels.metric }}}} of monitor {_ON_MONITOR} is below its floor",
        f"The label-free estimate of {{{{ $labels.metric }}}} for monitor {_ON_MONITOR} is "
        "{{ $value | humanizePercentage }} on its latest window, below the floor of the "
        "monitor's own rule on the estimate.",
        keep_firing_for="10m",
        comment="An early warning while labels are late, never a page.",
    ),
    Alert(
        "DriftwardenLabelsStalled",
        f"(driftwarden_open_quality_windows > 0)\n  unless on ({KEY})\n(\n"
        f"  sum by ({KEY}) (\n"
        '    increase(driftwarden_labels_total{outcome=~"joined|rejoined|after_final"}[6h])\n'
        "  ) > 0\n)",
        "warning",
        f"No labels joined for monitor {_ON_MONITOR} in 6 hours",
        f'{{{{ $value | printf "%.0f" }}}} window(s) of monitor {_ON_MONITOR} wait for late '
        "labels, and none has been joined for 6 hours: its measured quality is going stale.",
        for_="30m",
    ),
    Alert(
        "DriftwardenMonitorStale",
        "driftwarden:monitor_stale:bool == 1",
        "critical",
        f"Monitor {_ON_MONITOR} has not completed a cycle for {STALE_PERIODS} schedule periods",
        f"Monitor {_ON_MONITOR} on {{{{ $labels.instance }}}} has had no successful cycle for "
        f"more than {STALE_PERIODS} times its schedule period (or none since the daemon "
        "started). Its drift and quality readings are out of date.",
    ),
    Alert(
        "DriftwardenMonitorFailing",
        "driftwarden:monitor_failing:bool == 1",
        "warning",
        f"Monitor {_ON_MONITOR} cycles are failing",
        f"The latest recorded cycle of monitor {_ON_MONITOR} ended in error; "
        "`driftwarden runs --monitor` shows the error.",
        for_="5m",
    ),
    Alert(
        "DriftwardenHookDeliveriesFailing",
        f"sum by ({KEY}, hook) (\n"
        '  increase(driftwarden_hook_deliveries_total{outcome="failed"}[15m])\n) > 0',
        "warning",
        f"Hook {{{{ $labels.hook }}}} of monitor {_ON_MONITOR} is failing",
        f"Hook {{{{ $labels.hook }}}} of monitor {_ON_MONITOR} gave up on an event in the "
        "last 15 minutes after exhausting its retries; that event was not delivered.",
        comment="The counter starts at 0 for every hook a monitor's rules name, so the first "
        "failure is an increase.",
    ),
    Alert(
        "DriftwardenStoreDown",
        "max by (job, instance) (driftwarden_store_up) == 0",
        "critical",
        "The store of driftwarden {{ $labels.instance }} cannot be read or written",
        "Driftwarden {{ $labels.instance }} cannot use its store: scrapes serve no drift or "
        "quality, and cycles cannot be recorded. Every monitor of this daemon is blind.",
        for_="2m",
    ),
    Alert(
        "DriftwardenUnrecordedFailures",
        f"sum by ({KEY}) (increase(driftwarden_unrecorded_failures_total[1h])) > 0",
        "critical",
        f"Failed cycles of monitor {_ON_MONITOR} could not be recorded",
        f"Monitor {_ON_MONITOR} had cycles fail in the last hour that the store could not "
        "record: they are missing from `driftwarden runs`, and its status on the dashboards "
        "is older than it looks.",
        for_="0m",
    ),
    Alert(
        "DriftwardenSchedulerMissedRuns",
        f"sum by ({KEY}) (\n"
        '  increase(driftwarden_scheduler_events_total{event=~"missed|max_instances"}[1h])\n'
        ") > 0",
        "warning",
        f"The scheduler skipped wake-ups of monitor {_ON_MONITOR}",
        f"Monitor {_ON_MONITOR} missed a scheduled wake-up in the last hour (the daemon was "
        "busy, or a cycle was still running at the next one); its windows are behind.",
        for_="0m",
    ),
    Alert(
        "DriftwardenDown",
        f'up{{job="{JOB}"}} == 0',
        "critical",
        "Driftwarden daemon {{ $labels.instance }} is not answering scrapes",
        "Prometheus could not scrape {{ $labels.instance }} for 2 minutes. No monitor of "
        "this daemon is being watched, and its other alerts cannot fire.",
        for_="2m",
        comment="Without a scrape every other alert goes silent (their series vanish).",
    ),
    Alert(
        "DriftwardenAbsent",
        f'absent(up{{job="{JOB}"}})',
        "critical",
        f"Prometheus has no driftwarden target (job {JOB})",
        f"No target of job {JOB} has been discovered for 5 minutes: the daemon is not "
        "deployed, or the scrape configuration lost it. Nothing is watching the models.",
        for_="5m",
    ),
    Alert(
        "DriftwardenWatchdog",
        "vector(1)",
        "none",
        "The driftwarden alerting pipeline is alive",
        "Always firing. Route it to a dead man's switch that alerts when it stops arriving: "
        "then Prometheus, its rules or Alertmanager are down.",
        for_="0m",
    ),
)


def record_groups() -> list[dict[str, Any]]:
    return [{"name": "driftwarden.rules", "rules": [rule.to_dict() for rule in RECORDS]}]


def alert_groups(runbook_base: str = RUNBOOK_BASE) -> list[dict[str, Any]]:
    return [
        {"name": "driftwarden.alerts", "rules": [rule.to_dict(runbook_base) for rule in ALERTS]}
    ]
