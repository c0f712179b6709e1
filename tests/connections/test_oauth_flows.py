"""The OAuth connection flows (X, Facebook Page, Instagram, Threads, Mastodon) against `responses` fakes of
the platforms' token endpoints, with bodies shaped like their documentation. The admin's browser is the
Django test client: it is redirected to the platform, and we play the platform sending it back."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.urls import reverse
from django.utils import timezone
from responses import matchers

from connections.models import MastodonApp
from connections.views import PENDING_SESSION_KEY
from scheduler.models import Channel, ChannelStatus
from tests.connections import query_of, raw_column

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.facebook.com/v27.0"
THREADS = "https://graph.threads.net"
MASTODON = "https://mastodon.city.example"

X_TOKEN = {
    "token_type": "bearer",
    "expires_in": 7200,
    "access_token": "x-access-token-SECRET",
    "scope": "tweet.read tweet.write users.read offline.access media.write tweet.moderate.write mute.write",
    "refresh_token": "x-refresh-token-SECRET",
}
X_ME = {"data": {"id": "2244994945", "name": "City Parks", "username": "CityParks"}}
FB_SHORT = {"access_token": "fb-short-user-token-SECRET", "token_type": "bearer", "expires_in": 5183944}
FB_LONG = {"access_token": "fb-long-user-token-SECRET", "token_type": "bearer", "expires_in": 5183944}
FB_PAGES = {
    "data": [
        {
            "access_token": "fb-page-token-parks-SECRET",
            "name": "City Parks and Recreation",
            "id": "104412345678901",
            "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
        },
        {
            "access_token": "fb-page-token-pool-SECRET",
            "name": "Riverside Pool",
            "id": "104400000000002",
            "tasks": ["ANALYZE"],
        },
    ],
    "paging": {"cursors": {"before": "QVFIUmJlZm9yZQ", "after": "QVFIUmFmdGVy"}},
}
THREADS_SHORT = {"access_token": "th-short-token-SECRET", "user_id": 26123456789012345}
THREADS_LONG = {"access_token": "th-long-token-SECRET", "token_type": "bearer", "expires_in": 5183944}
THREADS_ME = {"id": "26123456789012345", "username": "cityparks"}
MASTODON_APP = {
    "id": "563419",
    "name": "CivicPost",
    "website": "http://testserver",
    "scopes": [
        "read:accounts",
        "read:statuses",
        "read:notifications",
        "write:statuses",
        "write:media",
        "write:blocks",
        "write:mutes",
    ],
    "redirect_uri": "http://testserver/channels/connect/callback/mastodon/",
    "redirect_uris": ["http://testserver/channels/connect/callback/mastodon/"],
    "client_id": "TWhM-tNSuncnqN7DBJmoyeLnk6K3iJJ71KKXxgL1hPM",
    "client_secret": "mastodon-client-secret-SECRET",
}
MASTODON_TOKEN = {
    "access_token": "mastodon-access-token-SECRET",
    "token_type": "Bearer",
    "scope": "read:accounts read:statuses read:notifications write:statuses write:media write:blocks write:mutes",
    "created_at": 1764601200,
}
MASTODON_ACCOUNT = {
    "id": "109000000000000042",
    "username": "parks",
    "acct": "parks",
    "display_name": "City Parks and Recreation",
    "locked": False,
    "bot": False,
    "created_at": "2022-11-07T00:00:00.000Z",
    "note": "",
    "url": "https://mastodon.city.example/@parks",
    "avatar": "https://mastodon.city.example/avatars/parks.png",
    "avatar_static": "https://mastodon.city.example/avatars/parks.png",
    "header": "https://mastodon.city.example/headers/missing.png",
    "header_static": "https://mastodon.city.example/headers/missing.png",
    "followers_count": 2400,
    "following_count": 80,
    "statuses_count": 312,
    "last_status_at": "2026-12-01",
    "source": {"privacy": "public", "sensitive": False, "language": "en", "note": "", "fields": []},
    "emojis": [],
    "fields": [],
}
SECRETS = [
    "x-access-token-SECRET",
    "x-refresh-token-SECRET",
    "fb-long-user-token-SECRET",
    "fb-page-token-parks-SECRET",
    "th-long-token-SECRET",
    "mastodon-access-token-SECRET",
    "mastodon-client-secret-SECRET",
]


def start(client, department, platform, data=None):  # noqa: ANN001, ANN201
    url = reverse("connections:platform", kwargs={"department_id": department.pk, "platform": platform})
    return client.post(url, data or {})


def callback(client, platform, **params):  # noqa: ANN001, ANN003, ANN201
    return client.get(reverse("connections:callback", kwargs={"platform": platform}), params)


def assert_no_secret_in(content: bytes) -> None:
    for secret in SECRETS:
        assert secret.encode() not in content


# --- X: OAuth 2.0 with PKCE ---------------------------------------------------------------------------


@responses.activate
def test_x_connects_with_pkce_and_stores_tokens_encrypted(people, client, app_keys):
    client.force_login(people.ada)
    response = start(client, people.parks, "x")
    assert response.status_code == 302
    authorize = response["Location"]
    assert authorize.startswith("https://x.com/i/oauth2/authorize?")
    query = query_of(authorize)
    assert query["client_id"] == "x-client-id"
    assert query["redirect_uri"] == "http://testserver/channels/connect/callback/x/"
    assert query["code_challenge_method"] == "S256"
    assert set(query["scope"].split()) >= {"tweet.write", "offline.access", "users.read"}
    state = query["state"]
    assert state in client.session[PENDING_SESSION_KEY]

    token_call = responses.post("https://api.x.com/2/oauth2/token", json=X_TOKEN)
    me_call = responses.get(
        "https://api.x.com/2/users/me",
        json=X_ME,
        match=[matchers.header_matcher({"Authorization": "Bearer x-access-token-SECRET"})],
    )
    response = callback(client, "x", code="x-auth-code", state=state)

    channel = Channel.objects.get(platform="x")
    assert response["Location"] == reverse("connections:channel", kwargs={"channel_id": channel.pk})
    sent = parse_qs(token_call.calls[0].request.body)
    assert sent["grant_type"] == ["authorization_code"]
    assert sent["code"] == ["x-auth-code"]
    assert sent["redirect_uri"] == ["http://testserver/channels/connect/callback/x/"]
    # The verifier sent is the one whose S256 hash went to X in the authorize step.
    verifier = sent["code_verifier"][0]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == query["code_challenge"]
    basic = base64.b64encode(b"x-client-id:x-client-secret").decode()
    assert token_call.calls[0].request.headers["Authorization"] == f"Basic {basic}"
    assert me_call.call_count == 1

    assert channel.department == people.parks
    assert channel.display_name == "@CityParks"
    assert channel.credentials["access_token"] == "x-access-token-SECRET"
    assert channel.credentials["refresh_token"] == "x-refresh-token-SECRET"
    assert channel.credentials["x_user_id"] == "2244994945"
    assert channel.status == ChannelStatus.CONNECTED
    assert abs(channel.token_expires_at - (timezone.now() + dt.timedelta(hours=2))) < dt.timedelta(minutes=1)
    stored = raw_column("scheduler_channel", "credentials", channel.pk)
    assert "SECRET" not in stored and "x-access-token" not in stored
    assert PENDING_SESSION_KEY not in client.session or not client.session[PENDING_SESSION_KEY]
    assert_no_secret_in(client.get(response["Location"]).content)


@responses.activate
def test_a_callback_with_a_state_we_did_not_issue_is_refused(people, client, app_keys):
    client.force_login(people.ada)
    state = query_of(start(client, people.parks, "x")["Location"])["state"]
    response = callback(client, "x", code="x-auth-code", state=state[:-2] + "zz")
    assert response.status_code == 400
    assert b"was not started from this browser" in response.content
    response = callback(client, "x", code="x-auth-code")
    assert response.status_code == 400
    assert not Channel.objects.filter(platform="x").exists()
    assert len(responses.calls) == 0  # no code exchange was attempted


@responses.activate
def test_a_state_is_good_for_one_callback_of_its_own_platform_only(people, client, app_keys):
    client.force_login(people.ada)
    state = query_of(start(client, people.parks, "x")["Location"])["state"]
    assert callback(client, "threads", code="c", state=state).status_code == 400
    # The attempt on the wrong platform used it up.
    assert callback(client, "x", code="c", state=state).status_code == 400
    assert len(responses.calls) == 0


@responses.activate
def test_another_browser_session_cannot_finish_the_sign_in(people, client, app_keys):
    from django.test import Client

    client.force_login(people.ada)
    state = query_of(start(client, people.parks, "x")["Location"])["state"]
    attacker = Client()
    attacker.force_login(people.lena)
    assert callback(attacker, "x", code="c", state=state).status_code == 400
    assert len(responses.calls) == 0


def test_a_state_older_than_15_minutes_is_refused(people, client, app_keys):
    client.force_login(people.ada)
    state = query_of(start(client, people.parks, "x")["Location"])["state"]
    session = client.session
    session[PENDING_SESSION_KEY][state]["created"] -= 16 * 60
    session.save()
    assert callback(client, "x", code="c", state=state).status_code == 400


@responses.activate
def test_cancelling_on_the_platform_connects_nothing(people, client, app_keys):
    client.force_login(people.ada)
    state = query_of(start(client, people.parks, "x")["Location"])["state"]
    response = callback(client, "x", error="access_denied", state=state)
    assert response.status_code == 302
    assert not Channel.objects.filter(platform="x").exists()
    assert len(responses.calls) == 0


@responses.activate
def test_x_refusing_the_code_shows_a_message_and_connects_nothing(people, client, app_keys):
    client.force_login(people.ada)
    state = query_of(start(client, people.parks, "x")["Location"])["state"]
    responses.post(
        "https://api.x.com/2/oauth2/token",
        status=400,
        json={"error": "invalid_request", "error_description": "Value passed for the authorization code was invalid."},
    )
    response = callback(client, "x", code="stale", state=state, follow=False)
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert b"X did not accept the sign-in" in page.content
    assert not Channel.objects.filter(platform="x").exists()


def test_without_app_keys_the_admin_is_told_to_ask_it(people, client, settings):
    settings.CIVICPOST_X_CLIENT_ID = ""
    client.force_login(people.ada)
    response = start(client, people.parks, "x")
    assert response.status_code == 200
    assert b"CIVICPOST_X_CLIENT_ID" in response.content


@responses.activate
def test_losing_the_admin_role_during_the_sign_in_stops_the_callback(people, client, app_keys):
    client.force_login(people.ada)
    state = query_of(start(client, people.parks, "x")["Location"])["state"]
    people.ada.memberships.update(role="editor")
    assert callback(client, "x", code="c", state=state).status_code == 403
    assert len(responses.calls) == 0


# --- Facebook Page and Instagram ------------------------------------------------------------------------


def _meta_callback(client, platform, department):  # noqa: ANN001, ANN202
    authorize = start(client, department, platform)["Location"]
    query = query_of(authorize)
    responses.get(
        f"{GRAPH}/oauth/access_token",
        json=FB_SHORT,
        match=[matchers.query_param_matcher({"code": "fb-code"}, strict_match=False)],
    )
    responses.get(
        f"{GRAPH}/oauth/access_token",
        json=FB_LONG,
        match=[
            matchers.query_param_matcher(
                {"grant_type": "fb_exchange_token", "fb_exchange_token": "fb-short-user-token-SECRET"},
                strict_match=False,
            )
        ],
    )
    responses.get(f"{GRAPH}/me/accounts", json=FB_PAGES)
    return authorize, query, callback(client, platform, code="fb-code", state=query["state"])


@responses.activate
def test_facebook_login_then_picking_the_page_connects_it_with_the_page_token(people, client, app_keys):
    client.force_login(people.ada)
    authorize, query, response = _meta_callback(client, "facebook", people.parks)
    assert authorize.startswith("https://www.facebook.com/v27.0/dialog/oauth?")
    assert query["code_challenge_method"] == "S256"
    assert "pages_manage_posts" in query["scope"]
    code_exchange = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert code_exchange["redirect_uri"] == ["http://testserver/channels/connect/callback/facebook/"]
    assert code_exchange["code_verifier"]

    assert response.status_code == 302
    pick_url = response["Location"]
    # The long-lived user token waits for the pick encrypted in the session, never in clear.
    assert "fb-long-user-token-SECRET" not in json.dumps(dict(client.session))

    page = client.get(pick_url)
    assert page.status_code == 200
    assert b"City Parks and Recreation" in page.content
    assert b"Riverside Pool" in page.content  # listed as not available: no Create content task
    assert_no_secret_in(page.content)

    refused = client.post(pick_url, {"page": "104400000000002"})
    assert refused.status_code == 200
    assert not Channel.objects.filter(platform="facebook").exists()

    response = client.post(pick_url, {"page": "104412345678901"})
    channel = Channel.objects.get(platform="facebook")
    assert response["Location"] == reverse("connections:channel", kwargs={"channel_id": channel.pk})
    assert channel.credentials == {"page_access_token": "fb-page-token-parks-SECRET"}
    assert channel.options["page_id"] == "104412345678901"
    assert channel.display_name == "City Parks and Recreation"
    assert channel.token_expires_at is None  # Page tokens from a long-lived user token do not expire
    assert client.get(pick_url).status_code == 404  # used up


@responses.activate
def test_instagram_lists_the_accounts_linked_to_the_admins_pages(people, client, app_keys):
    client.force_login(people.ada)
    responses.get(
        f"{GRAPH}/104412345678901",
        json={
            "instagram_business_account": {"id": "17841400000000001", "username": "cityparks"},
            "id": "104412345678901",
        },
    )
    responses.get(f"{GRAPH}/104400000000002", json={"id": "104400000000002"})
    authorize, query, response = _meta_callback(client, "instagram", people.parks)
    assert "instagram_content_publish" in query["scope"]
    pick_url = response["Location"]
    page = client.get(pick_url)
    assert b"@cityparks" in page.content
    assert b"No Instagram professional account is linked" in page.content

    client.post(pick_url, {"page": "104412345678901"})
    channel = Channel.objects.get(platform="instagram")
    assert channel.options["ig_user_id"] == "17841400000000001"
    assert channel.options["page_id"] == "104412345678901"
    assert channel.credentials["access_token"] == "fb-page-token-parks-SECRET"
    assert channel.display_name == "@cityparks"


# --- Threads ----------------------------------------------------------------------------------------------


@responses.activate
def test_threads_exchanges_the_code_for_a_60_day_token(people, client, app_keys):
    client.force_login(people.ada)
    authorize = start(client, people.parks, "threads")["Location"]
    query = query_of(authorize)
    assert "threads_content_publish" in query["scope"]
    assert query["redirect_uri"] == "http://testserver/channels/connect/callback/threads/"
    code_call = responses.post(f"{THREADS}/oauth/access_token", json=THREADS_SHORT)
    exchange = responses.get(
        f"{THREADS}/access_token",
        json=THREADS_LONG,
        match=[
            matchers.query_param_matcher(
                {
                    "grant_type": "th_exchange_token",
                    "client_secret": "threads-app-secret",
                    "access_token": "th-short-token-SECRET",
                }
            )
        ],
    )
    responses.get(f"{THREADS}/v1.0/me", json=THREADS_ME)

    response = callback(client, "threads", code="th-code", state=query["state"])

    assert parse_qs(code_call.calls[0].request.body)["code"] == ["th-code"]
    assert exchange.call_count == 1
    channel = Channel.objects.get(platform="threads")
    assert response["Location"] == reverse("connections:channel", kwargs={"channel_id": channel.pk})
    assert channel.credentials["access_token"] == "th-long-token-SECRET"
    assert channel.options["threads_user_id"] == "26123456789012345"
    assert (channel.token_expires_at - timezone.now()).days == 59
    page = client.get(response["Location"])
    assert b"expires in 59 days" in page.content
    assert_no_secret_in(page.content)


# --- Mastodon: one app per instance -----------------------------------------------------------------------


def _mastodon_fakes() -> tuple[responses.BaseResponse, responses.BaseResponse]:
    register = responses.post(f"{MASTODON}/api/v1/apps", json=MASTODON_APP)
    responses.get(f"{MASTODON}/.well-known/oauth-authorization-server", status=404, json={"error": "Not found"})
    token = responses.post(f"{MASTODON}/oauth/token", json=MASTODON_TOKEN)
    responses.get(f"{MASTODON}/api/v1/accounts/verify_credentials", json=MASTODON_ACCOUNT)
    return register, token


@responses.activate
def test_mastodon_registers_once_per_instance_then_signs_in(people, client, dns):
    register, token = _mastodon_fakes()
    client.force_login(people.ada)
    response = start(client, people.parks, "mastodon", {"instance_url": "Mastodon.City.Example/"})
    assert response.status_code == 302, response.content
    authorize = response["Location"]
    assert authorize.startswith(f"{MASTODON}/oauth/authorize?")
    query = query_of(authorize)
    assert query["client_id"] == MASTODON_APP["client_id"]
    assert query["redirect_uri"] == "http://testserver/channels/connect/callback/mastodon/"
    registered = parse_qs(register.calls[0].request.body)
    assert registered["redirect_uris"] == ["http://testserver/channels/connect/callback/mastodon/"]

    app = MastodonApp.objects.get()
    assert app.instance_url == MASTODON
    assert app.client_secret == "mastodon-client-secret-SECRET"
    assert "SECRET" not in raw_column("connections_mastodonapp", "secrets", app.pk)

    response = callback(client, "mastodon", code="m-code", state=query["state"])
    channel = Channel.objects.get(platform="mastodon")
    assert response["Location"] == reverse("connections:channel", kwargs={"channel_id": channel.pk})
    sent = parse_qs(token.calls[0].request.body)
    assert sent["code"] == ["m-code"]
    assert sent["client_secret"] == ["mastodon-client-secret-SECRET"]
    assert channel.credentials["access_token"] == "mastodon-access-token-SECRET"
    assert channel.options["instance_url"] == MASTODON
    assert channel.account_handle == "parks@mastodon.city.example"
    assert "SECRET" not in raw_column("scheduler_channel", "credentials", channel.pk)

    # A second account on the same instance reuses the registration.
    client.force_login(people.lena)
    start(client, people.library, "mastodon", {"instance_url": "https://mastodon.city.example"})
    assert register.call_count == 1
    assert MastodonApp.objects.count() == 1


@responses.activate
def test_a_mastodon_address_on_the_city_network_is_refused(people, client, dns):
    client.force_login(people.ada)
    response = start(client, people.parks, "mastodon", {"instance_url": "https://intranet.city.example"})
    assert response.status_code == 200
    form = response.context["form"]
    assert "private or reserved network address" in form.errors["instance_url"][0]
    assert 'aria-describedby="id_instance_url-hint id_instance_url-error"' in response.content.decode()
    assert len(responses.calls) == 0
    assert not MastodonApp.objects.exists()


@pytest.mark.parametrize("address", ["http://127.0.0.1:8080", "https://127.0.0.1", "https://[::1]", "https://10.0.0.5"])
@responses.activate
def test_loopback_and_private_addresses_are_refused_when_loopback_is_not_allowed(
    people, client, dns, settings, address
):
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = False
    client.force_login(people.ada)
    response = start(client, people.parks, "mastodon", {"instance_url": address})
    assert response.status_code == 200
    assert response.context["form"].errors["instance_url"]
    assert len(responses.calls) == 0
    assert not Channel.objects.filter(platform="mastodon").exists()


@responses.activate
def test_mastodon_server_that_is_not_mastodon_is_explained(people, client, dns):
    responses.post(f"{MASTODON}/api/v1/apps", status=404, body="<html>Not here</html>")
    client.force_login(people.ada)
    response = start(client, people.parks, "mastodon", {"instance_url": MASTODON})
    assert response.status_code == 200
    assert "did not accept CivicPost as an app" in response.context["form"].errors["instance_url"][0]
