"""The contracts other tools read: Prometheus series, the hook payload, exit codes."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime

from monitor import errors
from monitor.alerts.evaluate import Transition, event_payload
from monitor.exporter import series


def series_specs() -> list[series.SeriesSpec]:
    """The exporter's series, in exposition order."""
    return list(series._SPECS)


def series_page() -> str:
    lines = [
        "# Prometheus series",
        "",
        "Every series `/metrics` serves, from the exporter's registry. Each carries the label",
        "`monitor` before the labels listed. The [metrics guide](../metrics.md) says how to",
        "read them.",
        "",
        "| series | type | labels | help |",
        "|---|---|---|---|",
    ]
    for spec in series_specs():
        labels = ", ".join(f"`{label}`" for label in ("monitor", *spec.labels))
        lines.append(f"| `{series.PREFIX}{spec.name}` | {spec.kind} | {labels} | {spec.help} |")
    return "\n".join(lines) + "\n"


def sample_payload() -> dict[str, object]:
    moment = datetime(2026, 12, 7, 10, 5, tzinfo=UTC)
    transition = Transition(
        monitor="reviews",
        rule="accuracy-drop",
        state="firing",
        metric="accuracy",
        value=0.71,
        threshold=0.8,
        run_id=42,
        window_start=datetime(2026, 12, 7, 10, 0, tzinfo=UTC),
        window_end=moment,
        fired_at=moment,
        episode=1,
    )
    return {**event_payload(transition), "delivery_id": "5f0c8e1e-3c1a-4e57-9d52-0d4b8f0b8f51"}


WEBHOOK_INTRO = """# Hook payload

A `webhook` hook POSTs this JSON object; a `command` hook gets it on stdin and a `python`
hook as its argument. `event` is `alert_firing` or `alert_resolved`. `delivery_id` (a
UUID) is the same on every retry of one delivery: deduplicate on it. An event of a rule on
late quality also carries `labelled_rows` and `label_coverage`.
"""


def webhook_page() -> str:
    payload = json.dumps(sample_payload(), indent=2)
    keys = "\n".join(f"- `{key}`" for key in sample_payload())
    return f"{WEBHOOK_INTRO}\n```json\n{payload}\n```\n\nIts keys:\n\n{keys}\n"


def error_classes() -> list[type[errors.DriftwardenError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.DriftwardenError)
    ]


def exit_codes_page() -> str:
    lines = [
        "# Exit codes",
        "",
        "Every command exits 0 when it did what it was asked, and otherwise prints one line",
        "(`--debug` adds the traceback). `status` exits 1 when a monitor is unhealthy; `replay`",
        "exits 1 when its scenario's `expect:` block fails. Ctrl-C exits 130.",
        "",
        "| exit code | error | when |",
        "|---|---|---|",
    ]
    for cls in sorted(error_classes(), key=lambda c: (c.exit_code, c.__name__)):
        doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        lines.append(f"| {cls.exit_code} | `{cls.__name__}` | {doc} |")
    lines.append(
        "| 2 | (the command line) | an unknown command or option, a missing or bad value |"
    )
    return "\n".join(lines) + "\n"
