"""HEAD on every endpoint answers what GET would (status, type, length), without a body."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Gauge

from monitor.exporter import MetricsServer


@pytest.fixture
def server() -> Iterator[tuple[MetricsServer, list[str]]]:
    problems: list[str] = []
    registry = CollectorRegistry()
    Gauge("driftwarden_probe", "a probe", registry=registry).set(3)
    started = MetricsServer(registry, "127.0.0.1", 0, readiness=lambda: list(problems))
    started.start()
    yield started, problems
    started.stop()


@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/readyz", "/readyz-503", "/nothing"])
def test_head_answers_like_get_without_a_body(server, path: str) -> None:
    started, problems = server
    if path == "/readyz-503":
        problems.append("store unreachable: locked")
        path = "/readyz"
    connection = http.client.HTTPConnection("127.0.0.1", started.port, timeout=5)
    try:
        connection.request("GET", path)
        got = connection.getresponse()
        body = got.read()
        # one keep-alive connection: a HEAD that sent a body would garble the next answer
        connection.request("HEAD", path)
        head = connection.getresponse()
        assert head.read() == b""
        connection.request("GET", path)
        again = connection.getresponse()
        assert again.read() == body
    finally:
        connection.close()
    assert head.status == got.status == again.status
    assert head.getheader("Content-Type") == got.getheader("Content-Type")
    assert head.getheader("Content-Length") == got.getheader("Content-Length") == str(len(body))
