"""The title and header `driftwarden report` puts on Evidently's HTML: which monitor, run,
window and model, and the run's key numbers, before any widget."""

from __future__ import annotations

from html import escape
from typing import Any

from monitor.metrics.explain_page import explanation_html

# Run-level metrics shown in the header, in this order, with their labels.
HEADER_METRICS = (
    ("dataset_drift", "dataset drift"),
    ("dataset_drift_p_value", "dataset drift p-value (the family's, at drift.alpha)"),
    ("drifted_share", "drifted share"),
    ("embedding_drift_score", "embedding drift score"),
    ("prediction_drift_score", "prediction drift score"),
    ("accuracy", "accuracy"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("f1", "F1"),
    ("roc_auc", "ROC AUC"),
)

# Evidently puts the reference's quality beside the window's; a head fitted on the reference
# (as `init` and `model fit-head` do) scores it in-sample, so that column reads high
REFERENCE_NOTE = (
    "Quality under \u201creference\u201d below is measured on the reference rows. A model "
    "fitted on them (as <code>init</code> and <code>model fit-head</code> fit a head) scores "
    "them in-sample, so that accuracy is above what any window can reach: compare the "
    "window's with the held-out accuracy of <code>driftwarden model versions</code>."
)

_STYLE = """
<style>
  .driftwarden-header { font-family: system-ui, sans-serif; margin: 16px 24px; color: #1f2933; }
  .driftwarden-header h1 { font-size: 22px; margin: 0 0 6px; }
  .driftwarden-header p { margin: 0 0 10px; color: #52606d; }
  .driftwarden-header table { border-collapse: collapse; }
  .driftwarden-header th, .driftwarden-header td { padding: 4px 14px 4px 0; text-align: left; }
  .driftwarden-header td { font-variant-numeric: tabular-nums; }
</style>
"""


def _moment(iso: str) -> str:
    """`2024-06-01T10:05:00.123456Z` as `2024-06-01 10:05:00 UTC`."""
    return f"{iso[:10]} {iso[11:19]} UTC"


def page_title(run: dict[str, Any]) -> str:
    return (
        f"driftwarden: {run['monitor']}, run {run['run_id']} "
        f"(window ending {_moment(run['window_end'])})"
    )


def header_html(run: dict[str, Any]) -> str:
    metrics = run.get("metrics") or {}
    cells = "".join(
        f"<tr><th>{escape(label)}</th><td data-metric='{key}'>{_value(key, metrics.get(key))}"
        "</td></tr>"
        for key, label in HEADER_METRICS
    )
    version = escape(str(run.get("model_version") or "-"))
    facts = (
        f"window {_moment(run['window_start'])} to {_moment(run['window_end'])}; "
        f"{run['rows']} rows scored, {run['quarantined']} quarantined; "
        f"model version {version}; status {escape(run['status'])}"
    )
    return (
        f"{_STYLE}<header class='driftwarden-header' id='driftwarden-header'>"
        f"<h1>Monitor {escape(run['monitor'])}, run {run['run_id']}</h1>"
        f"<p>{facts}</p><table>{cells}</table><p class='driftwarden-note'>{REFERENCE_NOTE}</p>"
        "</header>"
    )


def _value(key: str, value: float | None) -> str:
    if value is None:
        return "-"
    # a p-value matters most when small: two significant digits, not three decimals
    return f"{value:.2g}" if key.endswith("_p_value") else f"{value:.3f}"


def report_page(page: str, run: dict[str, Any]) -> str:
    """`page` (a whole HTML document) with a `<title>` and the run's header added."""
    head = page.index("<head>") + len("<head>")
    page = f"{page[:head]}\n<title>{escape(page_title(run))}</title>{page[head:]}"
    body = page.index("<body", page.index("</head>"))
    body = page.index(">", body) + 1
    return page[:body] + header_html(run) + explanation_html(run.get("explanation")) + page[body:]
