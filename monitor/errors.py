"""The one exception root; `cli.py` turns each class into a message and an exit code."""

from __future__ import annotations


class DriftwardenError(Exception):
    """Base of every error driftwarden raises on purpose; exit code 1 (a runtime failure)."""

    exit_code = 1


class ConfigError(DriftwardenError):
    """The config (or a scenario file) is invalid; exit code 2.

    `problems` holds one `path.to.key: message` line per problem, all of them.
    """

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class UsageError(DriftwardenError):
    """A command was called wrongly (unknown run id, missing option); exit code 2."""

    exit_code = 2


class SourceError(DriftwardenError):
    """The stream or reference data cannot be read."""


class ModelError(DriftwardenError):
    """The model cannot be loaded or raised while scoring."""


class MetricsError(DriftwardenError):
    """Drift or quality metrics cannot be computed on the given data."""


class StoreError(DriftwardenError):
    """The store is unreachable, locked, read-only or holds unexpected data."""


class HookError(DriftwardenError):
    """A hook could not be delivered (recorded, never raised into a cycle)."""
