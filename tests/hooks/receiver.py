"""A real webhook receiver on 127.0.0.1 for the tests: scripted answers, every request kept."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)

    def signature_valid(self, secret: str) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("X-Driftwarden-Signature", ""), expected)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Receiver:
    """Answers each POST with the next scripted status (200 once the script runs out).

    `hang` makes it hold every request open until released (a hung endpoint); `drip`
    (seconds) makes it send its answer one byte at a time that far apart (a slow loris).
    """

    def __init__(self, port: int = 0, statuses: list[int] | None = None) -> None:
        self.port = port
        self.statuses: deque[int] = deque(statuses or [])
        self.requests: list[Received] = []
        self.hang = threading.Event()
        self.drip: float | None = None
        self.dripped = 0  # bytes of dripped answers sent so far
        self.release = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                if receiver.hang.is_set():
                    receiver.release.wait(30)
                    return
                status = receiver.statuses.popleft() if receiver.statuses else 200
                if receiver.drip is not None:
                    self._drip(f"HTTP/1.1 {status} OK\r\nContent-Length: 0\r\n\r\n".encode())
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _drip(self, answer: bytes) -> None:
                for byte in answer:
                    if receiver.release.wait(receiver.drip):
                        return
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        receiver.dripped += 1
                    except OSError:  # the client gave up
                        return

            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet: http.server logs every request to stderr."""

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
