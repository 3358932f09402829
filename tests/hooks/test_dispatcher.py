"""The dispatcher's own rules: backoff with jitter, Retry-After, leases between processes,
hooks gone from the config, deliveries this process cannot make."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
from alerts.support import make_rig

from hooks.receiver import Receiver
from monitor.hooks import Dispatcher
from monitor.hooks.specs import RetrainHeadHook
from monitor.store.outbox import delivery_counts
from monitor.versions.view import MonitorView
from monitor.views.hooks import attempts

RULE = {"name": "accuracy-drop", "metric": "accuracy", "below": 0.8, "for": 1}


def test_backoff_doubles_with_jitter_in_the_upper_half(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, [])
    hooks = Dispatcher(rig.store, {}, backoff=1.0, max_backoff=10.0, rng=random.Random(3))
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)]:
        delays = [hooks.backoff_delay(attempt) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 4  # jittered, not constant
    assert hooks.backoff_delay(1, retry_after=7.0) == 7.0  # the receiver's wish wins...
    assert hooks.backoff_delay(1, retry_after=500.0) == 10.0  # ...up to the cap
    rig.close()


def test_two_processes_on_one_store_deliver_each_event_once(tmp_path: Path) -> None:
    receiver = Receiver().start()
    try:
        hooks = {"notify": {"type": "webhook", "url": receiver.url}}
        rig = make_rig(tmp_path, [{**RULE, "hooks": ["notify"]}], hooks)
        for accuracy in (0.5, 0.9, 0.5, 0.9, 0.5, 0.9):  # six events
            rig.window(accuracy)
        rig.store.close()
        from monitor.store import open_store

        stores = [open_store(rig.config.storage) for _ in range(2)]
        dispatchers = [Dispatcher(s, rig.config.hooks, workers=3) for s in stores]
        threads = [threading.Thread(target=d.deliver_pending) for d in dispatchers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        # neither waits on the other's leases: both return once nothing is theirs to send
        assert not any(thread.is_alive() for thread in threads)
        for store in stores:
            store.close()
    finally:
        receiver.stop()
    ids = [r.headers["X-Driftwarden-Delivery"] for r in receiver.requests]
    assert len(ids) == 6 == len(set(ids))
    rig.restart()
    with rig.store.reading() as session:
        assert delivery_counts(session) == {"pending": 0, "delivered": 6, "failed": 0}
        assert [r["attempt"] for r in attempts(session)] == [1] * 6
    rig.close()


def test_a_hook_removed_from_the_config_fails_its_deliveries(tmp_path: Path) -> None:
    rig = make_rig(
        tmp_path, [{**RULE, "hooks": ["old"]}], {"old": {"type": "command", "argv": ["true"]}}
    )
    rig.window(0.5)
    report = Dispatcher(rig.store, {}).deliver_pending()
    assert (report.failed, report.pending) == (1, 0)
    with rig.store.reading() as session:
        (row,) = attempts(session)
    assert row["outcome"] == "failed" and row["detail"] == "hook 'old' is not in the config"
    rig.close()


def test_retrain_deliveries_wait_for_a_process_running_their_monitor(tmp_path: Path) -> None:
    # check-config refuses retrain-head on an sklearn monitor; wire it after validation to
    # check the dispatcher's own guard (a config edited under a running daemon, say)
    rig = make_rig(
        tmp_path,
        [{**RULE, "hooks": ["retrain"]}],
        {"retrain": {"type": "command", "argv": ["true"]}},
    )
    rig.config.hooks["retrain"] = RetrainHeadHook(type="retrain-head")
    rig.window(0.5)
    # no runtime for the monitor in this process: left in the outbox, not failed
    report = Dispatcher(rig.store, rig.config.hooks).deliver_pending()
    assert (report.delivered, report.failed, report.pending) == (0, 0, 0)
    with rig.store.reading() as session:
        assert delivery_counts(session)["pending"] == 1
    # the monitor's own process takes it; an sklearn model cannot be retrained: failed, once
    monitors = {rig.monitor: rig.runtime}
    report = Dispatcher(rig.store, rig.config.hooks, monitors=monitors).deliver_pending()
    assert report.failed == 1
    with rig.store.reading() as session:
        (row,) = attempts(session)
    assert "retrain-head needs an embedding-head model" in row["detail"]
    rig.close()


def test_stop_returns_while_idle_and_a_started_dispatcher_delivers(tmp_path: Path) -> None:
    receiver = Receiver().start()
    try:
        hooks = {"notify": {"type": "webhook", "url": receiver.url}}
        rig = make_rig(tmp_path, [{**RULE, "hooks": ["notify"]}], hooks)
        dispatcher = Dispatcher(rig.store, rig.config.hooks, poll_interval=5.0)
        dispatcher.start()
        rig.window(0.5)
        dispatcher.wake()  # no waiting for the 5 s poll
        deadline = time.monotonic() + 5
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        assert dispatcher.stop(timeout=5)  # True: the worker ended, none left hanging
    finally:
        receiver.stop()
    assert len(receiver.requests) == 1
    rig.close()


def test_workers_must_be_positive(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, [])
    with pytest.raises(ValueError):
        Dispatcher(rig.store, {}, workers=0)
    rig.close()


def test_an_unusable_webhook_url_is_a_start_up_config_error(tmp_path: Path) -> None:
    from monitor.errors import ConfigError
    from monitor.hooks.specs import WebhookHook

    rig = make_rig(tmp_path, [])
    bad = WebhookHook(type="webhook", url="http://127.0.0.1:99999/hook")
    with pytest.raises(ConfigError, match=r"hooks\.notify\.url: the port"):
        Dispatcher(rig.store, {"notify": bad})
    rig.close()


def test_hooks_see_a_read_only_view_of_a_monitor_never_its_runtime(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, [RULE], {"page": {"type": "command", "argv": ["true"]}})
    dispatcher = Dispatcher(rig.store, rig.config.hooks, monitors={rig.monitor: rig.runtime})
    view = dispatcher.hooks["page"].context.monitors[rig.monitor]
    assert isinstance(view, MonitorView) and view is not rig.runtime
    assert (view.name, view.version) == (rig.monitor, rig.runtime.model.version)
    assert view.config is rig.runtime.config
    assert not hasattr(view, "swap") and not hasattr(view, "source")
    with pytest.raises(AttributeError):
        view.extra = 1  # type: ignore[attr-defined]
    rig.close()
