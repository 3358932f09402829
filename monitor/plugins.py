"""Plugin lookup shared by every pluggable role: built-ins plus `driftwarden.*` entry points."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from monitor.errors import ConfigError


def plugin_types(group: str, built_in: dict[str, str]) -> dict[str, str]:
    """`type name -> "module:attribute"`; a built-in wins over an entry point of its name."""
    found = {ep.name: ep.value for ep in entry_points(group=group)}
    return {**found, **built_in}


def load_plugin(group: str, built_in: dict[str, str], type_name: str, where: str) -> Any:
    """The factory registered for `type_name`; an unknown name lists the valid ones."""
    types = plugin_types(group, built_in)
    if type_name not in types:
        known = ", ".join(sorted(types))
        raise ConfigError(f"{where}: unknown type {type_name!r} (known: {known})")
    module_name, _, attribute = types[type_name].partition(":")
    return getattr(importlib.import_module(module_name), attribute)
