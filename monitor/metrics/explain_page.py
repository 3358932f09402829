"""The "What changed" section of `driftwarden report`: a run's stored explanation as HTML
(rows least like the other side, over- and under-represented terms, descriptors that moved)."""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """
<style>
  .driftwarden-changed { font-family: system-ui, sans-serif; margin: 8px 24px 16px; }
  .driftwarden-changed h2 { font-size: 18px; margin: 12px 0 6px; }
  .driftwarden-changed h3 { font-size: 14px; margin: 10px 0 4px; color: #52606d; }
  .driftwarden-changed ol { margin: 0 0 6px 20px; padding: 0; }
  .driftwarden-changed td, .driftwarden-changed th { padding: 2px 12px 2px 0; text-align: left; }
</style>
"""


def _rows(title: str, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    items = "".join(f"<li>{escape(str(row['text']))}</li>" for row in rows)
    return f"<h3>{escape(title)}</h3><ol>{items}</ol>"


def _terms(title: str, terms: list[dict[str, Any]]) -> str:
    if not terms:
        return ""
    items = ", ".join(f"{escape(str(t['term']))} (z {t['z']:.1f})" for t in terms)
    return f"<h3>{escape(title)}</h3><p>{items}</p>"


def explanation_html(explanation: dict[str, Any] | None) -> str:
    """The section for a run's `explanation` (`runs --json`); empty where it has none."""
    if not explanation:
        return ""
    descriptors = "".join(
        f"<tr><th>{escape(str(d['name']))}</th><td>{d['reference_mean']:.3g}</td>"
        f"<td>{d['window_mean']:.3g}</td><td>{d['effect_size']:+.2f}</td>"
        f"<td>{'moved' if d['moved'] else ''}</td></tr>"
        for d in explanation.get("descriptors", [])
    )
    table = (
        "<h3>Descriptors (Cohen's d, window minus reference)</h3><table>"
        "<tr><th></th><th>reference mean</th><th>window mean</th><th>d</th><th></th></tr>"
        f"{descriptors}</table>"
        if descriptors
        else ""
    )
    return (
        f"{_STYLE}<section class='driftwarden-changed' id='driftwarden-what-changed'>"
        "<h2>What changed</h2>"
        + _rows("Window rows least like the reference", explanation.get("window_rows", []))
        + _rows("Reference rows least like the window", explanation.get("reference_rows", []))
        + _terms("Terms over-represented in the window", explanation.get("window_terms", []))
        + _terms("Terms under-represented in the window", explanation.get("reference_terms", []))
        + table
        + "</section>"
    )
