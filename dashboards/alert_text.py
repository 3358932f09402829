"""Pieces of the alerts' descriptions (Go templates Prometheus renders when an alert fires):
the monitor, the hold sentence, a series' newest value, the latest window's top terms."""

from __future__ import annotations

ON_MONITOR = "{{ $labels.monitor }}"
HELD = (
    " While the daemon is out of sight this alert holds; it resolves once the daemon is "
    "back and its own state says so."
)


# The latest window's explanation: its terms most over-represented against the reference,
# strongest first (`rank` is 1 to 5, one digit, so sorting by it as text is by rank); said
# only where the monitor's latest window has them (text monitors whose window was explained).
WINDOW_TERMS = (
    "{{ with printf `max by (rank, term) (driftwarden_window_term_zscore{monitor=%q,"
    'side="window"})` $labels.monitor | query | sortByLabel "rank" }} Terms most '
    "over-represented in that window (log-odds z): {{ range $i, $term := . }}{{ if $i }}, "
    '{{ end }}{{ $term.Labels.term }} ({{ printf "%.1f" $term.Value }}){{ end }}.{{ end }}'
)


def latest(series_name: str, matchers: str, fmt: str) -> str:
    """A template that prints the newest value of a series for the alert's monitor."""
    return (
        f'{{{{ with printf "max({series_name}{{monitor=%q{matchers}}})" $labels.monitor '
        f"| query }}}}{{{{ . | first | value | {fmt} }}}}{{{{ else }}}}(unknown){{{{ end }}}}"
    )
