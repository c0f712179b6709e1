"""The SSRF guard: user-typed platform addresses (Mastodon instances, Bluesky PDSes) and every connection the
client libraries open must reach public https addresses only.

DNS is played by a fake resolver (no test asks a real DNS server); connections go to pytest-httpserver on
127.0.0.1, which the test settings allow (CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True) unless a test turns
it off."""

from __future__ import annotations

import socket

import httpx
import pytest
from werkzeug import Response

from scheduler.adapters import ssrf
from scheduler.adapters.ssrf import (
    ResponseTooLarge,
    UnsafeURL,
    check_public_url,
    guarded_httpx_transport,
    guarded_session,
)

PUBLIC_IP = "93.184.215.14"


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A fake resolver: names in the dict resolve to their addresses (a list is served in order, one
    answer per lookup, the last one repeating); IP literals and localhost resolve as usual; anything else
    fails."""
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def fake_getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list:
        if host in table:
            answers = table[host]
            address = answers.pop(0) if len(answers) > 1 else answers[0]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port))]
        if host == "localhost":
            return real(host, port, *args, **kwargs)
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        except OSError as error:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from error
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(ssrf, "_getaddrinfo", fake_getaddrinfo)
    return table


# --- check_public_url -----------------------------------------------------------------------------


def test_a_public_https_address_is_accepted_and_normalised(dns):
    dns["social.city.example"] = [PUBLIC_IP]

    assert check_public_url("https://Social.City.Example/") == "https://social.city.example"
    assert check_public_url("  https://social.city.example/api#top ") == "https://social.city.example/api"


def test_a_bare_host_name_is_read_as_https(dns):
    dns["mastodon.social"] = [PUBLIC_IP]

    assert check_public_url("mastodon.social") == "https://mastodon.social"


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.5",  # private
        "172.16.4.1",  # private
        "192.168.1.10",  # private
        "169.254.169.254",  # link-local: the cloud metadata service
        "100.64.0.1",  # carrier-grade NAT (shared address space)
        "0.0.0.0",  # noqa: S104 - "this host", refused, never bound
        "224.0.0.251",  # multicast
        "240.0.0.1",  # reserved
        "fd00::1",  # IPv6 unique local
        "fe80::1",  # IPv6 link-local
        "::ffff:10.0.0.5",  # IPv4-mapped private address
        # IPv6 addresses that carry an IPv4 address: judged by the IPv4 address inside.
        "::127.0.0.1",  # IPv4-compatible loopback
        "::10.0.0.5",  # IPv4-compatible private
        "::ffff:0:169.254.169.254",  # IPv4-translated (SIIT) metadata service
        "64:ff9b::7f00:1",  # NAT64 well-known prefix around 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 around 169.254.169.254
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "2002:c0a8:10a::1",  # 6to4 around 192.168.1.10
        # Forms whose IPv4 address sits where an outsider cannot tell: refused whatever it is.
        "64:ff9b:1::808:808",  # local-use NAT64 (RFC 8215)
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    ],
)
def test_an_address_that_is_not_on_the_public_internet_is_refused(dns, address):
    dns["instance.city.example"] = [address]

    with pytest.raises(UnsafeURL, match="private or reserved"):
        check_public_url("https://instance.city.example")


@pytest.mark.parametrize(
    "address",
    ["::7f00:1", "::127.0.0.1", "64:ff9b::127.0.0.1", "2002:7f00:1::", "::ffff:0:127.0.0.1"],
)
def test_loopback_wrapped_in_ipv6_is_refused_even_when_loopback_is_allowed(dns, settings, address):
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True

    with pytest.raises(UnsafeURL, match="private or reserved"):
        check_public_url(f"https://[{address}]:8443/hook")
    with pytest.raises(UnsafeURL):
        check_public_url(f"http://[{address}]:8080/hook")


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"])
def test_a_public_ipv4_address_wrapped_in_ipv6_is_accepted(dns, address):
    dns["relay.city.example"] = [address]

    assert check_public_url("https://relay.city.example") == "https://relay.city.example"


def test_a_name_with_one_private_address_among_public_ones_is_refused(dns, monkeypatch):
    def two_answers(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(ssrf, "_getaddrinfo", two_answers)

    with pytest.raises(UnsafeURL, match=r"10\.0\.0\.7"):
        check_public_url("https://mixed.city.example")


def test_loopback_is_refused_unless_the_setting_allows_it(dns, settings):
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = False
    with pytest.raises(UnsafeURL):
        check_public_url("https://127.0.0.1:8443")
    with pytest.raises(UnsafeURL):
        check_public_url("https://[::1]:8443")

    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    assert check_public_url("https://127.0.0.1:8443") == "https://127.0.0.1:8443"


def test_plain_http_is_refused_except_to_loopback_in_tests_and_demos(dns, settings):
    dns["social.city.example"] = [PUBLIC_IP]
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = False
    with pytest.raises(UnsafeURL, match="https://"):
        check_public_url("http://social.city.example")
    with pytest.raises(UnsafeURL, match="https://"):
        check_public_url("http://127.0.0.1:8401")

    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    with pytest.raises(UnsafeURL, match="https://"):
        check_public_url("http://social.city.example")
    assert check_public_url("http://127.0.0.1:8401/") == "http://127.0.0.1:8401"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://files.city.example/", "https://"),
        ("file:///etc/passwd", "https://"),
        ("javascript:alert(1)", "valid web address|https://"),
        ("https://admin:secret@social.city.example", "user name or password"),
        ("https://", "no host name"),
        ("", "Enter the address"),
        ("https://social.city.example:99999", "valid web address"),
    ],
)
def test_malformed_or_non_web_addresses_are_refused_with_a_plain_message(dns, url, message):
    dns["social.city.example"] = [PUBLIC_IP]

    with pytest.raises(UnsafeURL, match=message):
        check_public_url(url)


def test_a_name_that_does_not_resolve_is_refused(dns):
    with pytest.raises(UnsafeURL, match="could not be found"):
        check_public_url("https://no-such-instance.example")


def test_unsafe_url_is_a_value_error_with_a_message():
    error = UnsafeURL("The address must start with https://.")

    assert isinstance(error, ValueError)
    assert error.message == str(error) == "The address must start with https://."


# --- requests: the session Mastodon.py uses ---------------------------------------------------------


def test_the_requests_session_connects_to_the_address_it_checked(dns, httpserver):
    dns["social.city.example"] = ["127.0.0.1"]
    httpserver.expect_request("/api/v2/instance").respond_with_json({"domain": "social.city.example"})

    with guarded_session() as session:
        response = session.get(f"http://social.city.example:{httpserver.port}/api/v2/instance")

    assert response.json() == {"domain": "social.city.example"}
    request, _ = httpserver.log[0]
    assert request.headers["Host"] == f"social.city.example:{httpserver.port}"
    assert request.headers["User-Agent"].startswith("CivicPost/")


def test_a_dns_answer_that_changes_after_the_check_is_refused_at_connect_time(dns):
    # DNS rebinding: public when the admin saves the address, private when the worker connects.
    dns["rebind.city.example"] = [PUBLIC_IP, "10.0.0.5"]

    url = check_public_url("https://rebind.city.example")
    with guarded_session() as session, pytest.raises(UnsafeURL, match=r"10\.0\.0\.5"):
        session.get(f"{url}/api/v1/instance")


@pytest.mark.parametrize("wrapped", ["::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1"])
def test_a_dns_answer_that_wraps_loopback_in_ipv6_is_refused_at_connect_time(dns, settings, wrapped):
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    dns["rebind6.city.example"] = [PUBLIC_IP, wrapped]

    url = check_public_url("https://rebind6.city.example")
    with guarded_session() as session, pytest.raises(UnsafeURL, match="private or reserved"):
        session.get(f"{url}/hook")
    with httpx.Client(transport=guarded_httpx_transport()) as client, pytest.raises(UnsafeURL):
        client.get(f"{url}/hook")


def test_a_redirect_to_a_private_address_is_refused(dns, httpserver):
    dns["internal.city.example"] = ["10.20.30.40"]
    httpserver.expect_request("/go-metadata").respond_with_response(
        Response(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    )
    httpserver.expect_request("/go-internal").respond_with_response(
        Response(status=302, headers={"Location": "https://internal.city.example/admin"})
    )

    with guarded_session() as session:
        with pytest.raises(UnsafeURL, match="https://"):
            session.get(httpserver.url_for("/go-metadata"))
        with pytest.raises(UnsafeURL, match=r"10\.20\.30\.40"):
            session.get(httpserver.url_for("/go-internal"))
    assert [request.path for request, _ in httpserver.log] == ["/go-metadata", "/go-internal"]


def test_a_redirect_to_plain_http_is_refused_outside_loopback(dns, httpserver, settings):
    dns["social.city.example"] = [PUBLIC_IP]
    httpserver.expect_request("/down").respond_with_response(
        Response(status=301, headers={"Location": "http://social.city.example/"})
    )

    with guarded_session() as session, pytest.raises(UnsafeURL, match="https://"):
        session.get(httpserver.url_for("/down"))
    assert len(httpserver.log) == 1


def test_the_requests_session_stops_reading_past_its_byte_cap(httpserver):
    httpserver.expect_request("/huge").respond_with_data(b"x" * 300_000)

    with guarded_session(max_bytes=100_000) as session, pytest.raises(ResponseTooLarge):
        session.get(httpserver.url_for("/huge"))


def test_the_requests_session_ignores_proxies_from_the_environment(httpserver, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://10.9.9.9:3128")
    httpserver.expect_request("/ok").respond_with_data("direct")

    with guarded_session() as session:
        assert session.get(httpserver.url_for("/ok")).text == "direct"


def test_plain_http_to_loopback_needs_the_setting(httpserver, settings):
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = False
    httpserver.expect_request("/ok").respond_with_data("hello")

    with guarded_session() as session, pytest.raises(UnsafeURL):
        session.get(httpserver.url_for("/ok"))
    assert httpserver.log == []


# --- httpx: the transport atproto uses --------------------------------------------------------------


def test_the_httpx_transport_connects_to_the_address_it_checked(dns, httpserver):
    dns["pds.city.example"] = ["127.0.0.1"]
    httpserver.expect_request("/xrpc/_health").respond_with_json({"version": "0.4"})

    with httpx.Client(transport=guarded_httpx_transport()) as client:
        response = client.get(f"http://pds.city.example:{httpserver.port}/xrpc/_health")

    assert response.json() == {"version": "0.4"}
    assert httpserver.log[0][0].headers["Host"] == f"pds.city.example:{httpserver.port}"


def test_the_httpx_transport_refuses_private_addresses_and_rebinding(dns):
    dns["pds.city.example"] = [PUBLIC_IP, "192.168.0.10"]
    url = check_public_url("https://pds.city.example")

    with httpx.Client(transport=guarded_httpx_transport()) as client, pytest.raises(UnsafeURL, match="192.168"):
        client.get(f"{url}/xrpc/com.atproto.server.describeServer")


def test_the_httpx_transport_refuses_a_redirect_to_a_private_address(dns, httpserver):
    dns["internal.city.example"] = ["10.20.30.40"]
    httpserver.expect_request("/xrpc/app.bsky.actor.getProfile").respond_with_response(
        Response(status=302, headers={"Location": "https://internal.city.example/xrpc/secret"})
    )

    with (
        httpx.Client(transport=guarded_httpx_transport(), follow_redirects=True) as client,
        pytest.raises(UnsafeURL, match=r"10\.20\.30\.40"),
    ):
        client.get(httpserver.url_for("/xrpc/app.bsky.actor.getProfile"))
    assert len(httpserver.log) == 1


def test_the_httpx_transport_stops_reading_past_its_byte_cap(httpserver):
    httpserver.expect_request("/big").respond_with_data(b"y" * 300_000)

    with httpx.Client(transport=guarded_httpx_transport(max_bytes=100_000)) as client, pytest.raises(ResponseTooLarge):
        client.get(httpserver.url_for("/big"))


def test_the_httpx_transport_refuses_plain_http_without_the_setting(httpserver, settings):
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = False
    httpserver.expect_request("/ok").respond_with_data("hello")

    with httpx.Client(transport=guarded_httpx_transport()) as client, pytest.raises(UnsafeURL):
        client.get(httpserver.url_for("/ok"))
    assert httpserver.log == []
