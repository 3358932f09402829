"""A spinner with elapsed time on the terminal while a long step runs (model load, ONNX
export, fitting a head, scoring a reference, a cycle).

Shown only when the CLI turned it on: stderr is a terminal and logs are text. In JSON log
mode, in a pipe, under a scheduler or in a library call nothing is drawn, so machine-read
output never holds control characters.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_settings: dict[str, Any] = {"enabled": False, "live": None}


def configure(*, log_format: str) -> None:
    """Turn progress on for a text-logging process whose stderr is a terminal."""
    _settings["enabled"] = log_format == "text" and sys.stderr.isatty()


def enabled() -> bool:
    return bool(_settings["enabled"])


@contextmanager
def step(label: str) -> Iterator[None]:
    """Show `label`, a spinner and the elapsed time until the block ends (then erase them)."""
    live = _settings["live"]
    if live is not None:  # a step inside a step: one more line in the same display
        task = live.add_task(label, total=None)
        try:
            yield
        finally:
            live.remove_task(task)
        return
    if not enabled():
        yield
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        progress.add_task(label, total=None)
        _settings["live"] = progress
        try:
            with _logs_above():
                yield
        finally:
            _settings["live"] = None


@contextmanager
def _logs_above() -> Iterator[None]:
    """Log lines printed above the spinner, not through it.

    The log handler holds the stderr it was made with; while the display runs, Rich's
    stand-in for `sys.stderr` draws lines above it, so the handler writes there for a while.
    """
    proxy = sys.stderr
    real = getattr(proxy, "rich_proxied_file", None)
    if real is None:  # Rich did not redirect stderr: nothing to reroute
        yield
        return
    handlers = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and h.stream is real
    ]
    previous = [h.setStream(proxy) for h in handlers]
    try:
        yield
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)
