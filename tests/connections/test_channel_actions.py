"""The channel page and its actions: test connection (htmx), disconnect, reconnect; and how a revoked token
holds deliveries with a clear message until the department reconnects (never failing them silently)."""

from __future__ import annotations

import datetime as dt

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from scheduler.adapters.base import AuthExpired
from scheduler.adapters.feed.adapter import FeedAdapter
from scheduler.models import Channel, ChannelStatus, DeliveryStatus
from tests.connections import query_of, raw_column
from tests.factories import ChannelFactory
from tests.scheduler import approved_post, make_due, set_mode, tick

pytestmark = pytest.mark.django_db

THREADS = "https://graph.threads.net"


def url(name: str, channel: Channel) -> str:
    return reverse(f"connections:{name}", kwargs={"channel_id": channel.pk})


@pytest.fixture
def threads_channel(people):  # noqa: ANN001, ANN201
    return ChannelFactory(
        department=people.parks,
        platform="threads",
        display_name="@cityparks",
        credentials={
            "access_token": "th-token-SECRET",
            "expires_at": (timezone.now() + dt.timedelta(days=40)).isoformat(),
        },
        options={"threads_user_id": "26123456789012345", "username": "cityparks"},
        token_expires_at=timezone.now() + dt.timedelta(days=40),
    )


# --- Status display ---------------------------------------------------------------------------------------


def test_channel_page_shows_connected_expiry_and_needs_reconnect(people, client, threads_channel):
    client.force_login(people.ada)
    page = client.get(url("channel", threads_channel)).content.decode()
    assert "Connected" in page
    assert "expires in 39 days" in page or "expires in 40 days" in page
    assert "th-token-SECRET" not in page

    Channel.objects.filter(pk=threads_channel.pk).update(
        status=ChannelStatus.NEEDS_RECONNECT, status_message="Threads says the token expired."
    )
    page = client.get(url("channel", threads_channel)).content.decode()
    assert "Needs reconnect" in page
    assert "Threads says the token expired." in page


def test_an_expired_token_reads_needs_reconnect_even_before_anyone_tests_it(people, client, threads_channel):
    Channel.objects.filter(pk=threads_channel.pk).update(token_expires_at=timezone.now() - dt.timedelta(hours=1))
    client.force_login(people.ada)
    assert "Needs reconnect" in client.get(url("channel", threads_channel)).content.decode()


# --- Test connection --------------------------------------------------------------------------------------


