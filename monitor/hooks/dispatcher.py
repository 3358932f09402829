"""Delivering the outbox: claim due deliveries, run them on a bounded pool, audit every attempt.

For the daemon, one `Dispatcher` per process, off the scoring path::

    dispatcher = Dispatcher(store, config.hooks, SystemClock(), monitors={name: runtime})
    dispatcher.start()                 # a polling thread and `workers` delivery threads
    run_cycle(runtime, store, clock, on_recorded=lambda outcome: dispatcher.wake())
    dispatcher.stop(timeout=10)        # stop claiming; wait for attempts in flight

`once` and tests call `deliver_pending()` instead: synchronous, retries included, until the
outbox holds nothing this process can deliver or the deadline passes. What is left stays in
the outbox for the next process. Delivery is at least once (an attempt whose audit row could
not be written is made again); receivers deduplicate on `X-Driftwarden-Delivery`.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Any

from monitor.clock import Clock, SystemClock
from monitor.hooks.attempts import DeliveryReport, attempt_and_record
from monitor.hooks.base import Hook, HookContext
from monitor.hooks.registry import build_hook
from monitor.store import Store
from monitor.store.outbox import Delivery, claim, pending
from monitor.versions.view import MonitorViews, ViewedMonitor

log = logging.getLogger("driftwarden.hooks")
_MIN_PAUSE = 0.05  # never spin on a row another process holds


class Dispatcher:
    """Delivers the store's outbox through the configured hooks.

    `hooks`: the config's `hooks:` mapping. `monitors`: the monitors loaded in this
    process, by name (retrain hooks need them; a live mapping is read at each delivery),
    handed to hooks as read-only `MonitorView`s.
    `workers` bounds concurrent attempts.
    Retries wait `backoff * 2**(n-1)` seconds (capped at `max_backoff`), with jitter: a
    uniformly random point in the upper half of that delay. `sleep` replaces waiting (a
    simulated clock's `advance`); `share_models` as in `HookContext`.
    """

    def __init__(
        self,
        store: Store,
        hooks: Mapping[str, Any],
        clock: Clock | None = None,
        *,
        monitors: Mapping[str, ViewedMonitor] | None = None,
        workers: int = 4,
        poll_interval: float = 1.0,
        backoff: float = 1.0,
        max_backoff: float = 300.0,
        share_models: bool = False,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("a dispatcher needs at least one worker")
        self.store = store
        self.clock: Clock = clock or SystemClock()
        # read through, not copied: a daemon passes a live mapping of monitors still loading;
        # hooks see read-only views, never a runtime
        context = HookContext(store, self.clock, MonitorViews(monitors or {}), share_models)
        self._context = context
        self.hooks: dict[str, Hook] = {
            name: build_hook(name, config, context) for name, config in hooks.items()
        }
        self.workers = workers
        self.poll_interval = poll_interval
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._futures: set[Future[str]] = set()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    # ------------------------------------------------------------ public

    def start(self) -> None:
        """Deliver in the background until `stop`; returns at once."""
        if self._thread is not None:
            return
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="driftwarden-hook")
        self._thread = threading.Thread(
            target=self._loop, name="driftwarden-dispatcher", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        """Look at the outbox now (a cycle just queued deliveries) instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop claiming and wait up to `timeout` s for attempts in flight; True if all ended.

        An attempt still running after that finishes (or times out) on its own thread; its
        delivery's lease then expires and another process may take it over.
        """
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self._context.stopping.set()  # in-process attempts (python, retrain-head) give up
        self._wake.set()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._pool is None:
            return True
        with self._lock:
            futures = set(self._futures)
        self._pool.shutdown(wait=False, cancel_futures=True)
        _, running = wait(futures, timeout=max(0.0, deadline - time.monotonic()))
        return not running

    def longest_deadline(self) -> float:
        """The longest time one attempt may take (its hook's timeout): what `stop` waits."""
        return max((hook.timeout for hook in self.hooks.values()), default=0.0)

    def deliver_pending(self, deadline: float | None = None) -> DeliveryReport:
        """Deliver what is due, wait for retries, return when done or at `deadline`.

        `deadline` is a `time.monotonic()` value; by default, the worst case of the pending
        deliveries' remaining attempts (timeouts plus backoff), so `once` waits no longer
        than its hooks' own limits.
        """
        report = DeliveryReport()
        if deadline is None:
            deadline = time.monotonic() + self._budget()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="driftwarden-hook") as pool:
            while not self._stopping.is_set():
                batch = self._claim(self.workers)
                if batch:
                    for outcome in pool.map(self._attempt, batch):
                        report.count(outcome)
                    continue
                upcoming = self._next_due(synchronous=True)
                if upcoming is None:
                    break
                pause = max((upcoming - self.clock.now()).total_seconds(), _MIN_PAUSE)
                if time.monotonic() + pause > deadline:
                    break
                # on the wall clock, look again each poll: another process may free rows sooner
                self._pause(pause if self._sleep is not None else min(pause, self.poll_interval))
        report.pending = len(self._pending())
        return report

    def backoff_delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before attempt `attempt + 1`; a receiver's Retry-After is honoured (capped)."""
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_backoff))
        return delay

    # ------------------------------------------------------------ planning

    def _pending(self) -> list[Delivery]:
        with self.store.reading() as session:
            rows = pending(session)
        return [row for row in rows if self._deliverable(row)]

    def _deliverable(self, delivery: Delivery) -> bool:
        hook = self.hooks.get(delivery.hook)
        return hook is None or hook.accepts(delivery.monitor)

    def _next_due(self, *, synchronous: bool = False) -> datetime | None:
        """When a delivery this process could attempt is next due (None: nothing is left).

        Deliveries leased elsewhere (another process, or a worker here) are that worker's to
        finish: waiting for them would tie `once` to a daemon's retries. `synchronous`
        (`deliver_pending`): a retry of a hook that waits for new data (`waits_for_data`)
        is not waited for either; no new data comes while `once` waits.
        """
        now = self.clock.now()
        with self._lock:
            busy = set(self._in_flight)
        times = [
            row.next_attempt_at
            for row in self._pending()
            if row.delivery_id not in busy
            and (row.locked_until is None or row.locked_until <= now)
            and not (synchronous and self._waits_for_data(row))
        ]
        return min(times, default=None)

    def _waits_for_data(self, delivery: Delivery) -> bool:
        hook = self.hooks.get(delivery.hook)
        return hook is not None and hook.waits_for_data and delivery.attempts > 0

    def _worst_case(self, delivery: Delivery) -> float:
        hook = self.hooks.get(delivery.hook)
        if hook is None:
            return 1.0
        retries = 0 if hook.waits_for_data else hook.retries  # see `_next_due`
        later = range(delivery.attempts + 1, retries + 1)
        waits = sum(min(self.max_backoff, self.backoff * 2 ** (n - 1)) for n in later)
        attempts = max(1, retries + 1 - delivery.attempts)
        until_due = max(0.0, (delivery.next_attempt_at - self.clock.now()).total_seconds())
        return until_due + attempts * hook.timeout + waits

    def _budget(self) -> float:
        rows = self._pending()
        if not rows:
            return 0.0
        rounds = math.ceil(len(rows) / self.workers)
        return rounds * max(self._worst_case(row) for row in rows) + 1.0

    def _pause(self, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            self._stopping.wait(seconds)

    # ------------------------------------------------------------ attempts

    def _claim(self, limit: int) -> list[Delivery]:
        now = self.clock.now()
        claimed: list[Delivery] = []
        try:
            with self.store.reading() as session:
                due = pending(session, due_by=now, unlocked_at=now)
            for delivery in due:
                if len(claimed) >= limit:
                    break
                with self._lock:
                    if delivery.delivery_id in self._in_flight:
                        continue
                if not self._deliverable(delivery):
                    continue
                hook = self.hooks.get(delivery.hook)
                lease = timedelta(seconds=hook.lease_seconds() if hook else 60.0)
                with self.store.transaction() as session:
                    taken = claim(session, delivery, now, now + lease)
                if taken:
                    with self._lock:
                        self._in_flight.add(delivery.delivery_id)
                    claimed.append(delivery)
        except Exception as exc:  # the store is busy or down: try again at the next poll
            log.error("hooks: cannot read the outbox: %s", exc)
        return claimed

    def _attempt(self, delivery: Delivery) -> str:
        """One attempt of a claimed delivery, recorded; returns its outcome."""
        try:
            return attempt_and_record(
                self.store, self.clock, self.hooks.get(delivery.hook), delivery, self.backoff_delay
            )
        finally:
            with self._lock:
                self._in_flight.discard(delivery.delivery_id)

    # ------------------------------------------------------------ background

    def _run(self, delivery: Delivery) -> str:
        try:
            return self._attempt(delivery)
        finally:
            self._wake.set()  # a worker is free, and a retry may be due soon

    def _loop(self) -> None:
        assert self._pool is not None
        while not self._stopping.is_set():
            self._wake.clear()
            with self._lock:
                free = self.workers - len(self._in_flight)
            if free > 0:
                for delivery in self._claim(free):
                    try:
                        future = self._pool.submit(self._run, delivery)
                    except RuntimeError:  # the pool shut down under us: stopping
                        with self._lock:
                            self._in_flight.discard(delivery.delivery_id)
                        return
                    with self._lock:
                        self._futures.add(future)
                    future.add_done_callback(self._forget)
            self._wake.wait(self._idle_seconds())

    def _forget(self, future: Future[str]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _idle_seconds(self) -> float:
        try:
            upcoming = self._next_due()
        except Exception:
            return self.poll_interval
        if upcoming is None:
            return self.poll_interval
        seconds = (upcoming - self.clock.now()).total_seconds()
        return min(self.poll_interval, max(seconds, _MIN_PAUSE))
