"""The periodic token refresh: tokens expiring within 7 days are renewed where the platform allows it
(Threads: GET /refresh_access_token; X OAuth 2.0: refresh_token grant), and a refusal marks the channel
"needs reconnect" and holds its posts with a message."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

import pytest
import responses
from django.utils import timezone
from responses import matchers

from audit.models import AuditAction, AuditEvent
from connections.services import channels_refresh_expiring_tokens
from connections.tasks import refresh_expiring_tokens
from scheduler.models import ChannelStatus, DeliveryStatus
from tests.connections import raw_column
from tests.factories import ChannelFactory
from tests.scheduler import approved_post

pytestmark = pytest.mark.django_db

THREADS = "https://graph.threads.net"
EXPIRED_190 = {
    "error": {
        "message": "Error validating access token: Session has expired.",
        "type": "OAuthException",
        "code": 190,
        "error_subcode": 463,
        "fbtrace_id": "AbCdEf",
    }
}


def threads_channel(department, *, expires_in: dt.timedelta, token: str = "th-old-SECRET"):  # noqa: ANN001, ANN201, S107
    expires_at = timezone.now() + expires_in
    return ChannelFactory(
        department=department,
        platform="threads",
        display_name="@cityparks",
        credentials={"access_token": token, "expires_at": expires_at.isoformat()},
        options={"threads_user_id": "26123456789012345"},
        token_expires_at=expires_at,
    )


@responses.activate
def test_a_threads_token_expiring_within_7_days_is_renewed(people):
    channel = threads_channel(people.parks, expires_in=dt.timedelta(days=3))
    refresh = responses.get(
        f"{THREADS}/refresh_access_token",
        json={"access_token": "th-new-SECRET", "token_type": "bearer", "expires_in": 5183944},
        match=[matchers.query_param_matcher({"grant_type": "th_refresh_token", "access_token": "th-old-SECRET"})],
    )
    report = channels_refresh_expiring_tokens()
    assert report.refreshed == [channel.pk]
    assert refresh.call_count == 1
    channel.refresh_from_db()
    assert channel.credentials["access_token"] == "th-new-SECRET"
    assert (channel.token_expires_at - timezone.now()).days == 59
    assert channel.status == ChannelStatus.CONNECTED
    assert "th-new" not in raw_column("scheduler_channel", "credentials", channel.pk)
    event = AuditEvent.objects.get(action=AuditAction.CHANNEL_TOKEN_REFRESHED)
    assert event.target_id == str(channel.pk)
    assert "SECRET" not in str(event.changes)


@responses.activate
def test_tokens_with_time_left_and_channels_without_expiry_are_left_alone(people):
    later = threads_channel(people.parks, expires_in=dt.timedelta(days=30))
    feed = ChannelFactory(department=people.parks, platform="feed", credentials={})
    disabled = threads_channel(people.parks, expires_in=dt.timedelta(days=1))
    disabled.status = ChannelStatus.DISABLED
    disabled.save()
    report = channels_refresh_expiring_tokens()
    assert report.refreshed == report.needs_reconnect == []
    assert len(responses.calls) == 0
    later.refresh_from_db()
    assert later.credentials["access_token"] == "th-old-SECRET"
    assert feed.pk not in report.skipped  # no expiry: not even looked at


@responses.activate
def test_a_refused_refresh_marks_needs_reconnect_and_holds_posts(people):
    channel = threads_channel(people.parks, expires_in=dt.timedelta(days=2))
    post = approved_post(author=people.alice, approver=people.bob, channels=[channel])
    responses.get(f"{THREADS}/refresh_access_token", status=400, json=EXPIRED_190)
    report = channels_refresh_expiring_tokens()
    assert report.needs_reconnect == [channel.pk]
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT
    assert channel.status_message
    assert channel.credentials["access_token"] == "th-old-SECRET"
    delivery = post.deliveries.get()
    assert delivery.status == DeliveryStatus.SCHEDULED
    assert delivery.failure_message.startswith("Waiting: the channel must be reconnected")


@responses.activate
def test_a_temporary_failure_leaves_a_token_that_still_works_for_the_next_run(people):
    channel = threads_channel(people.parks, expires_in=dt.timedelta(days=2))
    responses.get(
        f"{THREADS}/refresh_access_token",
        status=500,
        json={
            "error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 2, "is_transient": True}
        },
    )
    report = channels_refresh_expiring_tokens()
    assert report.failed_for_now == [channel.pk]
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CONNECTED


@responses.activate
def test_an_x_oauth2_token_is_renewed_with_its_rotating_refresh_token(people, app_keys):
    expires_at = timezone.now() + dt.timedelta(minutes=30)
    channel = ChannelFactory(
        department=people.parks,
        platform="x",
        credentials={
            "access_token": "x-old",
            "refresh_token": "x-refresh-1",
            "expires_at": expires_at.isoformat(),
            "x_user_id": "2244994945",
        },
        token_expires_at=expires_at,
    )
    call = responses.post(
        "https://api.x.com/2/oauth2/token",
        json={"token_type": "bearer", "expires_in": 7200, "access_token": "x-new", "refresh_token": "x-refresh-2"},
    )
    report = refresh_expiring_tokens.delay().get()
    assert report["refreshed"] == 1
    sent = parse_qs(call.calls[0].request.body)
    assert sent["grant_type"] == ["refresh_token"]
    assert sent["refresh_token"] == ["x-refresh-1"]
    channel.refresh_from_db()
    assert channel.credentials["refresh_token"] == "x-refresh-2"
    assert channel.credentials["access_token"] == "x-new"
    assert channel.token_expires_at > timezone.now() + dt.timedelta(minutes=100)


@responses.activate
def test_an_x_refresh_token_that_was_revoked_needs_reconnect(people, app_keys):
    expires_at = timezone.now() + dt.timedelta(minutes=30)
    channel = ChannelFactory(
        department=people.parks,
        platform="x",
        credentials={"access_token": "x-old", "refresh_token": "x-refresh-1", "expires_at": expires_at.isoformat()},
        token_expires_at=expires_at,
    )
    responses.post(
        "https://api.x.com/2/oauth2/token",
        status=400,
        json={"error": "invalid_request", "error_description": "Value passed for the token was invalid."},
    )
    report = refresh_expiring_tokens.delay().get()
    assert report["needs_reconnect"] == 1
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT


@responses.activate
def test_an_expired_x_access_token_with_x_down_is_tried_again_later_not_disconnected(people, app_keys):
    expired = timezone.now() - dt.timedelta(hours=3)
    channel = ChannelFactory(
        department=people.parks,
        platform="x",
        credentials={"access_token": "x-old", "refresh_token": "x-refresh-1", "expires_at": expired.isoformat()},
        token_expires_at=expired,
    )
    responses.post("https://api.x.com/2/oauth2/token", status=503, json={"title": "Service Unavailable"})
    report = channels_refresh_expiring_tokens()
    assert report.failed_for_now == [channel.pk]
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CONNECTED
    assert channel.credentials["refresh_token"] == "x-refresh-1"
