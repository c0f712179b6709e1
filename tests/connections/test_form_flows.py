"""Channels connected with a form: Bluesky (handle + app password, checked by signing in against a respx fake
of createSession), webhooks (URL through the SSRF guard + a secret shown once) and the city feed."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time

import httpx
import pytest
import respx
from django.urls import reverse
from standardwebhooks import Webhook

from scheduler.models import Channel, ChannelStatus
from tests.connections import raw_column

pytestmark = pytest.mark.django_db

APP_PASSWORD = "abcd-efgh-ijkl-mnop"
DID = "did:plc:z72i7hdynmk6r22z27h6tvur"


def _jwt(scope: str) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    payload = {"scope": scope, "sub": DID, "iat": now, "exp": now + 7200, "aud": "did:web:bsky.social"}
    return f"{part({'alg': 'ES256K', 'typ': 'at+jwt'})}.{part(payload)}.c2lnbmF0dXJl"


def create_session_body(handle: str = "parks.city.example") -> dict:
    """com.atproto.server.createSession output (https://docs.bsky.app/docs/api/com-atproto-server-create-session)."""
    return {
        "did": DID,
        "handle": handle,
        "email": "parks@city.example",
        "emailConfirmed": True,
        "accessJwt": _jwt("com.atproto.appPass"),
        "refreshJwt": _jwt("com.atproto.refresh"),
        "active": True,
    }


def platform_url(department, platform: str) -> str:  # noqa: ANN001
    return reverse("connections:platform", kwargs={"department_id": department.pk, "platform": platform})


# --- Bluesky ----------------------------------------------------------------------------------------------


@respx.mock
def test_bluesky_signs_in_once_and_keeps_the_session_encrypted(people, client, dns):
    route = respx.post("https://bsky.social/xrpc/com.atproto.server.createSession").mock(
        return_value=httpx.Response(200, json=create_session_body())
    )
    client.force_login(people.ada)
    response = client.post(
        platform_url(people.parks, "bluesky"), {"handle": "@parks.city.example", "app_password": APP_PASSWORD}
    )
    channel = Channel.objects.get(platform="bluesky")
    assert response["Location"] == reverse("connections:channel", kwargs={"channel_id": channel.pk})
    assert json.loads(route.calls[0].request.content) == {"identifier": "parks.city.example", "password": APP_PASSWORD}
    assert channel.account_handle == "parks.city.example"
    assert channel.credentials["did"] == DID
    assert channel.credentials["app_password"] == APP_PASSWORD
    assert channel.credentials["session_string"].startswith("parks.city.example:::" + DID)
    assert channel.options["did"] == DID
    stored = raw_column("scheduler_channel", "credentials", channel.pk)
    assert APP_PASSWORD not in stored and DID not in stored
    page = client.get(response["Location"]).content
    assert APP_PASSWORD.encode() not in page


@respx.mock
def test_bluesky_refusal_is_shown_and_the_password_is_not_echoed(people, client, dns):
    respx.post("https://bsky.social/xrpc/com.atproto.server.createSession").mock(
        return_value=httpx.Response(
            401, json={"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
        )
    )
    client.force_login(people.ada)
    response = client.post(
        platform_url(people.parks, "bluesky"), {"handle": "parks.city.example", "app_password": APP_PASSWORD}
    )
    assert response.status_code == 200
    assert b"did not accept this handle and app password" in response.content
    assert APP_PASSWORD.encode() not in response.content
    assert b'value="parks.city.example"' in response.content
    assert not Channel.objects.filter(platform="bluesky").exists()


@respx.mock
def test_a_bluesky_server_on_the_city_network_is_refused(people, client, dns):
    client.force_login(people.ada)
    response = client.post(
        platform_url(people.parks, "bluesky"),
        {"handle": "parks.city.example", "app_password": APP_PASSWORD, "service_url": "https://intranet.city.example"},
    )
    assert response.status_code == 200
    assert b"private or reserved network address" in response.content
    assert not respx.calls


@respx.mock
def test_a_bluesky_account_on_its_own_server_keeps_that_server(people, client, dns):
    respx.post("https://pds.city.example/xrpc/com.atproto.server.createSession").mock(
        return_value=httpx.Response(200, json=create_session_body())
    )
    client.force_login(people.ada)
    client.post(
        platform_url(people.parks, "bluesky"),
        {"handle": "parks.city.example", "app_password": APP_PASSWORD, "service_url": "pds.city.example"},
    )
    channel = Channel.objects.get(platform="bluesky")
    assert channel.options["pds_url"] == "https://pds.city.example"


# --- Webhook ----------------------------------------------------------------------------------------------


def test_webhook_secret_is_shown_once_and_signs_what_the_adapter_sends(people, client, dns):
    client.force_login(people.ada)
    response = client.post(
        platform_url(people.parks, "webhook"),
        {
            "display_name": "Parks page of the CMS",
            "url": "https://cms.city.example/hooks/civicpost",
            "payload_format": "standard",
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    channel = Channel.objects.get(platform="webhook")
    secret = channel.credentials["secret"]
    assert secret.startswith("whsec_")
    assert secret.encode() in response.content
    assert channel.credentials["url"] == "https://cms.city.example/hooks/civicpost"
    assert channel.options == {"format": "standard", "host": "cms.city.example"}
    # A receiver configured with the shown secret verifies our signature.
    signer = Webhook(secret)
    body = '{"type":"post.published"}'
    now = dt.datetime.now(tz=dt.UTC)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign("msg_1", now, body),
    }
    assert Webhook(secret).verify(body, headers) == {"type": "post.published"}

    stored = raw_column("scheduler_channel", "credentials", channel.pk)
    assert secret not in stored and "cms.city.example/hooks" not in stored
    # Never again: not on the channel page, not in the reconnect form.
    assert secret.encode() not in client.get(reverse("connections:channel", kwargs={"channel_id": channel.pk})).content
    reconnect_form = client.get(reverse("connections:reconnect", kwargs={"channel_id": channel.pk}))
    assert secret.encode() not in reconnect_form.content
    assert b"/hooks/civicpost" not in reconnect_form.content


def test_reconnecting_a_webhook_makes_a_new_secret_on_the_same_channel(people, client, dns):
    client.force_login(people.ada)
    data = {"display_name": "Slack", "url": "https://hooks.slack.com/services/T0/B0/XYZ", "payload_format": "slack"}
    client.post(platform_url(people.parks, "webhook"), data)
    channel = Channel.objects.get(platform="webhook")
    first = channel.credentials["secret"]
    response = client.post(reverse("connections:reconnect", kwargs={"channel_id": channel.pk}), data)
    channel.refresh_from_db()
    assert Channel.objects.filter(platform="webhook").count() == 1
    assert channel.credentials["secret"] != first
    assert channel.credentials["secret"].encode() in response.content


@pytest.mark.parametrize(
    "url",
    [
        "https://intranet.city.example/hook",
        "https://10.1.2.3/hook",
        "ftp://cms.city.example/x",
        "https://169.254.169.254/latest",
        "https://[::127.0.0.1]:8443/hook",
        "https://[64:ff9b::7f00:1]:8443/hook",
        "https://[2002:a9fe:a9fe::1]/hook",
    ],
)
def test_webhook_to_a_private_or_odd_address_is_refused(people, client, dns, url):
    client.force_login(people.ada)
    response = client.post(
        platform_url(people.parks, "webhook"), {"display_name": "x", "url": url, "payload_format": "standard"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["url"]
    assert 'aria-invalid="true"' in response.content.decode()
    assert url.encode() not in response.content  # a webhook URL may hold a secret: never echoed
    assert not Channel.objects.filter(platform="webhook").exists()


def test_webhook_to_loopback_is_refused_unless_the_setting_allows_it(people, client, dns, settings):
    client.force_login(people.ada)
    data = {"display_name": "Local", "url": "http://127.0.0.1:9000/hook", "payload_format": "standard"}
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = False
    assert client.post(platform_url(people.parks, "webhook"), data).context["form"].errors["url"]
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    assert client.post(platform_url(people.parks, "webhook"), data).status_code == 200
    assert Channel.objects.filter(platform="webhook").exists()


# --- City feed and the forms themselves ---------------------------------------------------------------------


def test_the_city_feed_needs_no_credentials(people, client):
    client.force_login(people.ada)
    form = client.get(platform_url(people.parks, "feed"))
    assert b"Parks and Recreation news on the city website" in form.content
    client.post(platform_url(people.parks, "feed"), {"display_name": "Parks news"})
    channel = Channel.objects.get(platform="feed")
    assert channel.credentials == {}
    assert channel.status == ChannelStatus.CONNECTED


def test_forms_are_labelled_grouped_and_link_their_errors(people, client):
    client.force_login(people.ada)
    page = client.get(reverse("connections:start")).content.decode()
    assert '<legend class="usa-legend">Platform</legend>' in page
    assert '<label class="usa-label" for="id_department">' in page
    for platform in ("x", "mastodon", "bluesky", "webhook", "feed", "facebook", "instagram", "threads"):
        assert f'value="{platform}"' in page

    page = client.post(platform_url(people.parks, "bluesky"), {"handle": "", "app_password": ""}).content.decode()
    assert "<fieldset" in page and "<legend" in page
    assert 'for="id_app_password"' in page
    assert 'aria-describedby="id_app_password-hint id_app_password-error"' in page
    assert 'id="id_app_password-error"' in page
    assert 'type="password"' in page
    assert 'autocomplete="off"' in page


def test_unknown_platforms_have_no_connect_page(people, client):
    client.force_login(people.ada)
    assert client.get(platform_url(people.parks, "sandbox")).status_code == 404
    assert client.get(platform_url(people.parks, "myspace")).status_code == 404
