"""Every outgoing call takes its timeouts from the settings (issue 11 item 16): each adapter against the fake
platform answering slowly, and the (connect, read) pair that reaches the transport for every HTTP client CivicPost
builds (requests sessions, Mastodon.py, tweepy, atproto's httpx, the connection flows, the breached-password
check, the sign-in providers' session).

Before the fix the webhook adapter waited a hard-coded 10 s whatever CIVICPOST_HTTP_TIMEOUT_SECONDS said, and
every connect timeout was a hard-coded 5 s."""

from __future__ import annotations

import base64
import contextlib
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import requests
import responses
import respx

from scheduler.adapters.base import AdapterError, ChannelAccount, MediaItem, PlatformAdapter, PostContent
from tests.fakeplatform import FakePlatform
from tests.fakeplatform.server import _numeric_id

pytestmark = pytest.mark.django_db

READ_TIMEOUT = 0.6
CONNECT_TIMEOUT = 1.25
SLOW_ANSWER = 4.0
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"fake platform webhook secret!!!!").decode()
HANDLE = "parks.city.example"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
ANY_URL = re.compile(r"https?://.*")
PHOTO = MediaItem(url="https://city.example/media/pool.jpg", mime_type="image/jpeg", alt_text="An empty pool")


@pytest.fixture
def fake():
    with FakePlatform(seed=16) as server:
        yield server


@pytest.fixture
def timeout_settings(fake: FakePlatform, settings, monkeypatch):  # noqa: ANN001, ANN201
    from scheduler.adapters import graph

    settings.CIVICPOST_PLATFORM_URLS = {
        "x": fake.url,
        "facebook": fake.url,
        "instagram": f"{fake.url}/instagram",
        "threads": f"{fake.url}/threads",
        "bluesky": fake.url,
        "pwnedpasswords": fake.url,
    }
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    settings.CIVICPOST_X_CONSUMER_KEY = "ck"
    settings.CIVICPOST_X_CONSUMER_SECRET = "cs"
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = READ_TIMEOUT
    settings.CIVICPOST_HTTP_CONNECT_TIMEOUT_SECONDS = CONNECT_TIMEOUT
    monkeypatch.setattr(graph, "_sleep", lambda seconds: None)
    return settings


def account(**values: Any) -> ChannelAccount:
    return ChannelAccount(channel_id=0, display_name="Parks", **values)


def mastodon(fake: FakePlatform) -> PlatformAdapter:
    from scheduler.adapters.mastodon.adapter import MastodonAdapter

    return MastodonAdapter(
        account(credentials={"access_token": "t"}, options={"instance_url": fake.url, "max_characters": 500})
    )


def x(fake: FakePlatform) -> PlatformAdapter:
    from scheduler.adapters.x.adapter import XAdapter

    credentials = {"access_token": "77-tok", "access_token_secret": "s", "x_user_id": "77", "username": "p"}
    return XAdapter(account(credentials=credentials))


def facebook(fake: FakePlatform) -> PlatformAdapter:
    from scheduler.adapters.facebook.adapter import FacebookPageAdapter

    return FacebookPageAdapter(account(credentials={"page_access_token": "pt"}, options={"page_id": "555"}))


def instagram(fake: FakePlatform) -> PlatformAdapter:
    from scheduler.adapters.instagram.adapter import InstagramAdapter

    return InstagramAdapter(account(credentials={"access_token": "ig-t"}, options={"ig_user_id": "1784"}))


def threads(fake: FakePlatform) -> PlatformAdapter:
    from scheduler.adapters.threads.adapter import ThreadsAdapter

    user = _numeric_id("threads:th-t")
    return ThreadsAdapter(account(credentials={"access_token": "th-t"}, options={"threads_user_id": user}))


def bluesky(fake: FakePlatform) -> PlatformAdapter:
    from scheduler.adapters.bluesky.adapter import BlueskyAdapter

    return BlueskyAdapter(
        account(
            handle=f"@{HANDLE}",
            credentials={"handle": HANDLE, "app_password": APP_PASSWORD},
            options={"pds_url": fake.url},
        )
    )


def webhook(fake: FakePlatform) -> PlatformAdapter:
    from scheduler.adapters.webhook.adapter import WebhookAdapter

    url = fake.url + fake.add_webhook_receiver("cms", WEBHOOK_SECRET)
    return WebhookAdapter(account(credentials={"secret": WEBHOOK_SECRET}, options={"url": url}))


ADAPTERS: dict[str, Callable[[FakePlatform], PlatformAdapter]] = {
    "mastodon": mastodon,
    "x": x,
    "facebook": facebook,
    "instagram": instagram,
    "threads": threads,
    "bluesky": bluesky,
    "webhook": webhook,
}


@pytest.mark.parametrize("platform", list(ADAPTERS))
def test_each_adapter_gives_up_after_the_configured_read_timeout(fake, timeout_settings, platform) -> None:  # noqa: ANN001
    adapter = ADAPTERS[platform](fake)
    content = PostContent(text=f"Pools open at noon ({platform})", media=(PHOTO,) if platform == "instagram" else ())
    fake.configure(platform=platform, script=["slow"], slow_seconds=SLOW_ANSWER)

    started = time.monotonic()
    # Most adapters report the slow answer as an unknown outcome; Instagram and Threads make their container
    # again (nothing is public before the publish step) and go on: either way they must not wait for it.
    with contextlib.suppress(AdapterError):
        adapter.publish(content, idempotency_key="3f1d8c9e-1111-4222-8333-944455556666")
    waited = time.monotonic() - started

    assert fake.stats, "nothing reached the fake"
    # The fake answers after 4 s; the setting says 0.6 s (a few requests each, so allow a little more).
    assert waited < SLOW_ANSWER - 1.5, f"{platform} waited {waited:.1f} s"


