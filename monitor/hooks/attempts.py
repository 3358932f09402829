"""One delivery attempt, made and written to the audit trail, and a tally of attempts.

The dispatcher (`monitor.hooks.dispatcher`) decides what to attempt and when; this module
makes one attempt through its hook, guards against a hook that raises, and records the
outcome (delivered, retry at a backoff, failed) with a redacted detail.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from monitor.clock import Clock
from monitor.hooks.base import AttemptResult, Hook, redact
from monitor.store import Store
from monitor.store.outbox import DELIVERED, FAILED, RETRY, Delivery, record_attempt

log = logging.getLogger("driftwarden.hooks")


@dataclass
class DeliveryReport:
    """Attempts one `deliver_pending` call made, by outcome, and what it left pending."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    pending: int = 0

    def count(self, outcome: str) -> None:
        if outcome == DELIVERED:
            self.delivered += 1
        elif outcome == RETRY:
            self.retried += 1
        else:
            self.failed += 1

    def summary(self) -> str:
        return (
            f"hooks: {self.delivered} delivered, {self.failed} failed, "
            f"{self.retried} retried; {self.pending} still pending"
        )


def attempt_and_record(
    store: Store,
    clock: Clock,
    hook: Hook | None,
    delivery: Delivery,
    backoff_delay: Callable[[int, float | None], float],
) -> str:
    """One attempt of a claimed delivery, recorded; returns its outcome. `backoff_delay`
    gives the seconds before the next attempt (attempt number, the receiver's Retry-After)."""
    started = clock.now()
    clock_start = time.perf_counter()
    result = _call(hook, delivery)
    duration = time.perf_counter() - clock_start
    attempt = delivery.attempts + 1
    next_at = None
    if result.delivered:
        outcome = DELIVERED
    elif result.retryable and hook is not None and attempt <= hook.retries:
        outcome = RETRY
        next_at = clock.now() + timedelta(seconds=backoff_delay(attempt, result.retry_after))
    else:
        outcome = FAILED
    detail = redact(result.detail, hook.secrets() if hook else [])
    try:
        with store.transaction() as session:
            record_attempt(
                session,
                delivery,
                outcome=outcome,
                started_at=started,
                duration_seconds=duration,
                status_code=result.status_code,
                exit_status=result.exit_status,
                detail=detail,
                next_attempt_at=next_at,
            )
    except Exception as exc:  # unrecorded: the lease expires and the attempt is made again
        log.error(
            "hook %s: cannot record attempt %d of delivery %s: %s",
            delivery.hook,
            attempt,
            delivery.delivery_id,
            exc,
        )
    level = {DELIVERED: logging.INFO, RETRY: logging.WARNING}.get(outcome, logging.ERROR)
    log.log(
        level,
        "hook %s: %s %s/%s delivery %s attempt %d: %s (%s, %.2fs)",
        delivery.hook,
        delivery.payload.get("event"),
        delivery.monitor,
        delivery.rule,
        delivery.delivery_id,
        attempt,
        outcome,
        detail,
        duration,
    )
    return outcome


def _call(hook: Hook | None, delivery: Delivery) -> AttemptResult:
    if hook is None:
        return AttemptResult(False, False, detail=f"hook {delivery.hook!r} is not in the config")
    try:
        return hook.deliver(delivery.event)
    except Exception as exc:  # a hook must not take a worker down; its message may hold
        # anything (a URL, a header), so only the type is kept
        return AttemptResult(False, True, detail=f"the hook raised {type(exc).__name__}")
