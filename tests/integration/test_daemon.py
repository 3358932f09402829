"""The daemon end to end: isolation of a broken monitor, a port in use, and the demo under
SIGTERM and restart (a subprocess, as an SRE would run it)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from monitor import daemon as daemon_module
from monitor.cli import main
from monitor.config import MonitorConfig, parse_config
from monitor.cycle import MonitorRuntime
from monitor.daemon import Daemon, DaemonOptions

_FAKES = Path(__file__).resolve().parents[1] / "scheduler" / "scheduling_fakes.py"
_spec = importlib.util.spec_from_file_location("scheduling_fakes", _FAKES)
assert _spec is not None and _spec.loader is not None
fakes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakes)

# the fields of the one JSON log line per cycle, which log shippers index on
CYCLE_LOG_FIELDS = ("monitor", "window_start", "window_end", "rows", "metrics", "duration_s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def sample(body: str, series: str) -> float | None:
    for line in body.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}")


def fake_monitor(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": {"type": "embedding-head", "head": "unused"},
        "reference": {"path": "reference.csv"},
        "stream": {"path": "unused/*.csv"},
        "columns": {"text": "text", "target": "label"},
        "schedule": {"every": "0.3s"},
        "window": {"rows": 10},
        "catch_up": 0,
        "snapshot": False,
    }


def test_a_broken_and_a_slow_monitor_do_not_stop_a_healthy_one(tmp_path: Path) -> None:
    settings = parse_config(
        {
            "storage": f"sqlite:///{tmp_path / 'daemon.db'}",
            "metrics": {"port": 0},
            "monitors": [fake_monitor(n) for n in ("healthy", "broken", "slow")],
        }
    )
    models = {
        "healthy": fakes.FakeModel(),
        "broken": fakes.FakeModel(),
        "slow": fakes.FakeModel(),
    }

    def build(config: MonitorConfig) -> MonitorRuntime:
        model = models[config.name]
        runtime: MonitorRuntime = fakes.fake_runtime(config, model, rows=3000)
        # once the reference is scored: one raises on every window, one takes its time
        model.fail = config.name == "broken"
        model.delay_s = 2.0 if config.name == "slow" else 0.0
        return runtime

    daemon = Daemon(DaemonOptions(grace_s=10), build=build, settings=settings)
    daemon.start()
    try:
        assert daemon.server is not None
        port = daemon.server.port

        def runs(monitor: str, outcome: str) -> float:
            value = sample(
                scrape(port), f'driftwarden_runs_total{{monitor="{monitor}",outcome="{outcome}"}}'
            )
            return value or 0.0

        wait_until(lambda: runs("healthy", "ok") >= 8, 60, "8 healthy cycles")
        assert runs("broken", "error") >= 2
        assert runs("broken", "ok") == 0
        # the broken monitor backs off; the slow one is still on its first few windows
        assert runs("broken", "error") < runs("healthy", "ok")
        assert runs("slow", "ok") <= 3
        body = scrape(port)
        assert 'driftwarden_last_success_timestamp_seconds{monitor="healthy"}' in body
        assert 'driftwarden_last_success_timestamp_seconds{monitor="broken"}' not in body
    finally:
        daemon.stop_requested.set()
        assert daemon.shutdown() is True  # the slow cycle finished within the grace period


def test_a_cycle_outlasting_the_grace_period_is_abandoned(tmp_path: Path) -> None:
    settings = parse_config(
        {
            "storage": f"sqlite:///{tmp_path / 'daemon.db'}",
            "metrics": {"port": 0},
            "monitors": [fake_monitor("slow")],
        }
    )
    model = fakes.FakeModel()

    def build(config: MonitorConfig) -> MonitorRuntime:
        runtime: MonitorRuntime = fakes.fake_runtime(config, model, rows=100)
        model.delay_s = 3.0
        return runtime

    daemon = Daemon(DaemonOptions(grace_s=0.2), build=build, settings=settings)
    daemon.start()
    wait_until(lambda: model.calls >= 2, 30, "the slow cycle to start scoring")
    daemon.stop_requested.set()
    assert daemon.shutdown() is False  # run_daemon then leaves at once; nothing committed
    assert daemon.scheduler is not None
    daemon.scheduler.jobs["slow"].idle.wait(10)  # let the test's thread end before teardown


def test_a_second_signal_exits_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr(daemon_module, "_exit_now", exits.append)
    stop = threading.Event()
    handler = daemon_module._StopSignals(stop)
    handler._handle(signal.SIGTERM, None)
    assert stop.is_set() and exits == []
    handler._handle(signal.SIGINT, None)
    assert exits == [daemon_module.FORCED_EXIT]


def test_a_port_in_use_exits_1_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DRIFTWARDEN_HOME", str(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["run", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--metrics-port", str(port)])
    assert code == 1
    assert f"127.0.0.1:{port}: the port is already in use" in capsys.readouterr().err


def daemon_argv() -> list[str]:
    return [sys.executable, "-c", "import sys; from monitor.cli import main; sys.exit(main())"]


def start_demo(home: Path, db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DRIFTWARDEN_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    with log.open("ab") as sink:
        return subprocess.Popen(
            [
                *daemon_argv(),
                "--log-format",
                "json",
                "run",
                "--db",
                f"sqlite:///{db}",
                "--metrics-port",
                str(port),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def run_and_stop(home: Path, db: Path, log: Path, ok_runs: int) -> None:
    """Start the demo, wait for `ok_runs` successful cycles in /metrics, SIGTERM, exit 0."""
    port = free_port()
    process = start_demo(home, db, port, log)
    series = 'driftwarden_runs_total{monitor="demo-reviews",outcome="ok"}'
    try:

        def enough() -> bool:
            if process.poll() is not None:
                pytest.fail(f"the daemon exited early ({process.returncode}):\n{log.read_text()}")
            return (sample(scrape(port), series) or 0) >= ok_runs

        wait_until(enough, 240, f"{ok_runs} successful demo cycles on /metrics")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
@pytest.mark.integration
def test_the_demo_survives_sigterm_and_restart_without_repeating_a_window(
    tmp_path: Path,
) -> None:
    home, db, log = tmp_path / "home", tmp_path / "demo.db", tmp_path / "daemon.log"
    run_and_stop(home, db, log, ok_runs=2)
    first = json.loads(
        subprocess.run(
            [*daemon_argv(), "runs", "--db", f"sqlite:///{db}", "--json"],
            capture_output=True,
            check=True,
        ).stdout
    )
    run_and_stop(home, db, log, ok_runs=len(first) + 2)
    runs = json.loads(
        subprocess.run(
            [*daemon_argv(), "runs", "--db", f"sqlite:///{db}", "--json"],
            capture_output=True,
            check=True,
        ).stdout
    )
    assert len(runs) >= len(first) + 2
    assert {r["status"] for r in runs} == {"ok"} and {r["monitor"] for r in runs} == {
        "demo-reviews"
    }
    # windows chain across the restart: each starts where the previous one ended
    assert all(b["window_start"] == a["window_end"] for a, b in pairwise(runs))
    # ... and hold every stream row exactly once, scored or quarantined
    with sqlite3.connect(db) as connection:
        scored = [r for (r,) in connection.execute("SELECT row_id FROM predictions")]
        quarantined = [r for (r,) in connection.execute("SELECT row_id FROM quarantined_rows")]
    rows = sorted(int(r.removeprefix("demo-")) for r in scored + quarantined)
    assert rows == list(range(len(rows)))
    assert sum(r["rows"] + r["quarantined"] for r in runs) == len(rows)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    cycles = [line for line in lines if line.get("run_id") is not None]
    assert len(cycles) == len(runs)
    # every cycle's log line carries the run's fields (values are checked against the store)
    assert set(CYCLE_LOG_FIELDS) <= set(cycles[0])
