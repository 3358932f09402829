"""The webhook hook: POST the event as JSON, signed with HMAC-SHA256, one attempt per call."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import threading
from typing import Any
from urllib.parse import urlsplit

from monitor.errors import ConfigError
from monitor.hooks.base import AttemptResult, Hook, HookContext, secret_value
from monitor.hooks.specs import WebhookHook

DELIVERY_HEADER = "X-Driftwarden-Delivery"
SIGNATURE_HEADER = "X-Driftwarden-Signature"
EVENT_HEADER = "X-Driftwarden-Event"
USER_AGENT = "driftwarden-webhook/1"
# 408 and 429 say "later", 5xx says "not now"; every other 4xx will fail again the same way.
RETRYABLE_CLIENT_ERRORS = (408, 429)


def event_body(event: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed: compact JSON with sorted keys."""
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode("utf-8")


def signature(body: bytes, secret: str) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body>`, as receivers check it."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare from webhooks; our own backoff applies


class Webhook(Hook):
    """POSTs to `url`; 2xx delivers; 408, 429, 5xx and network errors are retried."""

    config: WebhookHook

    def __init__(self, name: str, config: WebhookHook, context: HookContext) -> None:
        super().__init__(name, config, context)
        parts = urlsplit(config.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        try:
            self._port = parts.port
        except ValueError:
            raise ConfigError(
                f"hooks.{name}.url: the port is not a number from 0 to 65535"
            ) from None
        if not self._host:
            raise ConfigError(f"hooks.{name}.url: no host name")
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._secret = secret_value(config.secret)

    def secrets(self) -> list[str]:
        # the URL too: services like Slack put the credential in the path
        values = [self.config.url, self._path, *self.config.headers.values()]
        return [v for v in [self._secret, *values] if v]

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def deliver(self, event: dict[str, Any]) -> AttemptResult:
        body = event_body(event)
        headers = {
            **self.config.headers,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            DELIVERY_HEADER: str(event["delivery_id"]),
            EVENT_HEADER: str(event.get("event", "")),
        }
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(body, self._secret)
        connection = self._connection()
        watchdog = Deadline(self.timeout, connection)
        try:
            connection.connect()
            connection.request("POST", self._path, body=body, headers=headers)
            response = connection.getresponse()
            # the status and headers say how it went; the body is never read (a receiver
            # dripping one byte a second must not hold the attempt)
            code = response.status
            wait = _retry_after(response.getheader("Retry-After"))
        except (OSError, http.client.HTTPException) as exc:
            if watchdog.expired:
                return AttemptResult(False, True, detail=watchdog.detail())
            return _network_failure(exc, self.timeout)
        finally:
            watchdog.cancel()
            connection.close()
        if 200 <= code < 300:
            return AttemptResult(True, status_code=code, detail=f"HTTP {code}")
        retryable = code >= 500 or code in RETRYABLE_CLIENT_ERRORS
        return AttemptResult(
            False, retryable, status_code=code, detail=f"HTTP {code}", retry_after=wait
        )


def _network_failure(exc: BaseException, timeout: float) -> AttemptResult:
    """A failed attempt's detail in our own words (never the URL or a header)."""
    if isinstance(exc, TimeoutError):
        return AttemptResult(False, True, detail=f"timed out after {timeout:g}s")
    if isinstance(exc, ConnectionRefusedError):
        return AttemptResult(False, True, detail="connection refused")
    if isinstance(exc, ssl.SSLError):
        return AttemptResult(False, True, detail=f"TLS error: {exc.reason or 'handshake'}")
    if isinstance(exc, http.client.HTTPException):
        return AttemptResult(False, True, detail=f"bad HTTP response ({type(exc).__name__})")
    reason = getattr(exc, "strerror", None) or type(exc).__name__
    return AttemptResult(False, True, detail=f"connection failed: {reason}")


class Deadline:
    """One deadline for a whole attempt, connect to last byte.

    A socket timeout bounds each read alone, so a receiver sending a byte a second keeps a
    read alive for ever; at the deadline this shuts the connection's socket down, which
    ends whatever call is waiting on it.
    """

    def __init__(self, seconds: float, connection: http.client.HTTPConnection) -> None:
        self.seconds = seconds
        self.connection = connection
        self._expired = threading.Event()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    @property
    def expired(self) -> bool:
        return self._expired.is_set()

    def detail(self) -> str:
        return f"timed out after {self.seconds:g}s"

    def _expire(self) -> None:
        self._expired.set()
        sock = self.connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # closed already: nothing waits on it
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()
