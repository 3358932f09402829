"""A real project to break: a scikit-learn monitor over CSV files, its config and store, a
webhook receiver, and the daemon as a subprocess started the way an operator starts it.

Every row of the stream has an id; windows are 20 rows whose accuracy alternates between
0.95 and 0.6, so the `accuracy-drop` rule fires and resolves every other window and each
episode queues two webhook deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import yaml
from sklearn.linear_model import LogisticRegression

WINDOW = 20
SECRET = "fault-suite-webhook-secret"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------- the receiver


@dataclass
class Receiver:
    """A webhook receiver on a fixed port: every request kept, with the answer it got.

    `drip` sends each answer a byte at a time that many seconds apart (a slow loris).
    It can stop and start again on the same port (an outage)."""

    port: int
    drip: float | None = None
    requests: list[tuple[str, int, bool]] = field(default_factory=list)  # id, status, signed
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                signed = hmac.compare_digest(
                    self.headers.get("X-Driftwarden-Signature", ""), expected
                )
                delivery = self.headers.get("X-Driftwarden-Delivery", "")
                with receiver._lock:
                    receiver.requests.append((delivery, 200, signed))
                answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                if receiver.drip is None:
                    self.wfile.write(answer)
                    return
                for byte in answer:
                    time.sleep(receiver.drip)
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answered(self) -> dict[str, int]:
        """How many times each delivery id was answered 2xx."""
        with self._lock:
            counts: dict[str, int] = {}
            for delivery, status, _ in self.requests:
                if 200 <= status < 300:
                    counts[delivery] = counts.get(delivery, 0) + 1
        return counts


# ---------------------------------------------------------------- the project


class Project:
    """Model, reference, stream folder, config and store of one monitor in `folder`."""

    def __init__(
        self,
        folder: Path,
        receiver_url: str,
        *,
        every: str = "0.2s",
        hook_timeout: str = "2s",
        retries: int = 20,
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "stream").mkdir(exist_ok=True)
        self.metrics_port = free_port()
        rng = np.random.default_rng(1)
        x = rng.normal(size=400)
        reference = pd.DataFrame({"x": x, "y": (x > 0).astype(int)})
        joblib.dump(LogisticRegression().fit(reference[["x"]], reference["y"]), folder / "m.joblib")
        reference.to_csv(folder / "reference.csv", index=False)
        self.db = folder / "dw.db"
        document = {
            "storage": "sqlite:///dw.db",
            "metrics": {"host": "127.0.0.1", "port": self.metrics_port},
            "hooks": {
                "notify": {
                    "type": "webhook",
                    "url": receiver_url,
                    "secret": SECRET,
                    "timeout": hook_timeout,
                    "retries": retries,
                }
            },
            "monitors": [
                {
                    "name": "tabular",
                    "model": {"type": "sklearn", "path": "m.joblib"},
                    "reference": {"path": "reference.csv"},
                    "stream": {"path": "stream/*.csv"},
                    "columns": {"features": ["x"], "target": "y", "id": "id"},
                    "schedule": {"every": every},
                    "window": {"rows": WINDOW},
                    "catch_up": 5,
                    "snapshot": False,
                    "drift": {"embedding": {"method": "off"}},
                    "alerts": [
                        {
                            "name": "accuracy-drop",
                            "metric": "accuracy",
                            "below": 0.8,
                            "for": 1,
                            "hooks": ["notify"],
                        }
                    ],
                }
            ],
        }
        self.config = folder / "driftwarden.yaml"
        self.config.write_text(yaml.safe_dump(document))
        self.written = 0  # rows written to the stream so far
        self.files = 0

    # -- the stream

    def write_windows(self, count: int, append: bool = False) -> None:
        """`count` more windows of rows, in a new file or appended to the last one."""
        frames = [self._window(self.written // WINDOW + i) for i in range(count)]
        frame = pd.concat(frames, ignore_index=True)
        if not append or self.files == 0:
            self.files += 1
            frame.to_csv(self._file(self.files), index=False)
        else:
            with self._file(self.files).open("a") as handle:
                frame.to_csv(handle, index=False, header=False)
        self.written += len(frame)

    def _file(self, number: int) -> Path:
        return self.folder / "stream" / f"{number:05d}.csv"

    def _window(self, index: int) -> pd.DataFrame:
        rng = np.random.default_rng(index)
        x = rng.normal(size=WINDOW)
        x = np.sign(x) * np.maximum(np.abs(x), 0.2)
        truth = (x > 0).astype(int)
        wrong = 1 if index % 2 == 0 else 8  # accuracy 0.95, then 0.6
        truth[:wrong] = 1 - truth[:wrong]
        ids = [f"w{index}-{i}" for i in range(WINDOW)]
        return pd.DataFrame({"id": ids, "x": x.round(4), "y": truth})

    # -- the daemon

    def start(self, *extra: str, limit_bytes: int | None = None) -> subprocess.Popen[bytes]:
        """`driftwarden run --config F` in a new process (a file-size limit: a full disk)."""
        env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
        argv = [sys.executable, "-c", "from monitor.cli import main; main()"]
        argv += ["--log-format", "json", "run", "--config", str(self.config), *extra]

        def limited() -> None:
            if limit_bytes is not None:
                import resource

                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails instead
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

        log = (self.folder / "daemon.log").open("ab")
        return subprocess.Popen(
            argv, cwd=self.folder, env=env, stdout=log, stderr=log, preexec_fn=limited
        )

    def get(self, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.metrics_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            return 0, ""

    def sample(self, series: str) -> float | None:
        for line in self.get("/metrics")[1].splitlines():
            if line.startswith(series + "{") or line.startswith(series + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    # -- what the store holds

    def integrity_ok(self) -> bool:
        if not self.db.exists():
            return True
        with sqlite3.connect(self.db) as connection:
            return connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def scored(self) -> list[list[str]]:
        """Each ok run's row ids, in run order (none while the store is being created)."""
        try:
            return self._scored()
        except sqlite3.Error:
            return []

    def _scored(self) -> list[list[str]]:
        if not self.db.exists():
            return []
        with sqlite3.connect(self.db) as connection:
            runs = connection.execute(
                "SELECT id FROM runs WHERE status = 'ok' AND rows > 0 ORDER BY id"
            ).fetchall()
            return [
                [r for (r,) in connection.execute(
                    "SELECT row_id FROM predictions WHERE run_id = ? ORDER BY position", (run,)
                )]
                for (run,) in runs
            ]  # fmt: skip

    def outbox(self) -> dict[str, int]:
        if not self.db.exists():
            return {}
        try:
            with sqlite3.connect(self.db) as connection:
                rows = connection.execute(
                    "SELECT status, count(*) FROM hook_deliveries GROUP BY status"
                ).fetchall()
        except sqlite3.Error:  # not migrated yet
            return {}
        return {status: int(count) for status, count in rows}

    def delivered_attempts(self) -> dict[str, int]:
        """How many attempts the store recorded as delivered, per delivery id."""
        with sqlite3.connect(self.db) as connection:
            rows = connection.execute(
                "SELECT delivery_id, count(*) FROM hook_attempts"
                " WHERE outcome = 'delivered' GROUP BY delivery_id"
            ).fetchall()
        return {delivery: int(count) for delivery, count in rows}

    def windows_lost_and_repeated(self) -> tuple[int, int]:
        """Windows of the written rows never scored, and runs that scored rows again."""
        seen: set[str] = set()
        repeated = 0
        for ids in self.scored():
            if seen.intersection(ids):
                repeated += 1
            seen.update(ids)
        expected = {f"w{i}-{j}" for i in range(self.written // WINDOW) for j in range(WINDOW)}
        missing = expected - seen
        return len({m.split("-")[0] for m in missing}), repeated


def wait_for(condition: Any, timeout_s: float, poll_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll_s)
    return False


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 60) -> float:
    """Send `sig` and wait; returns the seconds until the process was gone."""
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return time.monotonic() - started


__all__ = ["WINDOW", "Project", "Receiver", "free_port", "json", "stop", "wait_for"]
