"""What the example plugins declare: each type's config model and where it is implemented.

Light on purpose: driftwarden imports this while it validates a config, so it imports
nothing but `monitor.plugins` and pydantic.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from monitor.plugins import (
    ColumnNeeds,
    Finding,
    HookConfig,
    ModelConfig,
    PluginSpec,
    RelPath,
    SourceConfig,
)


class TextLinesConfig(SourceConfig):
    """A plain text file, one row per line: the text, a tab, and optionally its label."""

    type: Literal["text-lines"]
    path: RelPath

    def check(self, needs: ColumnNeeds) -> list[Finding]:
        if self.path.is_file():
            return []
        return [Finding("path", f"{self.path} does not exist yet", warning=True)]


class KeywordConfig(ModelConfig):
    """Positive when a text holds one of `positive` (case-insensitive)."""

    type: Literal["keyword"]
    positive: list[str] = Field(min_length=1)


class AppendFileConfig(HookConfig):
    """Appends each alert event to `path` as one JSON line."""

    type: Literal["append-file"]
    path: RelPath
    retries: int = Field(0, ge=0, le=100)


TEXT_LINES = PluginSpec("text-lines", TextLinesConfig, "driftwarden_example.plugins:TextLines")
KEYWORD = PluginSpec("keyword", KeywordConfig, "driftwarden_example.plugins:KeywordModel")
APPEND_FILE = PluginSpec("append-file", AppendFileConfig, "driftwarden_example.plugins:AppendFile")
