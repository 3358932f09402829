"""Command and python hooks: the same events as the webhook, exit statuses, and timeouts that
cut a hanging hook (and what it started) without holding up the outbox."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alerts.support import Rig, make_rig

from hooks.receiver import Receiver
from monitor.hooks import Dispatcher
from monitor.views.hooks import attempts

RULE = {"name": "accuracy-drop", "metric": "accuracy", "below": 0.8, "for": 2}
RECORDER = """
import json, os, sys
with open(sys.argv[1], "a") as out:
    out.write(json.dumps({"stdin": sys.stdin.read(), "env": os.environ["DRIFTWARDEN_EVENT"],
                          "argv": sys.argv[2:]}) + "\\n")
sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 0)
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def audit(rig: Rig) -> list[dict]:
    with rig.store.reading() as session:
        return attempts(session)


def drive(rig: Rig, accuracies: list[float]) -> Dispatcher:
    hooks = Dispatcher(rig.store, rig.config.hooks, backoff=0.05)
    for accuracy in accuracies:
        rig.window(accuracy)
        hooks.deliver_pending()
    return hooks


def without_id(event: dict) -> dict:
    return {k: v for k, v in event.items() if k != "delivery_id"}


def test_a_command_receives_the_same_events_as_the_webhook(
    tmp_path: Path, receiver: Receiver
) -> None:
    script = tmp_path / "record.py"
    script.write_text(RECORDER)
    log = tmp_path / "events.jsonl"
    # a shell would run the `;` part; argv goes to the program untouched
    argv = [sys.executable, str(script), str(log), "x; touch pwned"]
    hooks = {
        "notify": {"type": "webhook", "url": receiver.url},
        "script": {"type": "command", "argv": argv},
    }
    rig = make_rig(tmp_path, [{**RULE, "hooks": ["notify", "script"]}], hooks)
    drive(rig, [0.95, 0.6, 0.6, 0.5, 0.9, 0.9, 0.95])
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(calls) == 2 == len(receiver.requests)
    for call, request in zip(calls, receiver.requests, strict=True):
        assert call["stdin"] == call["env"]
        assert call["argv"] == ["x; touch pwned"]
        command_event = json.loads(call["stdin"])
        assert without_id(command_event) == without_id(request.event)
        assert command_event["delivery_id"] != request.event["delivery_id"]  # one per hook
    assert [json.loads(c["stdin"])["state"] for c in calls] == ["firing", "resolved"]
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
    script_rows = [r for r in audit(rig) if r["hook"] == "script"]
    assert [(r["outcome"], r["exit_status"]) for r in script_rows] == [("delivered", 0)] * 2
    rig.close()


def test_a_failing_command_records_its_exit_status(tmp_path: Path) -> None:
    script = tmp_path / "record.py"
    script.write_text(RECORDER)
    argv = [sys.executable, str(script), str(tmp_path / "log.jsonl"), "3"]
    rig = make_rig(
        tmp_path,
        [{**RULE, "hooks": ["script"]}],
        {"script": {"type": "command", "argv": argv, "retries": 1}},
    )
    drive(rig, [0.6, 0.6])
    assert [(r["outcome"], r["exit_status"], r["detail"]) for r in audit(rig)] == [
        ("retry", 3, "exit status 3"),
        ("failed", 3, "exit status 3"),
    ]
    rig.close()


def test_a_missing_program_fails_without_retries(tmp_path: Path) -> None:
    argv = [str(tmp_path / "no-such-program")]
    rig = make_rig(
        tmp_path,
        [{**RULE, "hooks": ["script"]}],
        {"script": {"type": "command", "argv": argv, "retries": 3}},
    )
    drive(rig, [0.6, 0.6])
    rows = audit(rig)
    assert [r["outcome"] for r in rows] == ["failed"]
    assert "No such file" in rows[0]["detail"]
    rig.close()


def test_a_hanging_command_is_cut_at_its_timeout_with_what_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    hang = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(120)\n"
    )
    hooks = {"stuck": {"type": "command", "argv": [sys.executable, "-c", hang], "timeout": "1s"}}
    rig = make_rig(tmp_path, [{**RULE, "hooks": ["stuck"]}], hooks)
    rig.window(0.6)
    rig.window(0.6)
    report = Dispatcher(rig.store, rig.config.hooks).deliver_pending()
    assert report.failed == 1
    (row,) = audit(rig)
    assert row["outcome"] == "failed" and row["detail"] == "timed out after 1s; killed"
    assert row["exit_status"] == -9  # SIGKILL at the timeout, not a natural exit
    grandchild = int(pid_file.read_text())
    assert not _alive(grandchild)
    rig.close()


def _alive(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return False
        if "State:\tZ" in status:  # killed, waiting for a parent that is gone to reap it
            return False
        time.sleep(0.05)
    return True


SINK = """
import time
EVENTS = []

def collect(event):
    EVENTS.append(event)

def explode(event):
    raise RuntimeError("no luck with " + event["rule"])

def hang(event):
    time.sleep(30)
"""


@pytest.fixture
def sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "dw_test_sink.py").write_text(SINK)
    monkeypatch.syspath_prepend(str(tmp_path))
    import dw_test_sink

    yield dw_test_sink
    sys.modules.pop("dw_test_sink", None)


def test_a_python_hook_is_called_with_the_event(tmp_path: Path, receiver: Receiver, sink) -> None:
    hooks = {
        "notify": {"type": "webhook", "url": receiver.url},
        "py": {"type": "python", "target": "dw_test_sink:collect"},
    }
    rig = make_rig(tmp_path, [{**RULE, "hooks": ["notify", "py"]}], hooks)
    drive(rig, [0.6, 0.6, 0.9, 0.9])
    assert [e["state"] for e in sink.EVENTS] == ["firing", "resolved"]
    assert [without_id(e) for e in sink.EVENTS] == [without_id(r.event) for r in receiver.requests]
    rig.close()


def test_a_python_hook_that_raises_or_hangs_is_a_failed_attempt(tmp_path: Path, sink) -> None:
    hooks = {
        "boom": {"type": "python", "target": "dw_test_sink:explode", "retries": 1},
        "slow": {"type": "python", "target": "dw_test_sink:hang", "timeout": "0.5s"},
        "gone": {"type": "python", "target": "dw_test_sink:nothing_here"},
    }
    rig = make_rig(tmp_path, [{**RULE, "hooks": ["boom", "slow", "gone"]}], hooks)
    drive(rig, [0.6, 0.6])
    rows = {(r["hook"], r["attempt"]): (r["outcome"], r["detail"]) for r in audit(rig)}
    assert rows == {
        ("boom", 1): ("retry", "RuntimeError: no luck with accuracy-drop"),
        ("boom", 2): ("failed", "RuntimeError: no luck with accuracy-drop"),
        ("slow", 1): ("failed", "timed out after 0.5s"),
        ("gone", 1): (
            "failed",
            "cannot load dw_test_sink:nothing_here: AttributeError: "
            "module 'dw_test_sink' has no attribute 'nothing_here'",
        ),
    }
    rig.close()
