"""Hook plugins by config `type`: the built-ins and any `driftwarden.hooks` entry point."""

from __future__ import annotations

from typing import Any

from monitor.hooks.base import Hook, HookContext
from monitor.plugins import load_plugin

GROUP = "driftwarden.hooks"
BUILT_IN = {
    "webhook": "monitor.hooks.webhook:Webhook",
    "command": "monitor.hooks.command:Command",
    "python": "monitor.hooks.python:PythonCall",
    "retrain-head": "monitor.hooks.retrain_head:RetrainHead",
}


def build_hook(name: str, config: Any, context: HookContext) -> Hook:
    """The hook that the config entry `hooks.<name>` describes."""
    factory = load_plugin(GROUP, BUILT_IN, config.type, f"hooks.{name}.type")
    hook: Hook = factory(name, config, context)
    return hook
