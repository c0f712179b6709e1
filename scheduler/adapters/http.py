"""All adapter HTTP goes through here: a mandatory timeout and CivicPost's User-Agent.

The timeouts of every outgoing call (each adapter, the connection flows, sign-in providers) come from two
settings, read when the request is made: CIVICPOST_HTTP_CONNECT_TIMEOUT_SECONDS and
CIVICPOST_HTTP_TIMEOUT_SECONDS (the read timeout). `http_timeout()` is the requests form, `httpx_timeout()`
the httpx form (atproto)."""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import lru_cache
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import requests
from django.conf import settings
from requests.sessions import merge_setting as _untyped_merge_setting
from requests.utils import get_environ_proxies
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

merge_setting = cast(Callable[[Any, Any], Any], _untyped_merge_setting)

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

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        """requests' own merge, with the environment's proxies for a host read once per process: requests
        reads them (walking os.environ, and the no_proxy list) on every call, 7% of a worker's CPU per
        delivery in bench/worker_profile.py. The environment of a running process does not change."""
        if not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        text = url.decode() if isinstance(url, bytes) else (url or "")
        no_proxy = proxies.get("no_proxy") if proxies is not None else None
        parts = urlsplit(text)
        env_proxies = _environ_proxies(f"{parts.scheme}://{parts.netloc}/", no_proxy)
        if proxies is not None:
            for key, value in env_proxies.items():
                proxies.setdefault(key, value)
        if verify is True or verify is None:
            verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or verify
        return {
            "proxies": merge_setting(proxies, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }


@lru_cache(maxsize=4096)
def _environ_proxies(origin: str, no_proxy: str | None) -> dict[str, str]:
    """The proxies the environment sets for an origin ("https://host:port/"), as requests would find them."""
    return dict(get_environ_proxies(origin, no_proxy=no_proxy))


def http_session(timeout: float | tuple[float, float] | None = None) -> TimeoutSession:
    return TimeoutSession(timeout)


# Kept-alive connections for the fixed platform APIs (X, Graph): each thread keeps the connection pools of the
# channels it published to last, so a burst does not open a TCP (and TLS) connection per request. Only the
# connections are kept: every caller still gets a fresh session (its own headers, cookies, auth). Never for the
# SSRF-guarded sessions (ssrf.py): they must connect, per call, to the address they checked.
KEPT_ADAPTERS_PER_THREAD = 32
# Dropped when idle longer than this: well under the idle timeouts of the platforms' front ends (60 s and
# more), so a kept connection is rarely one the server is closing as the next request goes out.
KEPT_ADAPTER_IDLE_SECONDS = 30.0

_kept = threading.local()


def _kept_adapter(key: Hashable) -> requests.adapters.HTTPAdapter:
    """This thread's HTTP adapter (its urllib3 connection pools) for `key`, made or reused."""
    adapters: OrderedDict[Hashable, tuple[requests.adapters.HTTPAdapter, float]] | None = getattr(
        _kept, "adapters", None
    )
    if adapters is None or getattr(_kept, "pid", None) != os.getpid():  # never a connection made before a fork
        adapters = _kept.adapters = OrderedDict()
        _kept.pid = os.getpid()
    now = time.monotonic()
    found = adapters.pop(key, None)
    if found is not None and now - found[1] > KEPT_ADAPTER_IDLE_SECONDS:
        found[0].close()
        found = None
    adapter = found[0] if found is not None else requests.adapters.HTTPAdapter()
    adapters[key] = (adapter, now)
    while len(adapters) > KEPT_ADAPTERS_PER_THREAD:
        _oldest, (evicted, _used) = adapters.popitem(last=False)
        evicted.close()
    return adapter


def kept_alive_session(
    key: Hashable, *, session: TimeoutSession | None = None, timeout: float | tuple[float, float] | None = None
) -> TimeoutSession:
    """A fresh session (or `session`, for a subclass) whose connections are this thread's kept ones for `key`
    (e.g. ("x", channel id)): one key per channel, so channels never share a connection."""
    session = session if session is not None else TimeoutSession(timeout)
    adapter = _kept_adapter(key)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


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
