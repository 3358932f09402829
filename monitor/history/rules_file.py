"""Candidate rules for a backtest: a YAML file in the config's `alerts` syntax.

The file is a list of rules, or a mapping whose `rules:` (or `alerts:`) key holds one.
`hooks` are accepted and ignored (a backtest delivers nothing). Any problem is one line,
a usage error (exit code 2), naming the file and the rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.config import AlertRule
from monitor.config.loading import problems_of
from monitor.config.safe_yaml import parse_yaml, read_yaml_file
from monitor.errors import ConfigError, UsageError

_LIST_KEYS = ("rules", "alerts")


def parse_rules(document: Any, source: str) -> list[AlertRule]:
    """The rules of a parsed document; UsageError with one line on the first problem."""
    if isinstance(document, dict):
        keys = [key for key in _LIST_KEYS if key in document]
        extra = sorted(set(document) - set(_LIST_KEYS))
        if len(keys) != 1 or extra:
            raise UsageError(
                f"{source}: give a list of rules, or a mapping with one `rules:` key"
                + (f" (unknown key {extra[0]!r})" if extra else "")
            )
        document = document[keys[0]]
    if not isinstance(document, list) or not document:
        raise UsageError(f"{source}: give a non-empty list of rules (the config's alerts syntax)")
    rules: list[AlertRule] = []
    for i, raw in enumerate(document):
        where = f"{source}: rules[{i}]"
        if not isinstance(raw, dict):
            raise UsageError(f"{where}: a rule is a mapping (name, metric, above or below, ...)")
        try:
            rule = AlertRule.model_validate({**raw, "hooks": []})
        except ValidationError as exc:
            problems = problems_of(exc)
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            line = problems[0]
            top = "(top level): "  # a rule-wide check (bounds, metric): no key to name
            line = f": {line.removeprefix(top)}" if line.startswith(top) else f".{line}"
            raise UsageError(f"{where}{line}{more}") from None
        if rule.name in {known.name for known in rules}:
            raise UsageError(f"{where}.name: duplicate rule name {rule.name!r}")
        rules.append(rule)
    return rules


def load_rules(path: Path) -> list[AlertRule]:
    """The candidate rules in the YAML file at `path`."""
    try:
        document = read_yaml_file(path)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return parse_rules(document, str(path))


def rules_from_text(text: str, source: str = "rules") -> list[AlertRule]:
    """The candidate rules in YAML `text` (notebooks: rules written inline)."""
    try:
        document = parse_yaml(text, source)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return parse_rules(document, source)
