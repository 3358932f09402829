"""Hook plugins by config `type`: the built-ins and any `driftwarden.hooks` entry point."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from monitor.errors import ConfigError
from monitor.hooks.base import Hook, HookContext

_BUILT_IN = {
    "webhook": "monitor.hooks.webhook:Webhook",
    "command": "monitor.hooks.command:Command",
    "python": "monitor.hooks.python:PythonCall",
    "retrain-head": "monitor.hooks.retrain_head:RetrainHead",
}


def hook_types() -> dict[str, str]:
    found = {ep.name: ep.value for ep in entry_points(group="driftwarden.hooks")}
    return {**found, **_BUILT_IN}


def build_hook(name: str, config: Any, context: HookContext) -> Hook:
    """The hook that the config entry `hooks.<name>` describes."""
    types = hook_types()
    if config.type not in types:
        known = ", ".join(sorted(types))
        raise ConfigError(f"hooks.{name}.type: unknown hook type {config.type!r} (known: {known})")
    module_name, _, attribute = types[config.type].partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    hook: Hook = factory(name, config, context)
    return hook
