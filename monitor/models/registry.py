"""Model plugins by config `type`: the built-ins and any `driftwarden.models` entry point."""

from __future__ import annotations

from typing import Any

from monitor.models.base import Model
from monitor.plugins import load_plugin

GROUP = "driftwarden.models"
BUILT_IN = {
    "transformers": "monitor.models.transformers:TransformersModel",
    "embedding-head": "monitor.models.embedding_head:EmbeddingHeadModel",
    "sklearn": "monitor.models.sklearn:SklearnModel",
}


def load_model(config: Any) -> Model:
    """Build the model a monitor's `model:` block names."""
    factory = load_plugin(GROUP, BUILT_IN, config.type, "model.type")
    model: Model = factory(config)
    return model
