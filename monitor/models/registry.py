"""Building the model a monitor's `model:` block names, through the plugin registry."""

from __future__ import annotations

from monitor.errors import ModelError
from monitor.models.base import Model
from monitor.plugins import MODELS, REGISTRY, ModelConfig


def load_model(config: ModelConfig) -> Model:
    """The model of type `config.type`, built from its config (weights loaded now)."""
    model = REGISTRY.create(MODELS, config.type, config)
    if not isinstance(model, Model):
        raise ModelError(
            f"model plugin {config.type!r} built a {type(model).__name__}, "
            "not a monitor.models.base.Model"
        )
    return model
