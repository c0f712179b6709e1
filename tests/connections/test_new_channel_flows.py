"""Connecting the LinkedIn Page, YouTube and Google Business Profile channels through the connect pages,
against `responses` fakes of the token endpoints and the listing calls (bodies shaped like the platforms'
documentation): the authorize URL (state, PKCE where the platform takes it), the code exchanged, the
organisation or location picked, the credentials saved encrypted, and, without app settings, the page
naming the settings that are needed."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses
from django.urls import reverse

from connections.views import PENDING_SESSION_KEY
from scheduler.models import Channel, ChannelStatus
from tests.connections import query_of, raw_column
from tests.fakeplatform.youtube import CHANNEL

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent.parent / "scheduler" / "adapters" / "fixtures"
LI_API = "https://api.linkedin.com"


def fixture(platform: str, name: str) -> dict:
    return json.loads((FIXTURES / platform / f"{name}.json").read_text())


@pytest.fixture
def new_app_keys(settings):  # noqa: ANN001, ANN201
    settings.CIVICPOST_LINKEDIN_CLIENT_ID = "li-client-id"
    settings.CIVICPOST_LINKEDIN_CLIENT_SECRET = "li-client-secret"
    settings.CIVICPOST_GOOGLE_CLIENT_ID = "g-client-id.apps.googleusercontent.com"
    settings.CIVICPOST_GOOGLE_CLIENT_SECRET = "g-client-secret"
    return settings


def connect_url(department, platform):  # noqa: ANN001, ANN201
    return reverse("connections:platform", kwargs={"department_id": department.pk, "platform": platform})


def callback(client, platform, **params):  # noqa: ANN001, ANN003, ANN201
    return client.get(reverse("connections:callback", kwargs={"platform": platform}), params)


def assert_pkce(sent_verifier: str, challenge: str) -> None:
    digest = hashlib.sha256(sent_verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge


@pytest.mark.parametrize(
    ("platform", "names"),
    [
        (
            "linkedin",
            [b"CIVICPOST_LINKEDIN_CLIENT_ID", b"CIVICPOST_LINKEDIN_CLIENT_SECRET", b"Community Management API"],
        ),
        ("youtube", [b"CIVICPOST_GOOGLE_CLIENT_ID", b"CIVICPOST_GOOGLE_CLIENT_SECRET", b"YouTube Data API v3"]),
        ("google_business", [b"CIVICPOST_GOOGLE_CLIENT_ID", b"CIVICPOST_GOOGLE_CLIENT_SECRET", b"access request"]),
    ],
)
def test_without_app_settings_the_connect_page_names_what_is_needed(people, client, settings, platform, names):
    for name in (
        "CIVICPOST_LINKEDIN_CLIENT_ID",
        "CIVICPOST_LINKEDIN_CLIENT_SECRET",
        "CIVICPOST_GOOGLE_CLIENT_ID",
        "CIVICPOST_GOOGLE_CLIENT_SECRET",
    ):
        setattr(settings, name, "")
    client.force_login(people.ada)
    page = client.get(connect_url(people.parks, platform))
    assert page.status_code == 200
    for name in names:
        assert name in page.content
    refused = client.post(connect_url(people.parks, platform), {})
    assert refused.status_code == 200  # the form again, with the missing settings named; nothing sent
    assert names[0] in refused.content
    assert not Channel.objects.filter(platform=platform).exists()


@responses.activate
def test_linkedin_signs_in_then_the_admin_picks_an_organisation_they_administer(people, client, new_app_keys):
    client.force_login(people.ada)
    authorize = client.post(connect_url(people.parks, "linkedin"), {})["Location"]
    assert authorize.startswith("https://www.linkedin.com/oauth/v2/authorization?")
    query = query_of(authorize)
    assert query["client_id"] == "li-client-id"
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == "http://testserver/channels/connect/callback/linkedin/"
    assert query["scope"] == "w_organization_social r_organization_social rw_organization_admin"
    assert query["state"] in client.session[PENDING_SESSION_KEY]

    token = responses.post("https://www.linkedin.com/oauth/v2/accessToken", json=fixture("linkedin", "token"))
    acls = responses.get(f"{LI_API}/rest/organizationAcls", json=fixture("linkedin", "org_acls"))
    responses.get(f"{LI_API}/rest/organizations/2414183", json=fixture("linkedin", "organization_2414183"))
    responses.get(f"{LI_API}/rest/organizations/5583111", json=fixture("linkedin", "organization_5583111"))
    pick_url = callback(client, "linkedin", code="li-code", state=query["state"])["Location"]

    assert parse_qs(token.calls[0].request.body) == {
        "grant_type": ["authorization_code"],
        "code": ["li-code"],
        "redirect_uri": ["http://testserver/channels/connect/callback/linkedin/"],
        "client_id": ["li-client-id"],
        "client_secret": ["li-client-secret"],
    }
    assert "li-access-token-SECRET" not in json.dumps(dict(client.session))
    page = client.get(pick_url)
    assert b"City of Springfield" in page.content
    assert b"Springfield Public Library" in page.content  # shown as not available: analyst only
    assert b"li-access-token-SECRET" not in page.content
    request = acls.calls[0].request
    assert query_of(request.url) == {"q": "roleAssignee", "state": "APPROVED"}
    assert request.headers["LinkedIn-Version"] == "202607"
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"

    assert client.post(pick_url, {"page": "urn:li:organization:5583111"}).status_code == 200
    assert not Channel.objects.filter(platform="linkedin").exists()
    client.post(pick_url, {"page": "urn:li:organization:2414183"})
    channel = Channel.objects.get(platform="linkedin")
    assert channel.display_name == "City of Springfield"
    assert channel.options == {
        "organization_urn": "urn:li:organization:2414183",
        "organization_name": "City of Springfield",
    }
    assert channel.credentials["access_token"] == "li-access-token-SECRET"
    assert channel.credentials["refresh_token"] == "li-refresh-token-SECRET"
    assert channel.status == ChannelStatus.CONNECTED
    assert channel.token_expires_at is not None  # 60 days: the channel page counts down
    assert "SECRET" not in raw_column("scheduler_channel", "credentials", channel.pk)


@responses.activate
def test_youtube_signs_in_with_pkce_and_names_the_channel(people, client, new_app_keys):
    client.force_login(people.ada)
    authorize = client.post(connect_url(people.parks, "youtube"), {})["Location"]
    assert authorize.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    query = query_of(authorize)
    assert query["client_id"] == "g-client-id.apps.googleusercontent.com"
    assert query["access_type"] == "offline"
    assert query["prompt"] == "consent"
    assert query["code_challenge_method"] == "S256"
    assert query["scope"] == (
        "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube.readonly "
        "https://www.googleapis.com/auth/youtube.force-ssl"
    )
    token = responses.post(
        "https://oauth2.googleapis.com/token",
        json={**fixture("google_business", "google_token"), "scope": query["scope"]},
    )
    mine = responses.get(
        "https://www.googleapis.com/youtube/v3/channels",
        json={"kind": "youtube#channelListResponse", "items": [CHANNEL]},
    )
    response = callback(client, "youtube", code="g-code", state=query["state"])

    channel = Channel.objects.get(platform="youtube")
    assert response["Location"] == reverse("connections:channel", kwargs={"channel_id": channel.pk})
    sent = parse_qs(token.calls[0].request.body)
    assert sent["grant_type"] == ["authorization_code"]
    assert sent["client_secret"] == ["g-client-secret"]
    assert_pkce(sent["code_verifier"][0], query["code_challenge"])
    assert query_of(mine.calls[0].request.url) == {"part": "snippet", "mine": "true"}
    assert mine.calls[0].request.headers["Authorization"] == "Bearer ya29.google-access-SECRET"
    assert channel.display_name == "Springfield City Hall"
    assert channel.account_handle == "@springfieldcityhall"
    assert channel.options["channel_id"] == CHANNEL["id"]
    assert channel.options["youtube_quota"]["units"] == 1  # channels.list was counted
    assert channel.credentials["refresh_token"] == "1//google-refresh-SECRET"
    assert channel.token_expires_at is None  # the hour-long access token renews itself
    assert "SECRET" not in raw_column("scheduler_channel", "credentials", channel.pk)


@responses.activate
def test_google_business_profile_signs_in_then_the_admin_picks_one_location(people, client, new_app_keys):
    client.force_login(people.ada)
    query = query_of(client.post(connect_url(people.parks, "google_business"), {})["Location"])
    assert query["scope"] == "https://www.googleapis.com/auth/business.manage"
    token = responses.post("https://oauth2.googleapis.com/token", json=fixture("google_business", "google_token"))
    responses.get(
        "https://mybusinessaccountmanagement.googleapis.com/v1/accounts", json=fixture("google_business", "accounts")
    )
    locations = "https://mybusinessbusinessinformation.googleapis.com/v1/accounts/1157283927382/locations"
    responses.get(locations, json=fixture("google_business", "locations_page2"))
    pick_url = callback(client, "google_business", code="g-code", state=query["state"])["Location"]
    assert_pkce(parse_qs(token.calls[0].request.body)["code_verifier"][0], query["code_challenge"])

    page = client.get(pick_url)
    assert b"Riverside Pool" in page.content
    client.post(pick_url, {"page": "accounts/1157283927382/locations/7000000000000000001"})

    channel = Channel.objects.get(platform="google_business")
    assert channel.display_name == "Riverside Pool"
    assert channel.options == {
        "account_id": "1157283927382",
        "location_id": "7000000000000000001",
        "location_title": "Riverside Pool",
    }
    assert channel.credentials["refresh_token"] == "1//google-refresh-SECRET"
    assert "SECRET" not in raw_column("scheduler_channel", "credentials", channel.pk)
