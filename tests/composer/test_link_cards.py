"""The link card in the composer's preview: Open Graph tags read through the SSRF guard, with a short timeout
and a size cap, cached; every failure (a private address, a redirect to one, an error, a page that is not
HTML) gives no card, never an error on the page."""

from __future__ import annotations

import socket

import pytest
import requests
import responses
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from composer import link_cards
from composer.link_cards import LinkCard, link_card, parse_link_card
from scheduler.adapters import ssrf
from tests.composer.test_compose import compose_data
from tests.factories import ChannelFactory

PUBLIC_IP = "93.184.215.14"
PAGE_URL = "https://www.cityofexample.gov/parks/splash-pads"
PAGE = """<!doctype html><html lang="en"><head>
<meta charset="utf-8">
<title>Splash pads | City of Example</title>
<meta property="og:title" content="Splash pads open Saturday">
<meta property="og:description" content="Every splash pad in the city opens at 10 a.m. &amp; stays open until 8 p.m.">
<meta property="og:site_name" content="City of Example Parks">
<meta property="og:image" content="/images/splash.jpg">
</head><body><h1>Ignored</h1><meta property="og:title" content="Not in the head"></body></html>"""


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cache.clear()


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Names in the dict resolve to their address; IP literals resolve as usual; anything else fails."""
    table: dict[str, str] = {}
    real = socket.getaddrinfo

    def fake_getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list:
        if host in table:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        except OSError as error:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from error
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(ssrf, "_getaddrinfo", fake_getaddrinfo)
    table["www.cityofexample.gov"] = PUBLIC_IP
    return table


def test_open_graph_tags_of_the_head_make_the_card():
    card = parse_link_card(PAGE, url=PAGE_URL)
    assert card == LinkCard(
        url=PAGE_URL,
        host="www.cityofexample.gov",
        title="Splash pads open Saturday",
        description="Every splash pad in the city opens at 10 a.m. & stays open until 8 p.m.",
        site_name="City of Example Parks",
        image_url="https://www.cityofexample.gov/images/splash.jpg",
    )


def test_a_page_without_open_graph_uses_its_title_and_description_and_one_without_a_title_gives_none():
    html = '<html><head><title>Library hours</title><meta name="description" content="Open daily"></head></html>'
    card = parse_link_card(html, url="https://library.example.gov/hours")
    assert (card.title, card.description, card.site_name) == ("Library hours", "Open daily", "")
    assert parse_link_card("<html><head></head><body>Hello</body></html>", url=PAGE_URL) is None


@responses.activate
def test_the_card_is_fetched_once_and_then_read_from_the_cache(dns):
    responses.get(PAGE_URL, body=PAGE, content_type="text/html; charset=utf-8")

    first = link_card(PAGE_URL)
    second = link_card(PAGE_URL)

    assert first is not None and first.title == "Splash pads open Saturday"
    assert second == first
    assert len(responses.calls) == 1
    request = responses.calls[0].request
    assert request.headers["User-Agent"].startswith("CivicPost/")
    assert request.headers["Accept"] == "text/html,application/xhtml+xml"


@responses.activate
@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"status": 500, "body": "oops", "content_type": "text/html"}, "a server error"),
        ({"status": 404, "body": PAGE, "content_type": "text/html"}, "a missing page"),
        ({"status": 200, "body": b"%PDF-1.7", "content_type": "application/pdf"}, "not HTML"),
        ({"body": requests.ConnectTimeout("too slow")}, "a timeout"),
    ],
)
def test_a_failure_gives_no_card_and_is_remembered_for_a_while(dns, answer, reason):
    responses.get(PAGE_URL, **answer)

    assert link_card(PAGE_URL) is None, reason
    assert link_card(PAGE_URL) is None
    assert len(responses.calls) == 1  # the failure is cached too: typing on does not fetch again


@responses.activate
def test_a_private_address_is_refused_without_any_request(dns):
    dns["intranet.cityofexample.gov"] = "10.0.0.5"

    assert link_card("https://10.0.0.5/admin") is None
    assert link_card("https://intranet.cityofexample.gov/payroll") is None
    assert link_card("http://www.cityofexample.gov/parks") is None  # plain http to a public host
    assert link_card("file:///etc/passwd") is None
    assert len(responses.calls) == 0


def test_a_local_server_is_refused_unless_loopback_is_allowed(httpserver, settings):
    httpserver.expect_request("/page").respond_with_data(PAGE, content_type="text/html")
    url = httpserver.url_for("/page")

    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = False
    assert link_card(url) is None
    assert httpserver.log == []

    cache.clear()
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True  # the tests' and demos' own fakes only
    card = link_card(url)
    assert card is not None and card.title == "Splash pads open Saturday"


def test_a_redirect_to_a_private_address_is_refused(httpserver, settings):
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    httpserver.expect_request("/moved").respond_with_data(
        "", status=302, headers={"Location": "http://10.0.0.5/secret"}
    )

    assert link_card(httpserver.url_for("/moved")) is None
    assert len(httpserver.log) == 1  # only the first hop was requested


def test_only_the_head_of_a_large_page_is_read(httpserver, settings, monkeypatch):
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    monkeypatch.setattr(link_cards, "HEAD_BYTES", 4096)
    head = '<html><head><meta property="og:title" content="Big page">'
    httpserver.expect_request("/big").respond_with_data(head + "x" * 5_000_000, content_type="text/html")

    card = link_card(httpserver.url_for("/big"))

    assert card is not None and card.title == "Big page"


@responses.activate
def test_the_preview_shows_the_card_on_platforms_that_make_one(personas, dns):
    responses.get(PAGE_URL, body=PAGE, content_type="text/html")
    facebook = ChannelFactory(department=personas.parks, platform="facebook", display_name="Parks on Facebook")
    client = Client()
    client.force_login(personas.alice)

    html = client.post(
        reverse("scheduler:post_check_new"),
        compose_data(personas, link=PAGE_URL, channels=[facebook.pk, personas.parks_channel.pk]),
    ).content.decode()

    assert '<p class="civic-preview__card-title">Splash pads open Saturday</p>' in html
    assert "Every splash pad in the city opens at 10 a.m. &amp; stays open until 8 p.m." in html
    assert html.count("civic-preview__card-title") == 1  # the Sandbox channel shows no card
    assert len(responses.calls) == 1


def test_without_a_card_the_preview_shows_the_bare_host(personas):
    facebook = ChannelFactory(department=personas.parks, platform="facebook", display_name="Parks on Facebook")
    client = Client()
    client.force_login(personas.alice)

    html = client.post(
        reverse("scheduler:post_check_new"),
        compose_data(personas, text="See https://nowhere.invalid/page for details", channels=[facebook.pk]),
    ).content.decode()

    assert '<span class="usa-sr-only">Link card: </span>nowhere.invalid</p>' in html
    assert "civic-preview__card-title" not in html
