"""Building the hook a config's `hooks.<name>` entry describes, through the plugin registry."""

from __future__ import annotations

from monitor.errors import ConfigError
from monitor.hooks.base import Hook, HookContext
from monitor.plugins import HOOKS, REGISTRY, HookConfig


def build_hook(name: str, config: HookConfig, context: HookContext) -> Hook:
    """The hook of type `config.type`, called `name`, with what hooks may use."""
    hook = REGISTRY.create(HOOKS, config.type, name, config, context)
    if not isinstance(hook, Hook):
        raise ConfigError(
            f"hooks.{name}: plugin {config.type!r} built a {type(hook).__name__}, "
            "not a monitor.hooks.base.Hook"
        )
    return hook
