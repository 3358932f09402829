"""The built-in retrain-head hook: on a firing alert, retrain the monitor's head
(`monitor.versions.head_retrain`); a resolved alert does nothing."""

from __future__ import annotations

import threading
from typing import Any

from monitor.errors import ModelError
from monitor.hooks.base import AttemptResult, Hook, HookContext
from monitor.hooks.specs import RetrainHeadHook
from monitor.models.base import TextEncoder
from monitor.versions.head_retrain import head_config, retrain
from monitor.versions.view import MonitorView

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _monitor_lock(monitor: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(monitor, threading.Lock())


class RetrainHead(Hook):
    """Runs `retrain` for the monitor whose alert fired, one retrain per monitor at a time.

    The decision, promoted or not, counts as delivered: the hook did its job. It needs the
    monitor loaded in this process (`HookContext.monitors`); elsewhere the delivery waits.
    """

    config: RetrainHeadHook

    def __init__(self, name: str, config: RetrainHeadHook, context: HookContext) -> None:
        super().__init__(name, config, context)
        self._encoders: dict[str, TextEncoder] = {}

    def accepts(self, monitor: str) -> bool:
        return monitor in self.context.monitors

    def _encoder(self, monitor: MonitorView) -> TextEncoder:
        """The monitor's loaded encoder when no cycle runs alongside, else a private copy.

        A transformers tokenizer and the embedding cache are not safe to share with a
        cycle scoring in another thread.
        """
        shared = monitor.text_encoder() if self.context.share_models else None
        if shared is not None:
            return shared
        spec = head_config(monitor)
        key = f"{spec.encoder}|{spec.backend}"
        if key not in self._encoders:
            from monitor.models.encoder import SentenceEncoder

            self._encoders[key] = SentenceEncoder(
                spec.encoder,
                batch_size=spec.batch_size,
                max_length=spec.max_length,
                threads=spec.threads,
                cache_size=0,
                backend=spec.backend,
            )
        return self._encoders[key]

    def deliver(self, event: dict[str, Any]) -> AttemptResult:
        """Retrain in a thread bounded by the hook's timeout; one past it records nothing."""
        if event.get("state") != "firing":
            return AttemptResult(True, detail="nothing to retrain on a resolved alert")
        monitor = self.context.monitors.get(str(event.get("monitor")))
        if monitor is None:
            return AttemptResult(False, True, detail="the monitor does not run in this process")
        cancelled = threading.Event()
        result, finished = self.run_bounded(
            lambda: self._retrain(monitor, event, cancelled), f"driftwarden-retrain-{self.name}"
        )
        if not finished:
            cancelled.set()  # it may still finish, but then it writes nothing
        return result

    def _retrain(
        self, monitor: MonitorView, event: dict[str, Any], cancelled: threading.Event
    ) -> AttemptResult:
        try:
            with _monitor_lock(monitor.name):
                decision = retrain(
                    self.context.store,
                    monitor,
                    self.config,
                    self.context.clock,
                    self._encoder(monitor),
                    delivery_id=str(event.get("delivery_id")),
                    cancelled=cancelled,
                )
        except ModelError as exc:
            return AttemptResult(False, False, detail=str(exc))
        except Exception as exc:  # as the dispatcher would say it: only the kind
            return AttemptResult(False, True, detail=f"the hook raised {type(exc).__name__}")
        return AttemptResult(True, detail=decision.summary())
