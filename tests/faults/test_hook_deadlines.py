"""Hooks under faults: a receiver that answers a byte at a time, a hook that never returns,
and a command that must not see the daemon's secrets. Real sockets, threads and processes."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hooks.receiver import Receiver

from monitor.clock import SystemClock
from monitor.config import parse_config
from monitor.hooks.base import HookContext
from monitor.hooks.registry import build_hook
from monitor.store import open_store

pytestmark = pytest.mark.faults

EVENT = {
    "event": "alert_firing",
    "monitor": "m",
    "rule": "r",
    "delivery_id": "0b8e2d9c-0000-4000-8000-000000000001",
    "fired_at": datetime(2024, 3, 1, tzinfo=UTC).isoformat(),
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def hook(name: str, block: dict, context: HookContext):  # type: ignore[no-untyped-def]
    document = {
        "hooks": {name: block},
        "monitors": [
            {
                "name": "m",
                "model": {"type": "sklearn", "path": "m.joblib"},
                "reference": {"path": "r.csv"},
                "stream": {"path": "s/*.csv"},
                "columns": {"features": ["x"]},
            }
        ],
    }
    return build_hook(name, parse_config(document).hooks[name], context)


@pytest.fixture
def context(tmp_path: Path) -> HookContext:
    return HookContext(open_store(f"sqlite:///{tmp_path / 'dw.db'}"), SystemClock())


def test_a_receiver_dripping_its_answer_is_cut_at_the_attempts_deadline(
    receiver: Receiver, context: HookContext
) -> None:
    """A socket timeout bounds one read; a byte every 0.5 s never trips a 2 s one, and the
    38-byte answer would take 19 s. The attempt's deadline cuts it with the answer unread."""
    receiver.drip = 0.5
    webhook = hook("slow", {"type": "webhook", "url": receiver.url, "timeout": "2s"}, context)
    result = webhook.deliver(dict(EVENT))
    assert not result.delivered and result.retryable
    assert result.detail == "timed out after 2s"
    answer = len(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert 0 < receiver.dripped < answer  # it was answering, and was cut off midway


def test_a_python_hook_that_never_returns_is_abandoned_when_the_process_stops(
    context: HookContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    module = type(sys)("driftwarden_test_stuck")
    module.wait = lambda event: release.wait(60)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "driftwarden_test_stuck", module)
    stuck = hook("stuck", {"type": "python", "target": "driftwarden_test_stuck:wait"}, context)
    threading.Timer(0.3, context.stopping.set).start()
    result = stuck.deliver(dict(EVENT))
    release.set()
    assert (result.delivered, result.detail) == (False, "abandoned: the process stopped")


def test_a_command_gets_a_minimal_environment_plus_what_its_config_names(
    tmp_path: Path, context: HookContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DW_DATABASE_PASSWORD", "pg-secret-never-passed")
    monkeypatch.setenv("DW_PASSED", "passed-through")
    monkeypatch.setenv("DW_HOOK_TOKEN", "token-from-env")
    out = tmp_path / "env.json"
    script = "import json, os, sys; json.dump(dict(os.environ), open(sys.argv[1], 'w'))"
    block = {
        "type": "command",
        "argv": [sys.executable, "-c", script, str(out)],
        "pass_env": ["DW_PASSED", "DW_NOT_SET"],
        "env": {"NOTIFY_TOKEN": "${DW_HOOK_TOKEN}", "CHANNEL": "#drift"},
    }
    result = hook("script", block, context).deliver(dict(EVENT))
    assert result.delivered, result.detail
    seen = json.loads(out.read_text())
    assert "DW_DATABASE_PASSWORD" not in seen and "pg-secret-never-passed" not in seen.values()
    assert seen["DW_PASSED"] == "passed-through" and "DW_NOT_SET" not in seen
    assert seen["NOTIFY_TOKEN"] == "token-from-env" and seen["CHANNEL"] == "#drift"
    assert json.loads(seen["DRIFTWARDEN_EVENT"]) == EVENT
    assert seen["PATH"]  # programs still resolve as they would from a shell
    assert set(seen) <= {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"} | {
        "DW_PASSED", "NOTIFY_TOKEN", "CHANNEL", "DRIFTWARDEN_EVENT"
    }  # fmt: skip
