"""The real daemon over a store that hangs (issue 22): the test holds the SQLite WAL index's
writer and reader locks (the byte-range locks SQLite takes in the `-shm` file), so every
read and write of the daemon waits about 10 s before SQLite gives up, as on a stopped
database server.
`/readyz` answers 503 and `/metrics` answers with `store_up 0` within their 1.5 s store
deadline, and SIGTERM ends the process without waiting for the cycles stuck on the store
(they get the store deadline, not the 30 s grace, nor the busy timeout)."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from alerts.support import config_document

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
#: how long a request may take before the test calls it unanswered: above the store
#: deadline (1.5 s), well below the busy timeout (10 s) a read without the deadline waits
ANSWER_S = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=ANSWER_S) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def start_daemon(folder: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    document = config_document(folder, alerts=[])
    document["monitors"][0]["schedule"] = {"every": "1s"}
    (folder / "stream").mkdir()
    config = folder / "driftwarden.yaml"
    config.write_text(yaml.safe_dump(document))
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = os.environ | {"PYTHONPATH": path, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    argv = [sys.executable, "-c", "import sys; from monitor.cli import main; sys.exit(main())"]
    with log.open("ab") as sink:
        return subprocess.Popen(
            [*argv, "run", "--config", str(config), "--metrics-host", "127.0.0.1",
             "--metrics-port", str(port)],
            stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip


def wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the daemon exited early ({process.returncode}):\n{log.read_text()}")
        try:
            if get(f"http://127.0.0.1:{port}/readyz")[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)
    pytest.fail(f"the daemon was not ready within 120 s:\n{log.read_text()[-3000:]}")


def hang(database: Path) -> int:
    """Hold the WAL index's write, checkpoint and five read-mark locks (bytes 120-121 and
    123-127 of the `-shm` file, SQLite's layout); each waits for a transaction in flight to
    end. Returns the descriptor: closing it releases them."""
    shm = os.open(f"{database}-shm", os.O_RDWR)
    fcntl.lockf(shm, fcntl.LOCK_EX, 2, 120, os.SEEK_SET)
    fcntl.lockf(shm, fcntl.LOCK_EX, 5, 123, os.SEEK_SET)
    return shm


def test_sigterm_with_a_hung_store_exits_without_waiting_for_the_store(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "daemon.log"
    process = start_daemon(tmp_path, port, log)
    lock: int | None = None
    try:
        wait_ready(process, port, log)
        lock = hang(tmp_path / "dw.db")
        status, body = get(f"http://127.0.0.1:{port}/readyz")
        assert status == 503, body
        assert "store unreachable" in body, body
        status, body = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert 'driftwarden_store_up{monitor="tabular"} 0.0' in body, body[-2000:]
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=8)  # under the busy timeout a stuck cycle would wait out
        except subprocess.TimeoutExpired:
            pytest.fail(f"SIGTERM did not stop the daemon within 8 s:\n{log.read_text()[-3000:]}")
        assert "the store does not answer" in log.read_text(), log.read_text()[-3000:]
    finally:
        if lock is not None:
            os.close(lock)  # the locks go with it
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
