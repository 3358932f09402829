"""The plugin registry: built-ins found like entry points, unions that pick by `type`, and
clear messages for unknown types."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

import pytest
from pydantic import TypeAdapter, ValidationError

from monitor.errors import ConfigError
from monitor.plugins import HOOKS, MODELS, REGISTRY, SOURCES, PluginRegistry, PluginSpec
from monitor.plugins.registry import BUILT_IN, GROUPS
from monitor.plugins.spec import SourceConfig
from monitor.sources.specs import FilesStreamConfig, SqlStreamConfig

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_built_ins_are_declared_as_entry_points_too() -> None:
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"]
    for role, group in GROUPS.items():
        assert declared[group] == BUILT_IN[role], group
        specs = REGISTRY.specs(role)
        for name in BUILT_IN[role]:
            assert isinstance(specs[name], PluginSpec) and specs[name].name == name


def test_a_stream_block_without_type_is_a_files_stream() -> None:
    union = TypeAdapter(REGISTRY.union(SOURCES))
    assert isinstance(union.validate_python({"path": "s/*.csv"}), FilesStreamConfig)
    sql = union.validate_python(
        {"type": "sql", "url": "sqlite://", "query": "SELECT 1 AS id", "order_by": "id"}
    )
    assert isinstance(sql, SqlStreamConfig)
    with pytest.raises(ValidationError, match=r"unknown source type 'kafka' \(known: files, sql"):
        union.validate_python({"type": "kafka"})


def test_models_and_hooks_name_their_type() -> None:
    with pytest.raises(ValidationError, match=r"set `type` \(one of: embedding-head, sklearn"):
        TypeAdapter(REGISTRY.union(MODELS)).validate_python({"path": "m.joblib"})
    with pytest.raises(ConfigError, match=r"hook.type: unknown hook type 'pager' \(known: command"):
        REGISTRY.create(HOOKS, "pager")


class _TwoConfig(SourceConfig):
    type: Literal["two"]


TWO = PluginSpec("two", _TwoConfig, "monitor.sources.memory:MemorySource")


def test_a_registry_takes_specs_from_its_own_table() -> None:
    registry = PluginRegistry(
        built_in={SOURCES: {"two": f"{__name__}:TWO"}},
        groups={SOURCES: "driftwarden.no-such-group"},
    )
    assert dict(registry.specs(SOURCES)) == {"two": TWO}
    assert isinstance(
        TypeAdapter(registry.union(SOURCES)).validate_python({"type": "two"}), _TwoConfig
    )
