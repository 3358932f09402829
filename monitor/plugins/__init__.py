"""Plugins: what a third-party source, model or hook provides, and the registry that finds them.

A plugin module imports from here only (never `monitor.config`, which is still being built
while plugin specs load)::

    from typing import Literal
    from monitor.plugins import PluginSpec, SourceConfig

    class KafkaStreamConfig(SourceConfig):
        type: Literal["kafka"]
        topic: str

    KAFKA = PluginSpec("kafka", KafkaStreamConfig, "my_package.kafka:KafkaSource")

and its package declares `kafka = "my_package.kafka_spec:KAFKA"` in the
`driftwarden.sources` entry-point group (`driftwarden.labels`, `driftwarden.models`,
`driftwarden.hooks` for the other roles). README.md, "Plugins", has the whole contract.
"""

from monitor.plugins.fields import Duration, RelGlob, RelPath, Strict, parse_duration
from monitor.plugins.registry import HOOKS, LABELS, MODELS, REGISTRY, SOURCES, PluginRegistry
from monitor.plugins.spec import (
    ColumnNeeds,
    Finding,
    HookConfig,
    LabelsConfig,
    ModelConfig,
    PluginConfig,
    PluginSpec,
    SourceConfig,
)

__all__ = [
    "HOOKS",
    "LABELS",
    "MODELS",
    "REGISTRY",
    "SOURCES",
    "ColumnNeeds",
    "Duration",
    "Finding",
    "HookConfig",
    "LabelsConfig",
    "ModelConfig",
    "PluginConfig",
    "PluginRegistry",
    "PluginSpec",
    "RelGlob",
    "RelPath",
    "SourceConfig",
    "Strict",
    "parse_duration",
]
