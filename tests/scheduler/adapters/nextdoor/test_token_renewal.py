"""Nextdoor token renewal: the OAuth 2.0 refresh (grant_type=refresh_token, HTTP Basic client authentication) at
auth.nextdoor.com/v2/token, run by connections' periodic refresher for tokens close to expiry; a refusal means
reconnect, a passing failure tries again later, and without a refresh token the admin is told to reconnect
before the token runs out."""

from __future__ import annotations

import base64
import datetime as dt
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from connections.services import channel_refresh_token
from scheduler.adapters.base import AuthExpired, ChannelAccount, PublishError
from scheduler.adapters.nextdoor.adapter import NextdoorAdapter
from scheduler.models import Channel, ChannelStatus
from tests.factories import ChannelFactory
from tests.scheduler.adapters import meta_helpers

pytestmark = pytest.mark.django_db

fake = meta_helpers.fake
TOKEN_URL = "https://auth.nextdoor.com/v2/token"


@pytest.fixture(autouse=True)
def app_keys(settings):
    settings.CIVICPOST_NEXTDOOR_CLIENT_ID = "nd-client"
    settings.CIVICPOST_NEXTDOOR_CLIENT_SECRET = "nd-secret"
    settings.CIVICPOST_PLATFORM_URLS = {}


def adapter(**credentials) -> NextdoorAdapter:
    soon = (timezone.now() + dt.timedelta(days=3)).isoformat()
    return NextdoorAdapter(
        ChannelAccount(
            channel_id=1,
            display_name="City of Example",
            credentials={"access_token": "old-token", "expires_at": soon, **credentials},
            options={"agency_id": "4102", "group_ids": []},
        )
    )


def test_the_token_is_renewed_with_the_refresh_token(fake):
    route = fake.post(
        TOKEN_URL,
        json={"token_type": "Bearer", "access_token": "new-token", "expires_in": 31536000, "refresh_token": "r2"},
    )
    renewing = adapter(refresh_token="r1")

    credentials = renewing.refresh_credentials()

    request = route.calls[0].request
    assert parse_qs(request.body) == {"grant_type": ["refresh_token"], "refresh_token": ["r1"]}
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"nd-client:nd-secret").decode()
    assert credentials["access_token"] == "new-token"
    assert credentials["refresh_token"] == "r2"
    assert dt.datetime.fromisoformat(credentials["expires_at"]) > timezone.now() + dt.timedelta(days=364)
    assert renewing.updated_credentials == credentials


def test_a_refused_renewal_means_reconnect(fake):
    fake.post(TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "Refresh token revoked"})
    with pytest.raises(AuthExpired, match="Refresh token revoked"):
        adapter(refresh_token="r1").refresh_credentials()


def test_a_server_error_is_tried_again_later(fake):
    fake.post(TOKEN_URL, status=500, json={"error": "server_error"})
    with pytest.raises(PublishError) as error:
        adapter(refresh_token="r1").refresh_credentials()
    assert not error.value.permanent


def test_without_a_refresh_token_the_admin_is_told_to_reconnect_in_time(fake):
    with pytest.raises(PublishError, match="reconnect the channel before"):
        adapter().refresh_credentials()
    assert len(fake.calls) == 0


def test_the_periodic_refresher_saves_the_renewed_token_encrypted(fake, personas):
    fake.post(TOKEN_URL, json={"access_token": "new-token", "expires_in": 31536000})
    channel = ChannelFactory(
        department=personas.parks,
        platform="nextdoor",
        credentials={
            "access_token": "old-token",
            "refresh_token": "r1",
            "expires_at": (timezone.now() + dt.timedelta(days=2)).isoformat(),
        },
        options={"agency_id": "4102", "group_ids": []},
    )

    assert channel_refresh_token(channel_id=channel.pk) == "refreshed"

    channel = Channel.objects.get(pk=channel.pk)
    assert channel.status == ChannelStatus.CONNECTED
    assert channel.credentials["access_token"] == "new-token"
    assert channel.credentials["refresh_token"] == "r1"
    assert channel.token_expires_at > timezone.now() + dt.timedelta(days=364)
