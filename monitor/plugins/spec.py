"""What a plugin is: a name, a pydantic config model, and where its implementation lives.

A spec module must stay light (pydantic and the standard library): `check-config` resolves
every plugin's config model without importing torch, transformers or evidently. The
implementation is imported only when a monitor or hook is built.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field

from monitor.errors import DriftwardenError
from monitor.plugins.fields import Duration, Strict


@dataclass(frozen=True)
class Finding:
    """One result of a pre-flight check: an error (the config cannot run) or a warning.

    A plugin's `check` gives `key` relative to its own block (`path`, `head`); `check-config`
    prefixes the block's place in the config (`monitors[0].stream.path`).
    """

    key: str
    message: str
    warning: bool = False

    def at(self, prefix: str) -> Finding:
        """The same finding, its key prefixed by the block it was found in."""
        return replace(self, key=f"{prefix}.{self.key}" if self.key else prefix)

    def line(self) -> str:
        return f"{'warning: ' if self.warning else ''}{self.key}: {self.message}"


@dataclass(frozen=True)
class ColumnNeeds:
    """The columns a monitor reads from its data: `required` (its input, a timestamp) and
    `optional` (target, id); a source's pre-flight check looks for them in its files."""

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


class PluginConfig(Strict):
    """Base of every plugin's config model; a subclass narrows `type` to `Literal["its-name"]`."""

    type: str

    def check(self, needs: ColumnNeeds) -> list[Finding]:
        """Cheap pre-flight checks for `check-config` (a file exists, a column is there).

        `needs` names the columns the monitor reads (sources look for them; others may
        ignore it). Must not load a model or read more than a header; finds nothing unless
        a plugin overrides it.
        """
        return []


class SourceConfig(PluginConfig):
    """A stream (or, later, a labels) source: where rows come from and how they are dated."""

    timestamp_column: str | None = Field(None, description="dates rows; duration windows need it")
    timestamp_unit: Literal["s", "ms", "us", "ns"] = Field(
        "s", description="the unit of a timestamp given as an epoch number (text dates: ISO)"
    )

    def duration_problem(self) -> str | None:
        """Why this source cannot cut `window.duration` windows (None: it can)."""
        if self.timestamp_column is None:
            return "a `window.duration` needs `stream.timestamp_column`"
        return None


class LabelsConfig(SourceConfig):
    """A labels source: rows of (row id, label), read in arrival order, that reach the
    predictions of past windows late. `timestamp_column`, when set, says when each label was
    observed (label lag counts from it; else from when the cycle read the label)."""

    id_column: str | None = Field(None, description="the row id; default: the monitor's `id`")
    label_column: str | None = Field(
        None, description="the label; default: the monitor's `target`, else `label`"
    )
    final_coverage: float = Field(
        0.9, gt=0, le=1, description="a window's quality is final once this share is labelled"
    )
    horizon: Duration = Field(
        timedelta(days=7), description="... or once this long has passed since the window ended"
    )

    def duration_problem(self) -> str | None:
        return None  # labels are not cut into windows


class ModelConfig(PluginConfig):
    """A model: `reads` says which `columns:` key feeds it (`text`, or tabular `features`)."""

    reads: ClassVar[Literal["text", "features"]] = "text"


class HookConfig(PluginConfig):
    """A hook: every delivery attempt is bounded by `timeout` and retried `retries` times."""

    retries: int = Field(5, ge=0, le=100)
    timeout: Duration = timedelta(seconds=10)

    def misfit(self, model: ModelConfig) -> str | None:
        """Why this hook cannot serve a monitor with `model` (None: it can)."""
        return None


@dataclass(frozen=True)
class PluginSpec:
    """A plugin type as the registry knows it.

    `implementation` is `"package.module:attribute"`, imported on first use: for a source a
    class taking `(config, context)`, for a model `(config)`, for a hook
    `(name, config, context)`.
    """

    name: str
    config: type[PluginConfig]
    implementation: str

    def load(self) -> Any:
        """The implementation; a plugin that cannot be imported is a runtime failure."""
        try:
            return import_object(self.implementation)
        except (ImportError, AttributeError) as exc:
            raise DriftwardenError(
                f"plugin {self.name!r}: cannot import {self.implementation} "
                f"({type(exc).__name__}: {exc})"
            ) from None


def import_object(target: str) -> Any:
    """The object `"package.module:attribute"` (or `module:Class.attribute`) names."""
    module_name, _, attribute = target.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


def module_missing(name: str) -> bool:
    """Whether `import name` would fail to find the module, found without running any of
    its code: `importlib.util.find_spec("a.b")` imports the package `a` (its `__init__`
    runs), so only the top-level name goes to the finders (which locate, never execute),
    and each submodule is looked for in its parent's search locations, as the import
    system would."""
    import importlib.machinery
    import sys

    if name in sys.modules:
        return False
    top, *rest = name.split(".")
    try:
        spec = importlib.util.find_spec(top)
        for depth, _part in enumerate(rest, start=2):
            if spec is None or spec.submodule_search_locations is None:
                return True  # its parent is missing, or a module rather than a package
            fullname = ".".join(name.split(".")[:depth])
            locations = list(spec.submodule_search_locations)
            spec = importlib.machinery.PathFinder.find_spec(fullname, locations)
    except (ImportError, ValueError):  # a name that cannot be a module
        return True
    return spec is None
