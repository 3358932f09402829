"""The built-in retrain-fm hook: on a firing alert, fine-tune the monitor's encoder with its
head into a candidate in shadow (`monitor.versions.fm_retrain`), and decide the candidate
once later windows have labels (`monitor.versions.shadow`); a resolved alert does nothing.

A delivery lasts until its candidate is decided: while the candidate waits for labels, the
attempt reports "not yet" and asks to be retried after `shadow_check`.
"""

from __future__ import annotations

import threading
from typing import Any

from monitor.errors import DriftwardenError
from monitor.hooks.base import AttemptResult
from monitor.hooks.retrain_base import RetrainHook, monitor_lock
from monitor.hooks.specs import RetrainFmHook
from monitor.versions.fm_retrain import train_candidate
from monitor.versions.shadow import decide, pending_candidate
from monitor.versions.view import MonitorView


class RetrainFm(RetrainHook):
    """Trains or decides a candidate for the monitor whose alert fired, one at a time."""

    config: RetrainFmHook
    waits_for_data = True

    def _retrain(
        self, monitor: MonitorView, event: dict[str, Any], cancelled: threading.Event
    ) -> AttemptResult:
        store, clock = self.context.store, self.context.clock
        delivery_id = str(event.get("delivery_id"))
        wait = self.config.shadow_check.total_seconds()
        try:
            with monitor_lock(monitor.name):
                candidate = pending_candidate(store, monitor.name)
                if candidate is None:
                    training = train_candidate(
                        store,
                        monitor,
                        self.config,
                        clock,
                        delivery_id=delivery_id,
                        cancelled=cancelled,
                    )
                    if not training.in_shadow:
                        return AttemptResult(True, detail=f"rejected: {training.reason}")
                    return AttemptResult(False, True, detail=training.reason, retry_after=wait)
                verdict = decide(
                    store, monitor, candidate, self.config, clock, delivery_id=delivery_id
                )
        except DriftwardenError as exc:
            return AttemptResult(False, False, detail=str(exc))
        except Exception as exc:  # as the dispatcher would say it: only the kind
            return AttemptResult(False, True, detail=f"the hook raised {type(exc).__name__}")
        if verdict.state == "waiting":
            return AttemptResult(False, True, detail=verdict.summary(), retry_after=wait)
        return AttemptResult(True, detail=verdict.summary())
