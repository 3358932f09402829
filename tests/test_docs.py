"""The README documents every config key, CLI command and Prometheus series."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
import typer
from pydantic import BaseModel

from monitor import config as config_module
from monitor.cli import app

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
    collector = pytest.importorskip("monitor.exporter.collector")
    missing = [s for s in collector.SERIES_NAMES if s not in README]
    assert not missing, f"series missing from README.md: {missing}"


def test_readme_shows_the_options_of_the_first_commands() -> None:
    for text in (
        "driftwarden status [--config F / --db URL] [--json]",
        "driftwarden quarantine [--config F / --db URL] [--monitor NAME] [--run ID]",
        "driftwarden init --data CSV --text-column C --label-column L [--out DIR]",
        "--version",
        "--labels",
    ):
        assert text in README, text
