"""A read-only view of a loaded monitor: what hooks and retrains may read of it.

A hook is never handed a monitor's runtime (whose model only `monitor.versions.switch`
changes): the dispatcher wraps each runtime in a `MonitorView`, which answers the
monitor's name, config, current version and labelled reference, and nothing else. What a
hook decides goes to the store (a retrain registers a version and marks it live or shadow),
and each cycle takes it up before it starts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

from monitor.config import MonitorConfig
from monitor.models.base import Model, TextEncoder


class ViewedMonitor(Protocol):
    """What a view reads (`monitor.cycle.runtime.MonitorRuntime` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def config(self) -> MonitorConfig: ...

    @property
    def model(self) -> Model: ...

    def labelled_reference(self) -> tuple[list[str], list[str]]: ...

    def text_encoder(self) -> TextEncoder | None: ...


class MonitorView:
    """One monitor as hooks see it: read-only, and always current (it reads the monitor at
    each access, so `version` follows a switch)."""

    __slots__ = ("_monitor",)

    def __init__(self, monitor: ViewedMonitor) -> None:
        self._monitor = monitor

    @property
    def name(self) -> str:
        return self._monitor.name

    @property
    def config(self) -> MonitorConfig:
        return self._monitor.config

    @property
    def version(self) -> str:
        """The model version the monitor scores with now."""
        return self._monitor.model.version

    @property
    def reference_path(self) -> Path:
        return Path(self._monitor.config.reference.path)

    def labelled_reference(self) -> tuple[list[str], list[str]]:
        """The reference's labelled texts and their class names (empty for tabular models)."""
        return self._monitor.labelled_reference()

    def text_encoder(self) -> TextEncoder | None:
        """The loaded encoder, when the model has one (safe to use only with `share_models`)."""
        return self._monitor.text_encoder()


class MonitorViews(Mapping[str, MonitorView]):
    """Views of the monitors in `monitors`, read at each access: a daemon passes a live
    mapping of monitors still loading."""

    def __init__(self, monitors: Mapping[str, ViewedMonitor]) -> None:
        self._monitors = monitors

    def __getitem__(self, name: str) -> MonitorView:
        return MonitorView(self._monitors[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._monitors)

    def __len__(self) -> int:
        return len(self._monitors)
