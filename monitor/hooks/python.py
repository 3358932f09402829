"""The python hook: call `module:function` with the event dict, in a thread with a timeout."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from monitor.hooks.base import AttemptResult, Hook, HookContext
from monitor.hooks.specs import PythonHook
from monitor.plugins.spec import import_object


def resolve_target(target: str) -> Callable[[dict[str, Any]], Any]:
    """`package.module:function` (or `module:Class.method`) as a callable."""
    found = import_object(target)
    if not callable(found):
        raise TypeError(f"{target} is a {type(found).__name__}, not a callable")
    return found


class PythonCall(Hook):
    """Returning delivers; raising is a failed attempt. The return value is ignored.

    A call past the timeout is reported as failed and left to finish in its (daemon)
    thread: Python cannot stop a thread, but the dispatcher stops waiting for it.
    """

    config: PythonHook

    def __init__(self, name: str, config: PythonHook, context: HookContext) -> None:
        super().__init__(name, config, context)
        self._function: Callable[[dict[str, Any]], Any] | None = None

    def deliver(self, event: dict[str, Any]) -> AttemptResult:
        if self._function is None:
            try:
                self._function = resolve_target(self.config.target)
            except Exception as exc:
                return AttemptResult(
                    False,
                    False,
                    detail=f"cannot load {self.config.target}: {type(exc).__name__}: {exc}",
                )
        function = self._function

        def call() -> AttemptResult:
            try:
                function(copy.deepcopy(event))  # a hook cannot alter what others receive
            except BaseException as exc:
                return AttemptResult(False, True, detail=f"{type(exc).__name__}: {exc}"[:500])
            return AttemptResult(True, detail="returned")

        result, _ = self.run_bounded(call, f"driftwarden-hook-{self.name}")
        return result
