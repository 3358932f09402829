"""The built-in retrain-head hook: on a firing alert, retrain the monitor's head
(`monitor.versions.head_retrain`); a resolved alert does nothing."""

from __future__ import annotations

import threading
from typing import Any

from monitor.errors import ModelError
from monitor.hooks.base import AttemptResult, HookContext
from monitor.hooks.retrain_base import RetrainHook, monitor_lock
from monitor.hooks.specs import RetrainHeadHook
from monitor.models.base import TextEncoder
from monitor.versions.head_retrain import head_config, retrain
from monitor.versions.view import MonitorView


class RetrainHead(RetrainHook):
    """Runs `retrain` for the monitor whose alert fired, one retrain per monitor at a time.

    The decision, promoted or not, counts as delivered: the hook did its job. It needs the
    monitor loaded in this process (`HookContext.monitors`); elsewhere the delivery waits.
    """

    config: RetrainHeadHook

    def __init__(self, name: str, config: RetrainHeadHook, context: HookContext) -> None:
        super().__init__(name, config, context)
        self._encoders: dict[str, TextEncoder] = {}

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

    def _retrain(
        self, monitor: MonitorView, event: dict[str, Any], cancelled: threading.Event
    ) -> AttemptResult:
        try:
            with monitor_lock(monitor.name):
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
