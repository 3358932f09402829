"""Calls into the store under a deadline, so a store that hangs costs the endpoints a second
or two, not the whole wait: `/metrics` answers with `store_up 0`, `/readyz` with 503.

The call runs in a daemon thread (one that never returns cannot hold the process at exit);
while one is still running, the next caller waits on that same call rather than starting
another, so a hung store never piles up threads, one per scrape.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from monitor.errors import StoreError

STORE_DEADLINE_S = 1.5  # well inside a scraper's timeout (Prometheus: 10 s by default)

ResultT = TypeVar("ResultT")


class StoreTimeout(StoreError):
    """The store did not answer within the deadline."""


class _Call(Generic[ResultT]):
    def __init__(self, function: Callable[[], ResultT]) -> None:
        self.done = threading.Event()
        self.result: ResultT | None = None
        self.error: BaseException | None = None
        self.function = function

    def run(self) -> None:
        try:
            self.result = self.function()
        except BaseException as exc:  # handed to the caller, who decides
            self.error = exc
        finally:
            self.done.set()


class Deadline(Generic[ResultT]):
    """`call(function)`: its result, or StoreTimeout after `seconds`."""

    def __init__(self, name: str, seconds: float = STORE_DEADLINE_S) -> None:
        self.name = name
        self.seconds = seconds
        self._lock = threading.Lock()
        self._running: _Call[ResultT] | None = None

    def call(self, function: Callable[[], ResultT]) -> ResultT:
        with self._lock:
            if self._running is None or self._running.done.is_set():
                self._running = _Call(function)
                thread = threading.Thread(target=self._running.run, name=self.name, daemon=True)
                thread.start()
            call = self._running
        if not call.done.wait(self.seconds):
            raise StoreTimeout(f"the store did not answer within {self.seconds:g} s")
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[return-value]
