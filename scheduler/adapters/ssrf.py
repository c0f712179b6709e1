"""A guard for every address a user (or a remote server) gives us: Mastodon instances, Bluesky PDSes, media URLs.

CivicPost runs inside a city network. A typed-in "instance URL" such as `http://10.0.0.5/` or
`https://metadata.internal/` must never make the publisher talk to the city's own machines
(shared/reliability.md, "SSRF"). The rules:

- https only. Plain http is allowed to loopback addresses and only when
  settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS is True (tests and local demos with a fake platform).
- Resolve the host name once per connection, refuse it unless every address is public
  (`ipaddress.is_global`, not multicast; loopback only with the setting above), then connect to
  exactly the address that was checked, so a DNS answer that changes between check and connect
  (DNS rebinding) gains nothing.
- Re-check each redirect hop (the same rules apply to every request the session sends).
- Cap the bytes read from a response, counted after decompression.
- No proxies from the environment: a proxy would resolve the name itself, after our check.

`check_public_url(url)` is the up-front check for a URL a user typed (it returns the normalised URL
or raises `UnsafeURL` with a message fit to show them). `guarded_session()` (requests, used by
Mastodon.py) and `guarded_httpx_transport()` (httpx, used by atproto) enforce the same rules on
every connection the client libraries open, including ones to addresses that come from the remote
side: Mastodon's OAuth token endpoint, a Bluesky session's PDS endpoint, a redirect target.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpcore
import httpx
import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from scheduler.adapters.http import TimeoutSession

# Enough for any platform API answer; media downloads pass their own cap.
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(ValueError):
    """The address is not one CivicPost may connect to. The message is plain words for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ResponseTooLarge(ValueError):
    """The server sent more bytes than we agreed to read."""


def _loopback_allowed() -> bool:
    return bool(getattr(settings, "CIVICPOST_ALLOW_LOOPBACK_PLATFORMS", False))


# Indirection so tests can play DNS without touching the network.
_getaddrinfo = socket.getaddrinfo


# IPv6 ranges that carry an IPv4 address inside them. A router or the kernel may deliver a packet for one of
# these to the embedded IPv4 address, so `is_global` on the IPv6 address says nothing about where it goes.
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: last 32 bits
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291 (deprecated): last 32 bits
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # RFC 2765 (SIIT): last 32 bits
# Where the IPv4 address sits depends on the operator's prefix length (RFC 8215, RFC 4380): refused outright.
_REFUSED_IPV6_NETWORKS = (
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # local-use NAT64
    ipaddress.IPv6Network("2001::/32"),  # Teredo (the client address is obfuscated)
)


class _Refused(Exception):
    """An IPv6 address that embeds an IPv4 address we cannot read reliably."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Returns the IPv4 address an IPv6 address carries (NAT64, 6to4, IPv4-compatible, IPv4-translated),
    None if it carries none, or raises _Refused for the forms whose IPv4 address we cannot locate."""
    if any(ip in network for network in _REFUSED_IPV6_NETWORKS):
        raise _Refused
    if ip.sixtofour is not None:  # 2002::/16, RFC 3056
        return ip.sixtofour
    if ip in _NAT64_WELL_KNOWN or ip in _IPV4_TRANSLATED or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_allowed(ip: IPAddress, *, loopback_only: bool = False) -> bool:
    """Returns whether we may connect to this address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        # ::ffff:a.b.c.d is how a dual-stack socket spells an IPv4 peer: it is that IPv4 address.
        ip = ip.ipv4_mapped
    elif isinstance(ip, ipaddress.IPv6Address):
        try:
            embedded = _embedded_ipv4(ip)
        except _Refused:
            return False
        if embedded is not None:
            # A wrapped address is only as good as the IPv4 address inside it, and is never "loopback":
            # the tests' and demos' fake platforms listen on 127.0.0.1 or ::1, not behind a translator.
            return not loopback_only and embedded.is_global and not embedded.is_multicast
    if ip.is_loopback:
        return _loopback_allowed()
    if loopback_only:
        return False
    return ip.is_global and not ip.is_multicast


def resolve_addresses(host: str, port: int, *, loopback_only: bool = False) -> list[IPAddress]:
    """Resolves `host` once and returns its addresses, every one of them allowed.

    Raises UnsafeURL if the name does not resolve or any address is private, reserved, link-local,
    multicast, or loopback (unless loopback is allowed by settings)."""
    host = host.strip("[]").rstrip(".")
    try:
        infos = _getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeURL(f"The address {host} could not be found.") from error
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise UnsafeURL(f"The address {host} could not be found.")
    for ip in addresses:
        if not address_allowed(ip, loopback_only=loopback_only):
            if loopback_only and not ip.is_loopback:
                raise UnsafeURL("The address must start with https://.")
            raise UnsafeURL(
                f"{host} points to a private or reserved network address ({ip}). "
                "CivicPost only connects to addresses on the public internet."
            )
    return addresses


def _split(url: str) -> tuple[str, str, int, SplitResult]:
    """Returns (scheme, host, port, parts) after the checks that need no DNS. Raises UnsafeURL."""
    url = (url or "").strip()
    if not url:
        raise UnsafeURL("Enter the address, starting with https://.")
    if "://" not in url:
        url = f"https://{url}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeURL("This is not a valid web address.") from error
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UnsafeURL("The address must start with https://.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("The address must not contain a user name or password.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL("The address has no host name.")
    if scheme == "http" and not _loopback_allowed():
        raise UnsafeURL("The address must start with https://.")
    return scheme, host, port or (443 if scheme == "https" else 80), parts


def check_public_url(url: str) -> str:
    """Returns the URL, normalised (scheme and host lower case, no trailing slash, no fragment), if
    CivicPost may connect to it. Raises UnsafeURL (a ValueError) with a plain message otherwise.

    A bare host name ("mastodon.social") is read as https://mastodon.social."""
    scheme, host, port, parts = _split(url)
    resolve_addresses(host, port, loopback_only=scheme == "http")
    netloc = parts.netloc.rsplit("@", 1)[-1].lower()
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


