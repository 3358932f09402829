"""Model plugins by config `type`: the built-ins and any `driftwarden.models` entry point."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from monitor.errors import ConfigError
from monitor.models.base import Model

_BUILT_IN = {
    "transformers": "monitor.models.transformers:TransformersModel",
    "embedding-head": "monitor.models.embedding_head:EmbeddingHeadModel",
    "sklearn": "monitor.models.sklearn:SklearnModel",
}


def _resolve(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    module = __import__(module_name, fromlist=[attribute])
    return getattr(module, attribute)


def model_types() -> dict[str, str]:
    found = {ep.name: ep.value for ep in entry_points(group="driftwarden.models")}
    return {**found, **_BUILT_IN}


def load_model(config: Any) -> Model:
    """Build the model a monitor's `model:` block names."""
    types = model_types()
    if config.type not in types:
        raise ConfigError(
            f"model.type: unknown model type {config.type!r} (known: {', '.join(sorted(types))})"
        )
    factory = _resolve(types[config.type])
    model: Model = factory(config)
    return model
