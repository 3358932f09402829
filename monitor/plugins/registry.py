"""The one registry of plugin types: the built-ins and every `driftwarden.*` entry point.

Both kinds are `PluginSpec` objects found the same way, and the config's `stream:`,
`labels:`, `model:` and `hooks:` blocks are validated against the unions built here, so a
type that a third-party package declares is checked like a built-in one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Annotated, Any, Union

from pydantic import BeforeValidator, Discriminator, Tag

from monitor.errors import ConfigError, DriftwardenError
from monitor.plugins.spec import PluginConfig, PluginSpec, import_object

log = logging.getLogger("driftwarden.plugins")

SOURCES = "sources"
LABELS = "labels"
MODELS = "models"
HOOKS = "hooks"
GROUPS = {
    SOURCES: "driftwarden.sources",
    LABELS: "driftwarden.labels",
    MODELS: "driftwarden.models",
    HOOKS: "driftwarden.hooks",
}
# The built-ins, also declared as entry points in pyproject.toml; listed here too so a
# checkout that was never pip-installed (no entry-point metadata) still has them.
BUILT_IN: dict[str, dict[str, str]] = {
    SOURCES: {
        "files": "monitor.sources.specs:FILES",
        "sql": "monitor.sources.specs:SQL",
    },
    LABELS: {
        "files": "monitor.labels.specs:FILES",
        "sql": "monitor.labels.specs:SQL",
    },
    MODELS: {
        "transformers": "monitor.models.specs:TRANSFORMERS",
        "embedding-head": "monitor.models.specs:EMBEDDING_HEAD",
        "sklearn": "monitor.models.specs:SKLEARN",
    },
    HOOKS: {
        "webhook": "monitor.hooks.specs:WEBHOOK",
        "command": "monitor.hooks.specs:COMMAND",
        "python": "monitor.hooks.specs:PYTHON",
        "retrain-head": "monitor.hooks.specs:RETRAIN_HEAD",
        "retrain-fm": "monitor.hooks.specs:RETRAIN_FM",
    },
}
# What a role's block means when it names no `type`: the files stream and files labels
# (docs/architecture.md, "Adding a source").
DEFAULT_TYPES = {SOURCES: "files", LABELS: "files"}
_WORDS = {SOURCES: "source", LABELS: "labels source", MODELS: "model", HOOKS: "hook"}


def _problem_with(spec: Any, name: str) -> str | None:
    """Why an entry point's object is no usable spec for `name` (None when it is)."""
    if not isinstance(spec, PluginSpec):
        return f"it is a {type(spec).__name__}, not a monitor.plugins.PluginSpec"
    if spec.name != name:
        return f"its spec is named {spec.name!r}"
    if not (isinstance(spec.config, type) and issubclass(spec.config, PluginConfig)):
        return "its config is not a monitor.plugins.PluginConfig subclass"
    return None


class PluginRegistry:
    """Plugin specs by role, resolved once per process (cheap: spec modules are light)."""

    def __init__(
        self,
        built_in: Mapping[str, Mapping[str, str]] = BUILT_IN,
        groups: Mapping[str, str] = GROUPS,
    ) -> None:
        self.built_in = built_in
        self.groups = groups
        self._specs: dict[str, dict[str, PluginSpec]] = {}
        #: entry points that could not be used, by role: name -> why
        self.broken: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def specs(self, role: str) -> Mapping[str, PluginSpec]:
        """Every usable type of `role` by name; a built-in wins over an entry point's name."""
        with self._lock:
            if role not in self._specs:
                self._specs[role] = self._discover(role)
            return self._specs[role]

    def _discover(self, role: str) -> dict[str, PluginSpec]:
        found: dict[str, PluginSpec] = {}
        broken: dict[str, str] = {}
        own = self.built_in.get(role, {})
        for entry in entry_points(group=self.groups[role]):
            if entry.name in own:
                if entry.value != own[entry.name]:  # not our own declaration: it loses
                    log.warning(
                        "%s plugin %r from %s is ignored: a built-in type has that name",
                        role,
                        entry.name,
                        entry.value,
                    )
                continue
            try:
                spec = entry.load()
            except Exception as exc:  # a broken third-party package must not break ours
                broken[entry.name] = f"{type(exc).__name__}: {exc}"
                continue
            problem = _problem_with(spec, entry.name)
            if problem is None:
                found[entry.name] = spec
            else:
                broken[entry.name] = f"{entry.value}: {problem}"
        for name, target in own.items():
            found[name] = import_object(target)
        for name, why in broken.items():
            log.warning("%s plugin %r from an entry point is unusable: %s", role, name, why)
        self.broken[role] = broken
        return dict(sorted(found.items()))

    def spec(self, role: str, name: str, where: str) -> PluginSpec:
        """The spec of type `name`; an unknown name is a config error listing the valid ones."""
        specs = self.specs(role)
        if name not in specs:
            raise ConfigError(f"{where}: {self.unknown(role, name)}")
        return specs[name]

    def unknown(self, role: str, name: object) -> str:
        specs = self.specs(role)
        message = f"unknown {_WORDS[role]} type {name!r} (known: {', '.join(specs)})"
        broken = self.broken.get(role, {})
        if name in broken:
            message += f"; the plugin {name!r} is installed but unusable: {broken[name]}"
        return message

    def create(self, role: str, type_name: str, *args: Any) -> Any:
        """Call the implementation of `type_name` with `args` (the role's constructor)."""
        factory = self.spec(role, type_name, f"{_WORDS[role]}.type").load()
        try:
            return factory(*args)
        except DriftwardenError:
            raise
        except Exception as exc:  # a plugin's own bug: one clear sentence, not a traceback
            raise DriftwardenError(
                f"{_WORDS[role]} plugin {type_name!r} failed to start: {type(exc).__name__}: {exc}"
            ) from exc

    def union(self, role: str) -> Any:
        """The pydantic type of a role's config block: one member per registered type.

        The block's `type` picks the member (the role's default when it names none); an
        unknown type is reported with the known ones.
        """
        specs = self.specs(role)
        default = DEFAULT_TYPES.get(role)

        def tag(value: Any) -> Any:
            if isinstance(value, dict):
                return value.get("type", default)
            return getattr(value, "type", None)

        def known_type(value: Any) -> Any:
            if isinstance(value, dict):
                name = value.get("type", default)
                if name is None:
                    raise ValueError(f"set `type` (one of: {', '.join(specs)})")
                if name not in specs:
                    raise ValueError(self.unknown(role, name))
                if "type" not in value:
                    return {**value, "type": name}
            return value

        configs = [spec.config for spec in specs.values()]
        choice: Any = configs[0]
        if len(configs) > 1:
            members = tuple(
                Annotated[config, Tag(name)] for name, config in zip(specs, configs, strict=True)
            )
            choice = Annotated[Union[members], Discriminator(tag)]  # noqa: UP007
        return Annotated[choice, BeforeValidator(known_type)]

    def names(self) -> set[str]:
        """Every registered type name, all roles together (config error paths drop them)."""
        return {name for role in self.groups for name in self.specs(role)}


REGISTRY = PluginRegistry()
