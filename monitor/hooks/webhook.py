"""The webhook hook: POST the event as JSON, signed with HMAC-SHA256, one attempt per call."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import ssl
import time
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
        deadline = time.monotonic() + self.timeout
        connection = self._connection()
        try:
            connection.connect()
            # one budget for the whole attempt, not one per socket operation
            if connection.sock is not None:
                connection.sock.settimeout(max(0.01, deadline - time.monotonic()))
            connection.request("POST", self._path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(65536)  # drained, never stored: a body may echo anything
            code = response.status
            wait = _retry_after(response.getheader("Retry-After"))
        except TimeoutError:
            return AttemptResult(False, True, detail=f"timed out after {self.timeout:g}s")
        except ConnectionRefusedError:
            return AttemptResult(False, True, detail="connection refused")
        except ssl.SSLError as exc:
            return AttemptResult(False, True, detail=f"TLS error: {exc.reason or 'handshake'}")
        except OSError as exc:
            return AttemptResult(
                False, True, detail=f"connection failed: {exc.strerror or type(exc).__name__}"
            )
        except http.client.HTTPException as exc:
            return AttemptResult(False, True, detail=f"bad HTTP response ({type(exc).__name__})")
        finally:
            connection.close()
        if 200 <= code < 300:
            return AttemptResult(True, status_code=code, detail=f"HTTP {code}")
        retryable = code >= 500 or code in RETRYABLE_CLIENT_ERRORS
        return AttemptResult(
            False, retryable, status_code=code, detail=f"HTTP {code}", retry_after=wait
        )
