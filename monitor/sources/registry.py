"""Building the source a monitor's `stream:` block names, through the plugin registry."""

from __future__ import annotations

from monitor.errors import SourceError
from monitor.plugins import REGISTRY, SOURCES, SourceConfig
from monitor.sources.base import Source, SourceContext


def build_source(config: SourceConfig, context: SourceContext) -> Source:
    """The source of type `config.type`, for the monitor `context` describes."""
    source = REGISTRY.create(SOURCES, config.type, config, context)
    if not isinstance(source, Source):
        raise SourceError(
            f"source plugin {config.type!r} built a {type(source).__name__}, "
            "not a monitor.sources.base.Source"
        )
    return source