# --- requests (Mastodon.py, our own downloads) ------------------------------------------------------


class _GuardedConnectionMixin:
    """Resolves, checks, and connects to the checked address; TLS still verifies the host name."""

    loopback_only = False
    _dns_host: str
    port: int

    def _new_conn(self) -> socket.socket:
        host = self._dns_host
        addresses = resolve_addresses(host, self.port, loopback_only=self.loopback_only)
        last_error: Exception | None = None
        for ip in addresses:
            self._dns_host = str(ip)
            try:
                connection: socket.socket = super()._new_conn()  # type: ignore[misc]  # a mixin: urllib3's class follows
                return connection
            except (NewConnectionError, ConnectTimeoutError) as error:
                last_error = error
            finally:
                self._dns_host = host
        assert last_error is not None  # nosec B101  # the loop ran at least once (type narrowing)
        raise last_error


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    loopback_only = True


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    loopback_only = False


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _CappedRaw:
    """Wraps a urllib3 response so that reading more than `limit` bytes raises ResponseTooLarge."""

    def __init__(self, raw: Any, limit: int) -> None:
        self._raw = raw
        self._limit = limit
        self._seen = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def _count(self, chunk: bytes) -> bytes:
        self._seen += len(chunk)
        if self._seen > self._limit:
            self._raw.close()
            raise ResponseTooLarge(f"The server sent more than {self._limit} bytes.")
        return chunk

    def stream(self, amt: int = 2**16, decode_content: bool | None = None) -> Iterator[bytes]:
        for chunk in self._raw.stream(amt, decode_content=decode_content):
            yield self._count(chunk)

    def read(self, amt: int | None = None, *args: Any, **kwargs: Any) -> bytes:
        return self._count(self._raw.read(self._limit + 1 if amt is None else amt, *args, **kwargs))


class GuardedHTTPAdapter(HTTPAdapter):
    def __init__(self, *, max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES, **kwargs: Any) -> None:
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise UnsafeURL("Platform connections do not go through a proxy.")

    def build_response(self, req: Any, resp: Any) -> requests.Response:
        response = super().build_response(req, resp)
        response.raw = _CappedRaw(response.raw, self.max_bytes)
        return response


class GuardedSession(TimeoutSession):
    """A requests session (timeout and User-Agent from http.py) that only reaches public addresses."""

    def __init__(
        self, timeout: float | tuple[float, float] | None = None, *, max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    ) -> None:
        super().__init__(timeout)
        self.trust_env = False
        self.max_redirects = MAX_REDIRECTS
        adapter = GuardedHTTPAdapter(max_bytes=max_bytes)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        # Called for the first request and again for every redirect hop.
        _split(request.url or "")
        return super().send(request, **kwargs)


def guarded_session(
    timeout: float | tuple[float, float] | None = None, *, max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
) -> GuardedSession:
    return GuardedSession(timeout, max_bytes=max_bytes)


# --- httpx (atproto) ----------------------------------------------------------------------------


class _GuardedNetworkBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve_addresses(host, port)
        last_error: Exception | None = None
        for ip in addresses:
            try:
                return self._backend.connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        assert last_error is not None  # nosec B101  # the loop ran at least once (type narrowing)
        raise last_error

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise UnsafeURL("Platform connections do not use local sockets.")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _CappedStream(httpx.SyncByteStream):
    def __init__(self, stream: Any, limit: int) -> None:
        self._stream = stream
        self._limit = limit

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self._stream:
            seen += len(chunk)
            if seen > self._limit:
                raise ResponseTooLarge(f"The server sent more than {self._limit} bytes.")
            yield chunk

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class GuardedHTTPXTransport(httpx.HTTPTransport):
    """An httpx transport with the same rules: checked addresses, no proxies, capped bodies."""

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES, **kwargs: Any) -> None:
        kwargs.setdefault("trust_env", False)
        super().__init__(**kwargs)
        self.max_bytes = max_bytes
        # httpx exposes no network_backend option, so the pool it built is replaced by one that uses ours
        # (HTTPTransport.handle_request only calls self._pool.handle_request).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=20,
            max_keepalive_connections=10,
            keepalive_expiry=5.0,
            network_backend=_GuardedNetworkBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        scheme, host, port, _parts = _split(str(request.url))
        if scheme == "http":
            resolve_addresses(host, port, loopback_only=True)
        response = super().handle_request(request)
        response.stream = _CappedStream(response.stream, self.max_bytes)
        return response


def guarded_httpx_transport(*, max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> GuardedHTTPXTransport:
    return GuardedHTTPXTransport(max_bytes=max_bytes)
