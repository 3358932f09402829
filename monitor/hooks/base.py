"""What a hook is: `deliver(event) -> AttemptResult`, one attempt that reports and never raises.

Retries, backoff, leases and the audit trail belong to `monitor.hooks.dispatcher`.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from monitor.clock import Clock
from monitor.store import Store
from monitor.versions.view import MonitorView


@dataclass(frozen=True)
class AttemptResult:
    """How one attempt went. `retryable=False` ends the delivery at once (a 4xx, no such file).

    `detail` is a short message of our own wording (never a URL, header or secret).
    """

    delivered: bool
    retryable: bool = True
    status_code: int | None = None
    exit_status: int | None = None
    detail: str | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait


@dataclass
class HookContext:
    """What hooks may use besides their config: the store, the clock, read-only views of the
    loaded monitors (never their runtimes).

    `share_models`: no cycle scores while hooks run (`once`, replay, tests), so a retrain may
    use a monitor's loaded encoder instead of loading its own copy.
    """

    store: Store
    clock: Clock
    monitors: Mapping[str, MonitorView] = field(default_factory=dict)
    share_models: bool = False
    #: set when the process stops: an attempt that runs in-process gives up at once
    stopping: threading.Event = field(default_factory=threading.Event)


class Hook(ABC):
    """One configured hook. Subclasses implement `deliver`; the dispatcher calls it."""

    #: its retries wait for new data (labels of later windows), not for a receiver: the
    #: daemon retries them, but a synchronous run (`once`) does not wait for them
    waits_for_data: ClassVar[bool] = False

    def __init__(self, name: str, config: Any, context: HookContext) -> None:
        self.name = name
        self.config = config
        self.context = context
        self.retries: int = config.retries
        self.timeout: float = config.timeout.total_seconds()

    @abstractmethod
    def deliver(self, event: dict[str, Any]) -> AttemptResult:
        """Make one attempt; return how it went. Must not raise (the dispatcher guards anyway)."""

    def accepts(self, monitor: str) -> bool:
        """Whether this process can deliver for `monitor` (else the delivery waits for one)."""
        return True

    def secrets(self) -> list[str]:
        """Values that must never reach a log or the store (redacted from any detail)."""
        return []

    def run_bounded(
        self, work: Callable[[], AttemptResult], thread_name: str
    ) -> tuple[AttemptResult, bool]:
        """`work()` in a daemon thread, waited for until the hook's timeout or until the
        process stops, and whether it finished: Python cannot stop a thread, so one still
        running is left to finish while the attempt is reported as timed out."""
        outcome: list[AttemptResult] = []
        thread = threading.Thread(
            target=lambda: outcome.append(work()), name=thread_name, daemon=True
        )
        thread.start()
        deadline = time.monotonic() + self.timeout
        while thread.is_alive() and not self.context.stopping.is_set():
            thread.join(min(0.2, max(0.0, deadline - time.monotonic())))
            if time.monotonic() >= deadline:
                break
        if thread.is_alive() or not outcome:
            if self.context.stopping.is_set():
                return AttemptResult(False, True, detail="abandoned: the process stopped"), False
            return AttemptResult(False, True, detail=f"timed out after {self.timeout:g}s"), False
        return outcome[0], True

    def lease_seconds(self) -> float:
        """How long a claimed delivery stays locked: past this, it is presumed abandoned."""
        return self.timeout + 60.0


def secret_value(value: Any) -> str | None:
    """A config secret as text, whether a plain string or a pydantic `SecretStr`."""
    if value is None:
        return None
    reveal = getattr(value, "get_secret_value", None)
    return str(reveal() if callable(reveal) else value)


def redact(text: str | None, secrets: list[str]) -> str | None:
    if text is None:
        return None
    for secret in secrets:
        if secret and len(secret) >= 4:  # shorter values would blank ordinary words
            text = text.replace(secret, "***")
    return text
