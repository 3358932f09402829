"""What the metrics read of the `drift:` block, as protocols rather than the config's models.

The metrics sit below nothing but the shared records: they take these settings as
arguments, and `monitor.config.drift`'s pydantic models satisfy them structurally, so the
metrics never import the config (docs/architecture.md, the layers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class ColumnTestSettings(Protocol):
    """One column's test: an Evidently method name (`auto`: chosen by column type)."""

    @property
    def method(self) -> str: ...

    @property
    def threshold(self) -> float | None: ...


class EmbeddingSettings(Protocol):
    """What `embedding_drift_score` shows, its threshold, and the rows each side keeps."""

    @property
    def method(self) -> str: ...

    @property
    def threshold(self) -> float | None: ...

    @property
    def sample(self) -> int: ...


class SequentialSettings(Protocol):
    """The sequential test: windows pooled (0: off) and its false alarms per 1,000 windows."""

    @property
    def windows(self) -> int: ...

    @property
    def false_alarms_per_1000(self) -> float: ...


class DriftSettings(Protocol):
    """The family's level, the default test, per-column overrides, embeddings, processes."""

    @property
    def alpha(self) -> float: ...

    @property
    def method(self) -> str: ...

    @property
    def threshold(self) -> float | None: ...

    @property
    def per_column(self) -> Mapping[str, ColumnTestSettings]: ...

    @property
    def embedding(self) -> EmbeddingSettings: ...

    @property
    def sequential(self) -> SequentialSettings: ...

    @property
    def processes(self) -> int | None: ...
