"""The daemon's HTTP endpoint: `/metrics` from its own registry, `/healthz` and `/readyz`."""

from __future__ import annotations

import errno
import gzip
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from monitor.errors import DriftwardenError

log = logging.getLogger("driftwarden.exporter")

Readiness = Callable[[], list[str]]


def build_registry(collector: Collector) -> CollectorRegistry:
    """The daemon's own registry: the store collector plus process and platform metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


class _Handler(BaseHTTPRequestHandler):
    registry: CollectorRegistry
    readiness: Readiness
    protocol_version = "HTTP/1.1"
    send_body = True

    def do_HEAD(self) -> None:
        """What GET would answer (status, headers, Content-Length), without the body."""
        self._answer(send_body=False)

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def _answer(self, *, send_body: bool) -> None:
        self.send_body = send_body
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._metrics()
        elif path == "/healthz":
            self._reply(200, b"ok\n")
        elif path == "/readyz":
            problems = self.readiness()
            if problems:
                self._reply(503, ("not ready:\n" + "\n".join(problems) + "\n").encode())
            else:
                self._reply(200, b"ready\n")
        else:
            self._reply(404, b"not found: try /metrics, /healthz or /readyz\n")

    def _metrics(self) -> None:
        encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
        try:
            body = encoder(self.registry)
        except Exception:  # a scrape must answer, whatever broke inside a collector
            log.exception("building /metrics failed")
            self._reply(500, b"error building metrics; see the daemon log\n")
            return
        headers = {"Content-Type": content_type}
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        self._reply(200, body, headers)

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {"Content-Type": "text/plain; charset=utf-8"}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("http %s - %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung scraper never holds the daemon at exit


class MetricsServer:
    """Serves the registry on `host:port` from a background thread."""

    def __init__(
        self,
        registry: CollectorRegistry,
        host: str = "127.0.0.1",
        port: int = 9108,
        readiness: Readiness | None = None,
    ) -> None:
        self.registry = registry
        self.host = host
        self.requested_port = port
        self.readiness: Readiness = readiness or (lambda: [])
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when started with port 0)."""
        return int(self._server.server_address[1]) if self._server else self.requested_port

    def start(self) -> None:
        """Bind and serve; a port in use is a DriftwardenError (exit 1), not a traceback."""
        handler = type(
            "MetricsHandler",
            (_Handler,),
            {"registry": self.registry, "readiness": staticmethod(self.readiness)},
        )
        try:
            self._server = _Server((self.host, self.requested_port), handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise DriftwardenError(
                    f"cannot serve metrics on {self.host}:{self.requested_port}: the port is "
                    "already in use (another driftwarden?); pick one with --metrics-port"
                ) from None
            raise DriftwardenError(
                f"cannot serve metrics on {self.host}:{self.requested_port}: {exc.strerror}"
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-http", daemon=True
        )
        self._thread.start()
        log.info("serving /metrics, /healthz, /readyz on http://%s:%d", self.host, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
