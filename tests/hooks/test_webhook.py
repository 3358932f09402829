"""Webhook deliveries to a real HTTP receiver: signature, body, one per episode state, retries,
a receiver down across a restart, a hung endpoint, and secrets kept out of everything."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alerts.support import Rig, make_rig

from hooks.receiver import Receiver, free_port
from monitor.cli import main
from monitor.hooks import Dispatcher
from monitor.store import open_store
from monitor.views.hooks import attempts

SECRET = "whsec-Zq81-never-in-the-store"
FIELDS = {
    "event", "monitor", "rule", "state", "metric", "value", "threshold",
    "window_start", "window_end", "run_id", "fired_at", "delivery_id",
}  # fmt: skip
RULE = {"name": "accuracy-drop", "metric": "accuracy", "below": 0.8, "for": 2, "hooks": ["notify"]}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def webhook_rig(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, **hook: object) -> Rig:
    monkeypatch.setenv("DW_TEST_SECRET", SECRET)
    notify = {"type": "webhook", "url": url, "secret": "${DW_TEST_SECRET}", "timeout": "2s"}
    return make_rig(tmp_path, [{**RULE, "resolve_after": 2}], {"notify": {**notify, **hook}})


def dispatcher(rig: Rig, **options: object) -> Dispatcher:
    return Dispatcher(rig.store, rig.config.hooks, backoff=0.05, **options)  # type: ignore[arg-type]


def audit(rig: Rig) -> list[dict]:
    with rig.store.reading() as session:
        return attempts(session)


def test_one_signed_delivery_per_episode_state(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = webhook_rig(tmp_path, receiver.url, monkeypatch)
    hooks = dispatcher(rig)
    # pending, fires, stays firing, one clean window, breach again, two clean: resolves
    accuracies = [0.95, 0.6, 0.6, 0.5, 0.9, 0.5, 0.9, 0.95, 0.95]
    outcomes = []
    for accuracy in accuracies:
        outcomes.append(rig.window(accuracy))
        hooks.deliver_pending()
    assert [len(o.transitions) for o in outcomes] == [0, 0, 1, 0, 0, 0, 0, 1, 0]
    assert len(receiver.requests) == 2
    fired, resolved = receiver.requests
    expected = ((fired, outcomes[2], "firing"), (resolved, outcomes[7], "resolved"))
    for request, outcome, state in expected:
        event = request.event
        assert set(event) == FIELDS
        assert request.signature_valid(SECRET)
        assert request.headers["X-Driftwarden-Delivery"] == event["delivery_id"]
        assert request.headers["Content-Type"] == "application/json"
        assert request.path == "/hook"
        assert event["event"] == f"alert_{state}" and event["state"] == state
        assert event["monitor"] == "tabular" and event["rule"] == "accuracy-drop"
        assert event["metric"] == "accuracy" and event["threshold"] == 0.8
        assert event["run_id"] == outcome.run_id
        assert event["value"] == pytest.approx(outcome.result.run_metrics()["accuracy"])
        assert event["window_end"] == outcome.window_end.isoformat().replace("+00:00", "Z")
        assert event["window_start"] == outcome.window_start.isoformat().replace("+00:00", "Z")
        assert event["delivery_id"] in outcome.transitions[0].delivery_ids
    assert fired.event["value"] == pytest.approx(0.6)
    assert resolved.event["value"] == pytest.approx(0.95)
    assert fired.event["fired_at"] == resolved.event["fired_at"] == fired.event["window_end"]
    assert fired.event["delivery_id"] != resolved.event["delivery_id"]
    rows = audit(rig)
    assert [(r["event"], r["attempt"], r["outcome"], r["status_code"]) for r in rows] == [
        ("alert_firing", 1, "delivered", 200),
        ("alert_resolved", 1, "delivered", 200),
    ]
    rig.close()


def test_a_503_is_retried_once_with_the_same_delivery_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver(statuses=[503, 200]).start()
    try:
        rig = webhook_rig(tmp_path, receiver.url, monkeypatch, retries=3)
        for accuracy in (0.6, 0.6):
            rig.window(accuracy)
        report = dispatcher(rig).deliver_pending()
    finally:
        receiver.stop()
    assert (report.delivered, report.retried, report.failed, report.pending) == (1, 1, 0, 0)
    first, second = receiver.requests
    assert first.headers["X-Driftwarden-Delivery"] == second.headers["X-Driftwarden-Delivery"]
    assert first.body == second.body and second.signature_valid(SECRET)
    rows = audit(rig)
    assert [(r["attempt"], r["outcome"], r["status_code"]) for r in rows] == [
        (1, "retry", 503),
        (2, "delivered", 200),
    ]
    assert rows[0]["delivery_id"] == rows[1]["delivery_id"] == first.event["delivery_id"]
    rig.close()


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([400], [("failed", 400)]),
        ([404], [("failed", 404)]),
        ([429, 200], [("retry", 429), ("delivered", 200)]),
        ([408, 204], [("retry", 408), ("delivered", 204)]),
        ([500, 502, 503], [("retry", 500), ("retry", 502), ("failed", 503)]),
    ],
)
def test_which_answers_are_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statuses: list[int], expected: list
) -> None:
    receiver = Receiver(statuses=statuses).start()
    try:
        rig = webhook_rig(tmp_path, receiver.url, monkeypatch, retries=2)
        rig.window(0.6)
        rig.window(0.6)
        dispatcher(rig).deliver_pending()
    finally:
        receiver.stop()
    assert [(r["outcome"], r["status_code"]) for r in audit(rig)] == expected
    assert len(receiver.requests) == len(expected)
    rig.close()


def test_receiver_down_then_a_restart_delivers_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    rig = webhook_rig(tmp_path, f"http://127.0.0.1:{port}/hook", monkeypatch, retries=10)
    rig.window(0.6)
    rig.window(0.6)
    # nothing listens: a few refused attempts, then this process "dies" with retries left
    first = dispatcher(rig).deliver_pending(deadline=time.monotonic() + 0.4)
    assert first.delivered == 0 and first.retried >= 2 and first.pending == 1
    rig.restart()  # a new Store on the same file, a new Dispatcher: nothing kept in memory
    receiver = Receiver(port=port).start()
    try:
        second = dispatcher(rig).deliver_pending()
    finally:
        receiver.stop()
    assert (second.delivered, second.pending) == (1, 0)
    assert len(receiver.requests) == 1 and receiver.requests[0].signature_valid(SECRET)
    rows = audit(rig)
    assert [r["outcome"] for r in rows] == ["retry"] * first.retried + ["delivered"]
    assert [r["attempt"] for r in rows] == list(range(1, first.retried + 2))
    assert {r["delivery_id"] for r in rows} == {receiver.requests[0].event["delivery_id"]}
    assert rows[0]["detail"] == "connection refused"
    # and a third process finds nothing left to send
    assert dispatcher(rig).deliver_pending().delivered == 0
    assert len(receiver.requests) == 1
    rig.close()


def test_a_hung_endpoint_costs_its_timeout_and_never_blocks_a_cycle(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.hang.set()
    rig = webhook_rig(tmp_path, receiver.url, monkeypatch, timeout="1s", retries=1)
    hooks = dispatcher(rig, poll_interval=0.05)
    hooks.start()
    try:
        rig.window(0.6)
        fired = rig.window(0.6)
        hooks.wake()
        rig.window(0.5)  # cycles go on while the delivery hangs in its worker
        rig.window(0.5)
        # both cycles are recorded while the first attempt still hangs: none is audited yet
        assert audit(rig) == []
        assert fired.transitions
        deadline = time.monotonic() + 10
        while len(audit(rig)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        assert hooks.stop(timeout=5)
    rows = audit(rig)
    assert [(r["outcome"], r["detail"]) for r in rows] == [
        ("retry", "timed out after 1s"),
        ("failed", "timed out after 1s"),
    ]
    rig.close()


def test_the_secret_stays_out_of_store_output_and_logs(
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.statuses.extend([500, 200])
    rig = webhook_rig(tmp_path, receiver.url, monkeypatch, headers={"Authorization": SECRET})
    rig.window(0.6)
    rig.window(0.6)
    dispatcher(rig).deliver_pending()
    assert receiver.requests[-1].headers["Authorization"] == SECRET  # it was used...
    rig.close()
    url = rig.config.storage
    assert main(["hooks", "--db", url, "--json"]) == 0
    assert main(["hooks", "--db", url]) == 0
    assert main(["runs", "--db", url, "--json"]) == 0
    shown = capsys.readouterr()
    listed = json.loads(shown.out.split("\n]\n")[0] + "\n]")
    assert [r["outcome"] for r in listed] == ["retry", "delivered"]
    # ...and nowhere else: not in output, logs, nor any byte of the database files
    assert SECRET not in shown.out + shown.err
    assert SECRET not in caplog.text
    assert "DW_TEST_SECRET" not in shown.out
    for path in Path(tmp_path).glob("dw.db*"):
        assert SECRET.encode() not in path.read_bytes()
    store = open_store(url)
    store.close()