# --- The timeout that reaches the transport, for every client -------------------------------------------


@pytest.fixture
def requests_transport():
    """Every requests call answers 200 {} and is recorded with the keyword arguments the transport got."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in (responses.GET, responses.POST, responses.DELETE):
            mock.add(method, ANY_URL, json={})
        yield mock


def timeouts_sent(mock: responses.RequestsMock) -> set[Any]:
    return {call.request.req_kwargs["timeout"] for call in mock.calls}


def _webhook_publish(fake: FakePlatform) -> None:
    webhook(fake).publish(PostContent(text="Leaf pickup"), idempotency_key="3f1d8c9e-1111-4222-8333-944455556666")


def _mastodon_metrics(fake: FakePlatform) -> None:
    mastodon(fake).fetch_metrics("1")


def _mastodon_instance_limits(fake: FakePlatform) -> None:
    mastodon(fake).instance_limits(refresh=True)


def _mastodon_register_app(fake: FakePlatform) -> None:
    from scheduler.adapters.mastodon.adapter import register_app

    register_app(fake.url, "https://civicpost.example/callback")


def _x_metrics(fake: FakePlatform) -> None:
    x(fake).check_connection()


def _facebook_check(fake: FakePlatform) -> None:
    facebook(fake).check_connection()


def _threads_profile(fake: FakePlatform) -> None:
    from scheduler.adapters.threads.adapter import profile

    profile(access_token="th-t")


def _x_connect_flow(fake: FakePlatform) -> None:
    from connections.services import instance_apps
    from connections.views import redirect_uri
    from scheduler.adapters.x.connect import FLOW

    FLOW.finish(code="c", pending={"code_verifier": "v"}, redirect_uri=redirect_uri("x"), apps=instance_apps)


def _pwned_password_check(fake: FakePlatform) -> None:
    from accounts.validators import PwnedPasswordValidator

    PwnedPasswordValidator().occurrences("correct horse battery staple")


def _sign_in_provider_session(fake: FakePlatform) -> None:
    from accounts.adapters import CivicSocialAccountAdapter

    CivicSocialAccountAdapter().get_requests_session().get("https://login.microsoftonline.com/common/v2.0/.well-known")


REQUESTS_CALLS = {
    "webhook publish": _webhook_publish,
    "mastodon metrics": _mastodon_metrics,
    "mastodon instance limits": _mastodon_instance_limits,
    "mastodon register app (connect flow)": _mastodon_register_app,
    "x (tweepy) check": _x_metrics,
    "facebook graph check": _facebook_check,
    "threads profile (connect flow)": _threads_profile,
    "x connect flow": _x_connect_flow,
    "breached-password check": _pwned_password_check,
    "sign-in provider session": _sign_in_provider_session,
}


@pytest.mark.parametrize("call", list(REQUESTS_CALLS))
def test_every_requests_client_sends_the_configured_connect_and_read_timeouts(
    fake, timeout_settings, requests_transport, settings, call
) -> None:  # noqa: ANN001
    settings.CIVICPOST_X_CLIENT_ID = "client"
    settings.CIVICPOST_X_CLIENT_SECRET = "secret"
    # The empty answers make most of these calls fail after their request; only the request matters here.
    with contextlib.suppress(Exception):
        REQUESTS_CALLS[call](fake)

    assert requests_transport.calls, "no request was made"
    assert timeouts_sent(requests_transport) == {(CONNECT_TIMEOUT, READ_TIMEOUT)}


def test_the_bluesky_client_sends_the_configured_timeouts(fake, timeout_settings) -> None:  # noqa: ANN001
    from scheduler.adapters.bluesky.adapter import ConnectFailed, connect_with_app_password

    with respx.mock(assert_all_called=False) as router:
        login = router.post(url__regex=r".*/xrpc/com.atproto.server.createSession").mock(
            return_value=httpx.Response(401, json={"error": "AuthenticationRequired", "message": "no"})
        )
        with pytest.raises(ConnectFailed):
            connect_with_app_password(HANDLE, APP_PASSWORD, fake.url)

    timeout = login.calls.last.request.extensions["timeout"]
    assert timeout == {"connect": CONNECT_TIMEOUT, "read": READ_TIMEOUT, "write": READ_TIMEOUT, "pool": READ_TIMEOUT}


def test_a_changed_setting_applies_to_a_session_made_before(timeout_settings) -> None:  # noqa: ANN001
    from scheduler.adapters.http import http_session

    session = http_session()
    timeout_settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 3.5
    with responses.RequestsMock() as mock:
        mock.get("https://example.org/", json={})
        session.get("https://example.org/")
        assert mock.calls[0].request.req_kwargs["timeout"] == (CONNECT_TIMEOUT, 3.5)
    assert isinstance(session, requests.Session)
