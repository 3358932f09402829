"""Driftwarden's recording rules: each status defined once, keyed by monitor, not by pod.

Every series is aggregated by `namespace, job, monitor` (KEY), never by `instance`: a daemon
that moves to another pod (a new `instance`) keeps its monitors' statuses, and the newest
instance's values win (timestamps by `max`). Raw series are selected through `$SEL`, the
one selector the build and the mixin's `_config.selector` set (`job="driftwarden"`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SELECTOR = 'job="driftwarden"'
KEY = "namespace, job, monitor"  # one monitor of one deployment, whichever pod serves it
DAEMON = "namespace, job"  # one deployment of the daemon
TARGET = "namespace, job, instance"  # one scraped pod or process

# Rule metrics (`alerts[].metric` in the config) that are about drift, and those that are a
# quality measured on labels: the recording rules below pick the daemon's rules by them.
DRIFT_RULE_METRICS = ".*drift.*"
QUALITY_METRICS = "accuracy|f1|precision|recall|roc_auc"

# The values of driftwarden:monitor_status, worst last (the table sorts by it).
(
    STATUS_OK,
    STATUS_DRIFTING,
    STATUS_QUALITY_LOW,
    STATUS_FAILING,
    STATUS_STALE,
    STATUS_STORE_DOWN,
    STATUS_NOT_SEEN,
) = range(7)
STATUS_NAMES = {
    STATUS_OK: "ok",
    STATUS_DRIFTING: "drifting",
    STATUS_QUALITY_LOW: "quality below floor",
    STATUS_FAILING: "failing",
    STATUS_STALE: "stale",
    STATUS_STORE_DOWN: "store down",
    STATUS_NOT_SEEN: "daemon not seen",
}
STALE_PERIODS = 3  # a monitor is stale after this many schedule periods without a success
SUCCESS_MEMORY = "6h"  # how long a last success (and a monitor) is remembered through gaps


def series(name: str, matchers: str = "") -> str:
    """`name{$SEL, matchers}`: a raw series of the daemon, through the one selector."""
    return f"{name}{{$SEL{', ' + matchers if matchers else ''}}}"


@dataclass(frozen=True)
class Record:
    record: str
    expr: str  # with `$SEL` where the selector goes
    comment: str  # why the rule is written so; shown in rules.yml above it
    labels: tuple[str, ...] = ()  # what it keeps besides namespace, job, monitor

    def to_dict(self, selector: str = SELECTOR) -> dict[str, Any]:
        return {"record": self.record, "expr": self.expr.replace("$SEL", selector)}


def _every_monitor(expr: str) -> str:
    """`expr`, or 0 for each monitor a daemon serves now (the schedule series comes from the
    config, so it exists for every configured monitor, even while the store is down)."""
    return f"{expr}\nor on ({KEY})\n0 * {SEEN}"


def _rule_firing(matchers: str, keep: str) -> str:
    """1 per (KEY, `keep`) while one of the daemon's own rules whose threshold series matches
    `matchers` fires (its `for`, `resolve_after` and cooldown applied by the daemon)."""
    return (
        f"max by ({KEY}{', ' + keep if keep else ''}) (\n"
        f"  {series('driftwarden_alert_firing')}\n"
        f"    * on (instance, {KEY}, rule) group_left ({keep})\n"
        f"  group by (instance, {KEY}, rule{', ' + keep if keep else ''}) (\n"
        f"    {series('driftwarden_alert_rule_threshold', matchers)}\n  )\n)"
    )


SEEN = "driftwarden:monitor_schedule_seconds"

RECORDS = (
    Record(
        SEEN,
        f"max by ({KEY}) ({series('driftwarden_schedule_interval_seconds')})",
        "The schedule period of every monitor a running daemon serves now (from its config, "
        "so present from start and through a store outage): the list of monitors in sight.",
    ),
    Record(
        "driftwarden:monitor_success_age_seconds",
        f"time() - max by ({KEY}) (\n  last_over_time("
        f"{series('driftwarden_last_success_timestamp_seconds')}[{SUCCESS_MEMORY}]) > 0\n)\n"
        f"or on ({KEY})\n"
        f"(\n  max by ({KEY}) (\n"
        f"    (time() - {series('process_start_time_seconds')})\n"
        f"      + on (instance, {DAEMON}) group_right ()\n"
        f"    (0 * {series('driftwarden_schedule_interval_seconds')})\n  )\n)",
        "Seconds since the monitor's newest successful cycle, whichever pod ran it (a moved "
        "pod's old instance never makes it look older); for one that has not succeeded "
        f"in {SUCCESS_MEMORY}, the daemon's uptime. It keeps growing while the daemon is gone.",
    ),
    Record(
        "driftwarden:monitor_stale:bool",
        f"driftwarden:monitor_success_age_seconds\n  > bool on ({KEY})\n{STALE_PERIODS} * {SEEN}",
        f"1 when the monitor has had no successful cycle for {STALE_PERIODS} of its own "
        "schedule periods (never-succeeded monitors included), else 0.",
    ),
    Record(
        "driftwarden:monitor_failing:bool",
        _every_monitor(
            f"max by ({KEY}) ({series('driftwarden_last_failure_timestamp_seconds')})\n"
            f"  > bool on ({KEY})\n"
            f"(\n  max by ({KEY}) ({series('driftwarden_last_success_timestamp_seconds')})\n"
            f"  or on ({KEY})\n"
            f"  0 * max by ({KEY}) ({series('driftwarden_last_failure_timestamp_seconds')})\n)"
        ),
        "1 while the monitor's latest recorded cycle failed (its last failure is newer than "
        "its last success), else 0. Read from the latest run, not a rate over a fixed range, "
        "so it holds steady at any schedule: an hourly monitor is failing for the whole hour.",
    ),
    Record(
        "driftwarden:monitor_drifting:bool",
        _every_monitor(_rule_firing(f'metric=~"{DRIFT_RULE_METRICS}"', "")),
        "1 while one of the monitor's own drift rules fires, with its `for` windows, "
        "`resolve_after` and cooldown, else 0: a single drifted window does not make it 1.",
    ),
    Record(
        "driftwarden:monitor_quality_low:bool",
        _rule_firing(f'direction="below", metric=~"{QUALITY_METRICS}"', "metric"),
        "1 per quality metric while one of the monitor's own rules with a floor on it fires "
        "(its `for` and `resolve_after` applied by the daemon), else 0; one window under the "
        "floor is a dashboard signal (driftwarden:quality_margin), not a page.",
        ("metric",),
    ),
    Record(
        "driftwarden:quality_floor",
        f"max by ({KEY}, metric) (\n  "
        + series(
            "driftwarden_alert_rule_threshold", f'direction="below", metric=~"{QUALITY_METRICS}"'
        )
        + "\n)",
        "The configured quality floor per metric: the highest `below` bound of the monitor's "
        "own rules on that metric. Monitors without such a rule have none.",
        ("metric",),
    ),
    Record(
        "driftwarden:estimated_quality_floor",
        f"max by ({KEY}, metric) (\n  label_replace(\n    "
        + series(
            "driftwarden_alert_rule_threshold",
            f'direction="below", metric=~"estimated_({QUALITY_METRICS})"',
        )
        + ',\n    "metric", "$1", "metric", "estimated_(.*)"\n  )\n)',
        "The floor of the label-free estimate, from rules on `estimated_accuracy` and the "
        "like, labelled with the metric it estimates.",
        ("metric",),
    ),
    Record(
        "driftwarden:quality_margin",
        f"max by ({KEY}, metric) ({series('driftwarden_model_quality')})\n"
        f"  - on ({KEY}, metric)\ndriftwarden:quality_floor",
        "Measured quality minus its floor on the latest labelled window: below 0 is drawn red "
        "on the dashboards; the page waits for the monitor's own rule.",
        ("metric",),
    ),
    Record(
        "driftwarden:monitor_status",
        f"max by ({KEY}) (\n"
        f'  label_replace(driftwarden:monitor_drifting:bool * {STATUS_DRIFTING}, "reason", '
        '"drifting", "", "")\n'
        f"  or label_replace(max by ({KEY}) (driftwarden:monitor_quality_low:bool) "
        f'* {STATUS_QUALITY_LOW}, "reason", "quality", "", "")\n'
        f'  or label_replace(driftwarden:monitor_failing:bool * {STATUS_FAILING}, "reason", '
        '"failing", "", "")\n'
        f'  or label_replace(driftwarden:monitor_stale:bool * {STATUS_STALE}, "reason", '
        '"stale", "", "")\n'
        f"  or label_replace((max by ({KEY}) ({series('driftwarden_store_up')}) == bool 0) "
        f'* {STATUS_STORE_DOWN}, "reason", "store_down", "", "")\n)\n'
        f"or on ({KEY})\n"
        f"(\n  {STATUS_NOT_SEEN} + 0 * max by ({KEY}) (\n"
        f"    last_over_time({series('driftwarden_schedule_interval_seconds')}"
        f"[{SUCCESS_MEMORY}])\n  )\n)",
        f"One status per monitor, the worst that holds: {STATUS_OK} ok, {STATUS_DRIFTING} "
        f"drifting, {STATUS_QUALITY_LOW} quality below its floor (the monitor's rule fires), "
        f"{STATUS_FAILING} failing, {STATUS_STALE} stale, {STATUS_STORE_DOWN} store down, "
        f"{STATUS_NOT_SEEN} daemon not seen (no daemon serves the monitor now; remembered "
        f"{SUCCESS_MEMORY}). Never a stale ok: without a scrape the status is {STATUS_NOT_SEEN}.",
    ),
)


def record_groups(selector: str = SELECTOR) -> list[dict[str, Any]]:
    return [{"name": "driftwarden.rules", "rules": [rule.to_dict(selector) for rule in RECORDS]}]
