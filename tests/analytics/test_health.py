"""Channel health: each finding with its severity, message and action; extensible by a setting; on the
channels page."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from analytics.health import WARNING, Finding, channel_health
from analytics.models import PaidReadUsage
from scheduler.models import Channel, ChannelStatus
from tests.analytics.history import published_history
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)


def codes(channel: Channel) -> dict[str, Finding]:
    channel = Channel.objects.select_related("department").get(pk=channel.pk)
    return {f.code: f for f in channel_health(channels=[channel], now=NOW) if f.channel_id == channel.pk}


def test_a_token_expiring_soon_and_a_channel_needing_reconnect_say_what_to_do(personas, settings):
    settings.CIVICPOST_HEALTH_TOKEN_DAYS = 14
    expiring = ChannelFactory(
        department=personas.parks, token_expires_at=NOW + dt.timedelta(days=5), display_name="Expiring"
    )
    broken = ChannelFactory(department=personas.parks, status=ChannelStatus.NEEDS_RECONNECT, display_name="Broken")
    later = ChannelFactory(
        department=personas.parks, token_expires_at=NOW + dt.timedelta(days=40), display_name="Later"
    )
    found = codes(expiring)["token_expiring"]
    assert found.severity == WARNING and "5 days" in found.message
    assert found.action_url == reverse("connections:channel", args=[expiring.pk]) and found.action_label == "Reconnect"
    assert codes(broken)["needs_reconnect"].severity == "error"
    assert "token_expiring" not in codes(later)


def test_a_high_failure_rate_and_a_quiet_channel_are_findings(personas, settings):
    settings.CIVICPOST_HEALTH_QUIET_DAYS = 21
    with time_machine.travel(NOW - dt.timedelta(days=60), tick=False):
        quiet = ChannelFactory(department=personas.parks, display_name="Quiet")
    published_history(personas, quiet, [{"published_at": NOW - dt.timedelta(days=30), "likes": 1}])
    assert "Nothing published here for 30 days." in codes(quiet)["quiet"].message
    assert codes(quiet)["quiet"].action_url == reverse("scheduler:post_create")


def test_failure_rate(personas, settings):
    from scheduler.models import Delivery, DeliveryStatus

    channel = personas.parks_channel
    deliveries = published_history(
        personas, channel, [{"published_at": NOW - dt.timedelta(days=d), "likes": 1} for d in (1, 2, 3, 4)]
    )
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries[:2]]).update(status=DeliveryStatus.FAILED)
    found = codes(channel)["failure_rate"]
    assert "2 of its last 4 deliveries in 30 days failed (50%)" in found.message
    assert found.severity == "error"


def test_the_paid_read_budget_is_a_finding_near_its_end(personas, settings):
    settings.CIVICPOST_X_MONTHLY_READ_BUDGET = 100
    x = ChannelFactory(department=personas.parks, platform="x", display_name="Parks on X")
    PaidReadUsage.objects.create(department=personas.parks, platform="x", month=dt.date(2026, 11, 1), requests=85)
    found = codes(x)["budget"]
    assert found.severity == WARNING and "85 of this month's 100" in found.message


def extra_check(channels, now):  # noqa: ANN001, ANN201 - the shape another app's check has
    return [
        Finding(
            severity="error",
            channel_id=channels[0].pk,
            channel_name=channels[0].display_name,
            department_id=channels[0].department_id,
            department_name=channels[0].department.name,
            message="The inbound feed is broken.",
            action_label="Fix the feed",
            action_url="/feeds/fix/",
            code="feed_broken",
        )
    ]


def test_another_app_adds_findings_through_the_setting(personas, settings):
    settings.CIVICPOST_HEALTH_CHECKS = ["tests.analytics.test_health.extra_check"]
    assert codes(personas.parks_channel)["feed_broken"].action_label == "Fix the feed"


def test_the_channels_page_loads_the_health_of_the_users_own_channels(personas, client):
    ChannelFactory(department=personas.parks, status=ChannelStatus.NEEDS_RECONNECT, display_name="Parks broken")
    ChannelFactory(department=personas.library, status=ChannelStatus.NEEDS_RECONNECT, display_name="Library broken")
    client.force_login(personas.alice)
    page = client.get(reverse("scheduler:channel_list")).content.decode()
    assert reverse("analytics:channel_health") in page
    fragment = client.get(reverse("analytics:channel_health"), headers={"HX-Request": "true"}).content.decode()
    assert "Parks broken" in fragment and "Library broken" not in fragment
    assert "<html" not in fragment
    assert "Reconnect" in fragment


def test_the_delivery_figures_are_those_of_reading_every_delivery(personas, django_assert_num_queries):
    """The figures read through per-channel index ranges equal a plain reading of every delivery: old and
    recent deliveries, each status, a published one changed in the window, the window's first instant,
    channels that never published or have no deliveries at all."""
    from analytics.health import FAILURE_WINDOW, channel_delivery_figures
    from scheduler.models import FINISHED_DELIVERY_STATUSES, Delivery, DeliveryStatus

    S = DeliveryStatus
    since = NOW - FAILURE_WINDOW
    busy = personas.parks_channel
    never_published = ChannelFactory(department=personas.parks, display_name="Never published")
    old_only = ChannelFactory(department=personas.parks, display_name="Old only")
    empty = ChannelFactory(department=personas.parks, display_name="Empty")
    # (status, published days ago or None, last changed days ago)
    layout = {
        busy: [
            (S.PUBLISHED, 200, 200),
            (S.PUBLISHED, 40, 2),  # published long ago, changed in the window: counted, like before
            (S.PUBLISHED, 5, 5),
            (S.PUBLISHED, 30, 30),  # changed at the window's first instant
            (S.FAILED, None, 3),
            (S.FAILED, None, 31),
            (S.NEEDS_ATTENTION, None, 29),
            (S.CANCELLED, None, 1),
            (S.SCHEDULED, None, 1),
            (S.CLAIMED, None, 0),
            (S.UNKNOWN, None, 1),
            (S.RETRY_WAIT, None, 1),
        ],
        never_published: [(S.FAILED, None, 2), (S.SCHEDULED, None, 0), (S.CANCELLED, None, 4)],
        old_only: [(S.PUBLISHED, 100, 100), (S.FAILED, None, 90)],
    }
    for channel, rows in layout.items():
        deliveries = published_history(
            personas, channel, [{"published_at": NOW - dt.timedelta(days=300)} for _ in rows], followers=None
        )
        for delivery, (status, published_days, changed_days) in zip(deliveries, rows, strict=True):
            Delivery.objects.filter(pk=delivery.pk).update(
                status=status,
                published_at=None if published_days is None else NOW - dt.timedelta(days=published_days),
                updated_at=NOW - dt.timedelta(days=changed_days),
            )
    channel_ids = [busy.pk, never_published.pk, old_only.pk, empty.pk]

    with django_assert_num_queries(1):
        figures = channel_delivery_figures(channel_ids=channel_ids, since=since)

    plain = {}
    for channel_id in channel_ids:
        deliveries = list(Delivery.objects.filter(channel_id=channel_id))
        window = [d for d in deliveries if d.status in FINISHED_DELIVERY_STATUSES and d.updated_at >= since]
        published = [d.published_at for d in deliveries if d.published_at is not None]
        plain[channel_id] = {
            "pk": channel_id,
            "failed": sum(1 for d in window if d.status in (S.FAILED, S.NEEDS_ATTENTION)),
            "finished": len(window),
            "last_published": max(published, default=None),
        }
    assert figures == plain
    assert (figures[busy.pk]["finished"], figures[busy.pk]["failed"]) == (5, 2)
    assert figures[busy.pk]["last_published"] == NOW - dt.timedelta(days=5)
    assert figures[never_published.pk] == {"pk": never_published.pk, "failed": 1, "finished": 1, "last_published": None}
    assert figures[old_only.pk]["finished"] == 0 and figures[old_only.pk]["last_published"] == NOW - dt.timedelta(
        days=100
    )
    assert figures[empty.pk] == {"pk": empty.pk, "failed": 0, "finished": 0, "last_published": None}
