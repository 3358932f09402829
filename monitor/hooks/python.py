"""The python hook: call `module:function` with the event dict, in a thread with a timeout."""

from __future__ import annotations

import copy
import threading
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
        errors: list[BaseException] = []

        def call() -> None:
            try:
                function(copy.deepcopy(event))  # a hook cannot alter what others receive
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=call, name=f"driftwarden-hook-{self.name}", daemon=True)
        thread.start()
        thread.join(self.timeout)
        if thread.is_alive():
            return AttemptResult(False, True, detail=f"timed out after {self.timeout:g}s")
        if errors:
            error = errors[0]
            return AttemptResult(False, True, detail=f"{type(error).__name__}: {error}"[:500])
        return AttemptResult(True, detail="returned")
