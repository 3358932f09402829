"""Hooks: webhook, command, python and retrain-head, fed by a persistent outbox in the store.

Importing this package is light (the hooks' config models load while a config is
validated); the dispatcher and the hooks themselves load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.hooks.attempts import DeliveryReport
    from monitor.hooks.base import AttemptResult, Hook, HookContext
    from monitor.hooks.dispatcher import Dispatcher

_LAZY = {
    "AttemptResult": "monitor.hooks.base",
    "Hook": "monitor.hooks.base",
    "HookContext": "monitor.hooks.base",
    "DeliveryReport": "monitor.hooks.attempts",
    "Dispatcher": "monitor.hooks.dispatcher",
}
__all__ = ["AttemptResult", "DeliveryReport", "Dispatcher", "Hook", "HookContext"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
