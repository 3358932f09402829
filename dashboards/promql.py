"""Reads the PromQL out of generated dashboards and rule files, for the checks in tests/.

A small lexical reader, not a parser: enough to list the series, label names and label
values an expression uses, so a renamed or misspelt series fails a test instead of leaving
a panel empty in production.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DASHBOARD_DIR = Path(__file__).resolve().parent / "grafana" / "dashboards"
RULES_FILE = Path(__file__).resolve().parent / "prometheus" / "rules.yml"

# Identifiers that are PromQL syntax, not series. Functions are recognised by the `(` that
# follows them; aggregations also take `by (...)` first, hence their own list.
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
    | {"group_left", "group_right", "inf", "nan", "atan2", "start", "end"}
)
_AGGREGATIONS = frozenset(
    {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values"}
    | {"bottomk", "topk", "quantile", "limitk", "limit_ratio"}
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_SELECTOR = re.compile(r"([A-Za-z_:][\w:]*)?\s*\{([^}]*)\}")
_MATCHER = re.compile(r'([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_TOKEN = re.compile(r"\d[\w.]*|[A-Za-z_:][\w:]*")
_LABEL_VALUES = re.compile(
    r"^\s*label_values\(\s*([A-Za-z_:][\w:]*)?\s*(?:\{[^}]*\})?\s*(?:,\s*(\w+))?\s*\)"
)


@dataclass(frozen=True)
class Query:
    """One PromQL expression and where it sits, for readable failure messages."""

    source: str  # e.g. "overview.json: panel 'Monitors' target B"
    expr: str


@dataclass(frozen=True)
class Matcher:
    series: str | None  # None for a bare `{...}` selector
    label: str
    op: str
    value: str


def load_dashboards(directory: Path = DASHBOARD_DIR) -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


def _panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # a collapsed row keeps its panels inside


def panel_queries(name: str, board: dict[str, Any]) -> list[Query]:
    return [
        Query(f"{name}: panel {panel.get('title')!r} target {target.get('refId')}", target["expr"])
        for panel in _panels(board)
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def annotation_queries(name: str, board: dict[str, Any]) -> list[Query]:
    return [
        Query(f"{name}: annotation {annotation.get('name')!r}", annotation["expr"])
        for annotation in board.get("annotations", {}).get("list", [])
        if annotation.get("expr")
    ]


def variable_queries(name: str, board: dict[str, Any]) -> list[Query]:
    return [
        Query(f"{name}: variable {variable['name']!r}", variable["query"])
        for variable in board.get("templating", {}).get("list", [])
        if variable.get("type") == "query" and isinstance(variable.get("query"), str)
    ]


def rule_queries(rules: dict[str, Any]) -> list[Query]:
    return [
        Query(f"rules.yml: {rule.get('alert') or rule.get('record')}", rule["expr"])
        for group in rules.get("groups", [])
        for rule in group.get("rules", [])
    ]


def _without_strings(expr: str) -> str:
    return _STRING.sub('""', expr)


def series_names(expr: str) -> set[str]:
    """Names of the series an expression selects (`label_values(m, l)` gives `m`)."""
    label_values = _LABEL_VALUES.match(expr)
    if label_values:
        return {label_values.group(1)} if label_values.group(1) else set()
    text = _without_strings(expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = _LABEL_LIST.sub(" ", text)  # by (...), on (...), group_left (...)
    names = set()
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token[0].isdigit() or token in _KEYWORDS or token in _AGGREGATIONS:
            continue
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function call
        names.add(token)
    # A selector given only by matchers names its series with __name__.
    names.update(m.value for m in matchers(expr) if m.label == "__name__" and m.op == "=")
    return names


def matchers(expr: str) -> list[Matcher]:
    """Every `label op "value"` inside a selector, with the series it filters."""
    found = []
    for selector in _SELECTOR.finditer(expr):
        for label, op, value in _MATCHER.findall(selector.group(2)):
            found.append(Matcher(selector.group(1), label, op, value))
    return found


def grouping_labels(expr: str) -> set[str]:
    """Labels named in by/without/on/ignoring/group_left/group_right lists."""
    label_values = _LABEL_VALUES.match(expr)
    if label_values:
        return {label_values.group(2)} if label_values.group(2) else set()
    labels: set[str] = set()
    for _, label_list in _LABEL_LIST.findall(_without_strings(expr)):
        labels.update(label.strip() for label in label_list.split(",") if label.strip())
    return labels


def substitute_variables(expr: str, *, monitor: str, rate_interval: str) -> str:
    """The expression as Grafana would send it for one monitor (`$datasource` needs nothing)."""
    expr = re.sub(r"\$\{monitor(?::\w+)?\}|\$monitor\b", monitor, expr)
    # job, namespace and instance as "All": any value (or none, for namespace)
    expr = re.sub(r"\$\{?(job|namespace|instance)\}?\b", ".*", expr)
    return re.sub(r"\$\{?__(rate_interval|interval|range)\}?", rate_interval, expr)