@responses.activate
def test_test_connection_with_htmx_answers_the_status_box_and_records_the_result(people, client, threads_channel):
    responses.get(f"{THREADS}/v1.0/me", json={"id": "26123456789012345", "username": "cityparks"})
    client.force_login(people.ada)
    response = client.post(url("test", threads_channel), headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="channel-status"')
    assert "<html" not in html
    assert "Test passed." in html
    threads_channel.refresh_from_db()
    assert threads_channel.status == ChannelStatus.CONNECTED
    assert responses.calls[0].request.headers["Authorization"] == "Bearer th-token-SECRET"


@responses.activate
def test_a_revoked_token_found_by_the_test_marks_needs_reconnect_and_holds_posts(people, client, threads_channel):
    responses.get(
        f"{THREADS}/v1.0/me",
        status=400,
        json={
            "error": {
                "message": "Error validating access token: The session has been invalidated.",
                "type": "OAuthException",
                "code": 190,
                "error_subcode": 460,
                "fbtrace_id": "A1b2C3",
            }
        },
    )
    post = approved_post(author=people.alice, approver=people.bob, channels=[threads_channel])
    client.force_login(people.ada)
    response = client.post(url("test", threads_channel))
    assert response.status_code == 302
    threads_channel.refresh_from_db()
    assert threads_channel.status == ChannelStatus.NEEDS_RECONNECT
    assert threads_channel.status_message
    delivery = post.deliveries.get()
    assert delivery.status == DeliveryStatus.SCHEDULED
    assert delivery.failure_message.startswith("Waiting: the channel must be reconnected by a department admin")
    page = client.get(response["Location"]).content.decode()
    assert "Needs reconnect" in page


def test_a_test_that_passes_again_releases_the_held_posts(people, client):
    channel = people.parks_channel  # Sandbox: its "down" mode fails the check without any HTTP
    post = approved_post(author=people.alice, approver=people.bob, channels=[channel])
    set_mode(channel, "down")
    client.force_login(people.ada)
    client.post(url("test", channel))
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT
    assert post.deliveries.get().failure_message.startswith("Waiting: the channel must be reconnected")
    set_mode(channel, "ok")
    client.post(url("test", channel))
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CONNECTED
    assert post.deliveries.get().failure_message == ""


# --- Disconnect -------------------------------------------------------------------------------------------


def test_disconnect_wipes_the_credentials_and_posts_wait_with_a_message(people, client, threads_channel):
    post = approved_post(author=people.alice, approver=people.bob, channels=[threads_channel])
    make_due(post)
    client.force_login(people.ada)
    response = client.post(url("disconnect", threads_channel))
    assert response.status_code == 302
    threads_channel.refresh_from_db()
    assert threads_channel.status == ChannelStatus.DISABLED
    assert threads_channel.credentials == {}
    assert threads_channel.token_expires_at is None
    assert "th-token" not in raw_column("scheduler_channel", "credentials", threads_channel.pk)
    assert AuditEvent.objects.filter(
        action=AuditAction.CHANNEL_DISCONNECTED, target_id=str(threads_channel.pk)
    ).exists()

    tick()  # a disconnected channel is never published to
    delivery = post.deliveries.get()
    assert delivery.status == DeliveryStatus.SCHEDULED
    assert "must be reconnected" in delivery.failure_message
    page = client.get(url("channel", threads_channel)).content.decode()
    assert "Disconnected" in page
    assert "Test connection" not in page


# --- Reconnect --------------------------------------------------------------------------------------------


def test_a_revoked_token_holds_deliveries_until_the_same_channel_is_reconnected(people, client, monkeypatch):
    """End to end: the publisher meets AuthExpired, holds the delivery with a message for the department,
    the admin reconnects the same channel, and the post goes out at the next tick."""
    feed = ChannelFactory(department=people.parks, platform="feed", display_name="Parks news", credentials={})
    post = approved_post(author=people.alice, approver=people.bob, channels=[feed])
    make_due(post)
    real_publish = FeedAdapter.publish

    def revoked(self, content, *, idempotency_key):  # noqa: ANN001, ANN202
        raise AuthExpired("the platform revoked the token")

    monkeypatch.setattr(FeedAdapter, "publish", revoked)
    tick()
    feed.refresh_from_db()
    delivery = post.deliveries.get()
    assert feed.status == ChannelStatus.NEEDS_RECONNECT
    assert delivery.status == DeliveryStatus.SCHEDULED
    assert delivery.failure_message.startswith("Waiting: the channel must be reconnected")

    monkeypatch.setattr(FeedAdapter, "publish", real_publish)
    client.force_login(people.ada)
    assert b"Parks news" in client.get(url("reconnect", feed)).content
    response = client.post(url("reconnect", feed), {"display_name": "Parks news"})
    assert response["Location"] == url("channel", feed)
    feed.refresh_from_db()
    assert feed.status == ChannelStatus.CONNECTED
    assert Channel.objects.filter(platform="feed").count() == 1
    delivery.refresh_from_db()
    assert delivery.failure_message == ""

    tick()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PUBLISHED


@responses.activate
def test_reconnecting_through_oauth_updates_the_same_row(people, client, app_keys):
    channel = ChannelFactory(
        department=people.parks,
        platform="x",
        display_name="@CityParks",
        credentials={"access_token": "old", "refresh_token": "old", "x_user_id": "2244994945"},
        options={"x_user_id": "2244994945"},
        status=ChannelStatus.NEEDS_RECONNECT,
    )
    client.force_login(people.ada)
    response = client.post(url("reconnect", channel))
    state = query_of(response["Location"])["state"]
    responses.post(
        "https://api.x.com/2/oauth2/token",
        json={"token_type": "bearer", "expires_in": 7200, "access_token": "new-access", "refresh_token": "new-refresh"},
    )
    responses.get("https://api.x.com/2/users/me", json={"data": {"id": "2244994945", "username": "CityParks"}})
    response = client.get(reverse("connections:callback", kwargs={"platform": "x"}), {"code": "c", "state": state})
    assert response["Location"] == url("channel", channel)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CONNECTED
    assert channel.credentials["access_token"] == "new-access"
    assert Channel.objects.filter(platform="x").count() == 1


@responses.activate
def test_reconnecting_to_a_different_account_is_refused(people, client, app_keys):
    channel = ChannelFactory(
        department=people.parks,
        platform="x",
        display_name="@CityParks",
        credentials={"access_token": "old", "x_user_id": "2244994945"},
        options={"x_user_id": "2244994945"},
        status=ChannelStatus.NEEDS_RECONNECT,
    )
    client.force_login(people.ada)
    state = query_of(client.post(url("reconnect", channel))["Location"])["state"]
    responses.post("https://api.x.com/2/oauth2/token", json={"access_token": "someone-else", "expires_in": 7200})
    responses.get("https://api.x.com/2/users/me", json={"data": {"id": "999", "username": "SomeoneElse"}})
    response = client.get(reverse("connections:callback", kwargs={"platform": "x"}), {"code": "c", "state": state})
    assert response["Location"] == url("reconnect", channel)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT
    assert channel.credentials["access_token"] == "old"
    page = client.get(response["Location"]).content
    assert b"different account" in page
