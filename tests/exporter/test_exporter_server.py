"""The HTTP side of the exporter: /metrics, /healthz, /readyz, gzip, and a port in use."""

from __future__ import annotations

import gzip
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Gauge

from monitor.errors import DriftwardenError
from monitor.exporter import MetricsServer


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def problems() -> list[str]:
    return []


@pytest.fixture
def server(problems: list[str]) -> Iterator[MetricsServer]:
    registry = CollectorRegistry()
    Gauge("driftwarden_probe", "a probe", registry=registry).set(3)
    started = MetricsServer(registry, "127.0.0.1", 0, readiness=lambda: list(problems))
    started.start()
    yield started
    started.stop()


def test_metrics_health_and_readiness(server: MetricsServer, problems: list[str]) -> None:
    base = f"http://127.0.0.1:{server.port}"
    status, headers, body = get(f"{base}/metrics")
    assert status == 200 and b"driftwarden_probe 3.0" in body
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert get(f"{base}/healthz")[0] == 200
    assert get(f"{base}/readyz")[:3:2] == (200, b"ready\n")
    problems.append("monitor demo-reviews: model not loaded yet")
    status, _, body = get(f"{base}/readyz")
    assert status == 503 and b"model not loaded yet" in body
    assert get(f"{base}/nothing")[0] == 404


def test_openmetrics_and_gzip_are_negotiated(server: MetricsServer) -> None:
    url = f"http://127.0.0.1:{server.port}/metrics"
    status, headers, body = get(
        url,
        {"Accept": "application/openmetrics-text; version=1.0.0", "Accept-Encoding": "gzip"},
    )
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"].startswith("application/openmetrics-text")
    assert gzip.decompress(body).endswith(b"# EOF\n")


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DriftwardenError, match=f"127.0.0.1:{port}: the port is already in use"):
            MetricsServer(CollectorRegistry(), "127.0.0.1", port).start()
