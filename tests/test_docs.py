"""The README documents every config key, CLI command and Prometheus series."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import typer
from pydantic import BaseModel

from monitor import config as config_module
from monitor.cli import app
from monitor.exporter.series import SERIES_NAMES
from monitor.records.catalog import NAMES, QUALITY_METRICS, RUN_METRICS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _models(annotation: typing.Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in typing.get_args(annotation):
        found += _models(arg)
    return found


def config_keys(model: type[BaseModel] = config_module.Config, seen=None) -> set[str]:
    seen = seen if seen is not None else set()
    keys: set[str] = set()
    if model in seen:
        return keys
    seen.add(model)
    for name, field in model.model_fields.items():
        keys.add(field.alias or name)
        for inner in _models(field.annotation):
            keys |= config_keys(inner, seen)
    return keys


def test_every_config_key_is_in_the_readme() -> None:
    missing = sorted(k for k in config_keys() if not re.search(rf"\b{re.escape(k)}\b", README))
    assert not missing, f"config keys missing from README.md: {missing}"


def _commands(group: typing.Any, prefix: str = "") -> list[str]:
    """Leaf command paths; a group is anything with `commands` (click's, or Typer's copy)."""
    names = []
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(command, "commands"):
            names += _commands(command, f"{full} ")
        else:
            names.append(full)
    return names


def test_every_cli_command_is_in_the_readme() -> None:
    commands = _commands(typer.main.get_command(app))
    assert len(commands) >= 5 and "model fit-head" in commands
    missing = [c for c in commands if f"driftwarden {c}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def test_every_prometheus_series_is_in_the_readme() -> None:
    missing = [s for s in SERIES_NAMES if s not in README]
    assert not missing, f"series missing from README.md: {missing}"


def _section(title: str) -> str:
    """The README's section under `### {title}`, up to the next heading of its level or above."""
    start = README.index(f"### {title}\n")
    found = re.search(r"^#{1,3} ", README[start + 4 :], flags=re.MULTILINE)
    return README[start : start + 4 + found.start()] if found else README[start:]


def test_every_run_metric_of_the_catalog_is_in_the_runs_json_section() -> None:
    section = _section("`runs --json`")
    missing = [name for name in NAMES if f"`{name}`" not in section]
    assert not missing, f"run metrics missing from README.md's runs --json section: {missing}"


def test_every_exported_run_metric_names_a_served_series() -> None:
    exported = [m for m in RUN_METRICS if m.series is not None]
    assert {m.name for m in exported} >= set(QUALITY_METRICS)
    for metric in exported:
        assert metric.series is not None and f"driftwarden_{metric.series.name}" in SERIES_NAMES


def test_readme_shows_the_options_of_the_first_commands() -> None:
    for text in (
        "driftwarden status [--config F / --db URL] [--json]",
        "driftwarden quarantine [--config F / --db URL] [--monitor NAME] [--run ID]",
        "driftwarden init --data CSV --text-column C --label-column L [--out DIR]",
        "--version",
        "--labels",
    ):
        assert text in README, text
