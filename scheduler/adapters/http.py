"""All adapter HTTP goes through here: a mandatory timeout and CivicPost's User-Agent.

The timeouts of every outgoing call (each adapter, the connection flows, sign-in providers) come from two
settings, read when the request is made: CIVICPOST_HTTP_CONNECT_TIMEOUT_SECONDS and
CIVICPOST_HTTP_TIMEOUT_SECONDS (the read timeout). `http_timeout()` is the requests form, `httpx_timeout()`
the httpx form (atproto)."""

from __future__ import annotations

from typing import Any

import httpx
import requests
from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

USER_AGENT = "CivicPost/1.0 (+https://github.com/civicpost; municipal social media publisher)"


def http_timeout() -> tuple[float, float]:
    """Returns (connect, read) seconds for an outgoing call, from the settings."""
    return (float(settings.CIVICPOST_HTTP_CONNECT_TIMEOUT_SECONDS), float(settings.CIVICPOST_HTTP_TIMEOUT_SECONDS))


def httpx_timeout() -> httpx.Timeout:
    """The same timeouts for an httpx client: connect, and read / write / pool."""
    connect, read = http_timeout()
    return httpx.Timeout(read, connect=connect)


class TimeoutSession(requests.Session):
    """A requests session whose every request has a timeout: `timeout` if given, else the settings' (read at
    request time, so a changed setting applies to sessions already made)."""

    def __init__(self, timeout: float | tuple[float, float] | None = None) -> None:
        super().__init__()
        self.fixed_timeout = timeout
        self.headers["User-Agent"] = USER_AGENT

    @property
    def default_timeout(self) -> float | tuple[float, float]:
        return self.fixed_timeout or http_timeout()

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, **kwargs)


def http_session(timeout: float | tuple[float, float] | None = None) -> TimeoutSession:
    return TimeoutSession(timeout)


def platform_base_url(platform: str, default: str) -> str:
    """Base URL of a platform's API; tests and demos point it at a local fake through settings."""
    return settings.CIVICPOST_PLATFORM_URLS.get(platform, default).rstrip("/")


def request_never_sent(error: requests.RequestException) -> bool:
    """True when the request provably never left (connection refused, DNS failure, TLS or connect timeout,
    a proxy refusal, a malformed URL from the settings): resending it cannot post twice. Anything else (a
    read timeout, a connection reset) may have reached the platform. The one test every adapter uses."""
    if isinstance(error, requests.ConnectTimeout | requests.exceptions.SSLError | requests.exceptions.ProxyError):
        return True
    if isinstance(error, requests.ConnectionError):
        reason = error.args[0] if error.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        return isinstance(reason, NewConnectionError | ConnectTimeoutError)
    return isinstance(
        error, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema | requests.exceptions.InvalidSchema
    )
