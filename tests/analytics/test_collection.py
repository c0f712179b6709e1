"""The collector service through the Sandbox: snapshots at the right ages, append-only, budgets and rate limits
honoured, removals recorded and e-mailed once, followers once a day, the periodic job, the post page."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics import services
from analytics.models import (
    AppendOnlyError,
    ChannelCollectionState,
    FollowerSnapshot,
    LatestMetricSnapshot,
    MetricSnapshot,
    PaidReadUsage,
    RemoteRemoval,
)
from civicpost.periodic import PERIODIC_JOBS, EmbeddedPeriodicRunner
from departments.models import Role
from scheduler.adapters.sandbox.adapter import SandboxAdapter
from scheduler.models import Delivery, DeliveryStatus, SandboxPost
from tests.factories import ChannelFactory, member
from tests.scheduler import approved_post, make_due, submitted_post, tick

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)


def publish(personas, *, count: int = 1, text: str = "Splash pads open Saturday.") -> list[Delivery]:
    """Publishes `count` posts to the Parks sandbox channel now; returns their deliveries."""
    deliveries = []
    for n in range(count):
        post = approved_post(
            author=personas.alice, approver=personas.bob, channels=[personas.parks_channel], text=f"{text} {n}"
        )
        make_due(post)
        tick()
        delivery = Delivery.objects.get(post=post)
        assert delivery.status == DeliveryStatus.PUBLISHED
        deliveries.append(delivery)
    return deliveries


def ages_taken(delivery: Delivery) -> list[str]:
    return list(MetricSnapshot.objects.filter(delivery=delivery).order_by("age_seconds").values_list("age", flat=True))


def test_snapshots_are_taken_at_each_age_once(personas):
    with time_machine.travel(START, tick=False) as clock:
        [delivery] = publish(personas)
        services.metrics_collect_pass()
        assert ages_taken(delivery) == []
        for step, expected in (
            (dt.timedelta(minutes=61), ["1h"]),
            (dt.timedelta(minutes=10), ["1h"]),
            (dt.timedelta(hours=24), ["1h", "24h"]),
            (dt.timedelta(days=7), ["1h", "24h", "7d"]),
            (dt.timedelta(days=23), ["1h", "24h", "7d", "30d"]),
            (dt.timedelta(days=5), ["1h", "24h", "7d", "30d"]),
        ):
            clock.shift(step)
            services.metrics_collect_pass()
            assert ages_taken(delivery) == expected


def test_each_delivery_points_at_its_snapshot_of_the_oldest_age_as_snapshots_are_appended(personas):
    with time_machine.travel(START, tick=False) as clock:
        [delivery] = publish(personas)
        assert not LatestMetricSnapshot.objects.filter(delivery=delivery).exists()
        for step, age in ((dt.timedelta(minutes=61), "1h"), (dt.timedelta(hours=24), "24h")):
            clock.shift(step)
            services.metrics_collect_pass()
            latest = LatestMetricSnapshot.objects.select_related("snapshot").get(delivery=delivery)
            assert (latest.snapshot.age, latest.age_seconds) == (age, latest.snapshot.age_seconds)
    assert MetricSnapshot.objects.filter(delivery=delivery).count() == 2  # the snapshots stay, appended


def test_the_latest_snapshot_never_moves_back_to_a_younger_age(personas):
    with time_machine.travel(START, tick=False) as clock:
        [delivery] = publish(personas)
        clock.shift(dt.timedelta(hours=25))
        services.metrics_collect_pass()
    [snapshot] = MetricSnapshot.objects.filter(delivery=delivery)
    # A racing pass that read this delivery's snapshots before the 24h one was appended writes its 1h one.
    services._latest_upsert({delivery.pk: (snapshot.pk, 3600)})
    assert LatestMetricSnapshot.objects.get(delivery=delivery).age_seconds == snapshot.age_seconds
    assert services.latest_snapshots_move_forward(delivery_ids=[delivery.pk]) == 1
    assert LatestMetricSnapshot.objects.get(delivery=delivery).snapshot_id == snapshot.pk


def test_a_missed_age_is_not_read_late(personas):
    with time_machine.travel(START, tick=False) as clock:
        [delivery] = publish(personas)
        clock.shift(dt.timedelta(days=3))
        services.metrics_collect_pass()
    assert ages_taken(delivery) == ["24h"]


def test_the_ages_are_a_setting(personas, settings):
    settings.CIVICPOST_METRICS_AGES = ["15m", "2h"]
    with time_machine.travel(START, tick=False) as clock:
        [delivery] = publish(personas)
        clock.shift(dt.timedelta(minutes=16))
        services.metrics_collect_pass()
    assert ages_taken(delivery) == ["15m"]


def test_a_metric_the_platform_does_not_report_is_stored_as_not_reported_never_zero(personas):
    with time_machine.travel(START, tick=False) as clock:
        [delivery] = publish(personas)
        clock.shift(dt.timedelta(hours=2))
        services.metrics_collect_pass()
    snapshot = MetricSnapshot.objects.get(delivery=delivery)
    assert snapshot.quotes is None
    assert snapshot.not_reported == ["quotes"]
    assert snapshot.views and snapshot.likes is not None
    assert snapshot.raw["id"] == delivery.remote_id


def test_snapshots_are_append_only(personas):
    with time_machine.travel(START, tick=False) as clock:
        [delivery] = publish(personas)
        clock.shift(dt.timedelta(hours=2))
        services.metrics_collect_pass()
    snapshot = MetricSnapshot.objects.get(delivery=delivery)
    snapshot.likes = 10_000
    with pytest.raises(AppendOnlyError):
        snapshot.save()
    with pytest.raises(AppendOnlyError):
        snapshot.delete()
    with pytest.raises(AppendOnlyError):
        MetricSnapshot.objects.filter(pk=snapshot.pk).update(likes=0)
    with pytest.raises(AppendOnlyError):
        MetricSnapshot.objects.all().delete()


def test_one_channel_uses_at_most_its_request_budget_per_pass(personas, settings, monkeypatch):
    settings.CIVICPOST_METRICS_REQUESTS_PER_CHANNEL = 2
    monkeypatch.setattr(SandboxAdapter, "metrics_batch_size", 1)
    calls = []
    original = SandboxAdapter.fetch_metrics_batch
    monkeypatch.setattr(
        SandboxAdapter, "fetch_metrics_batch", lambda self, ids: calls.append(list(ids)) or original(self, ids)
    )
    with time_machine.travel(START, tick=False) as clock:
        publish(personas, count=3)
        clock.shift(dt.timedelta(hours=2))
        report = services.metrics_collect_pass()
        assert (len(calls), report.snapshots, MetricSnapshot.objects.count()) == (2, 2, 2)
        assert report.over_budget_channels == [personas.parks_channel.pk]
        services.metrics_collect_pass()
    assert MetricSnapshot.objects.count() == 3
    assert len(calls) == 3


def test_a_rate_limited_channel_is_left_alone_until_the_platform_said(personas, monkeypatch):
    calls = []
    original = SandboxAdapter.fetch_metrics_batch
    monkeypatch.setattr(
        SandboxAdapter, "fetch_metrics_batch", lambda self, ids: calls.append(self.mode) or original(self, ids)
    )
    with time_machine.travel(START, tick=False) as clock:
        [delivery] = publish(personas)
        channel = personas.parks_channel
        channel.options = {"mode": "rate_limit"}
        channel.save()
        clock.shift(dt.timedelta(hours=2))
        report = services.metrics_collect_pass()
        state = ChannelCollectionState.objects.get(channel=channel)
        assert state.paused_until == START + dt.timedelta(hours=2, seconds=60)
        assert report.paused_channels == [channel.pk]
        channel.options = {}
        channel.save()
        clock.shift(dt.timedelta(seconds=30))
        services.metrics_collect_pass()
        assert calls == ["rate_limit"]  # still paused: nothing asked
        clock.shift(dt.timedelta(seconds=31))
        services.metrics_collect_pass()
    assert calls == ["rate_limit", "ok"]
    assert ages_taken(delivery) == ["1h"]


def test_paid_reads_stop_at_the_departments_monthly_budget_and_show_what_is_left(
    personas, settings, monkeypatch, client
):
    settings.CIVICPOST_X_MONTHLY_READ_BUDGET = 2
    monkeypatch.setattr(SandboxAdapter, "metrics_batch_size", 1)
    monkeypatch.setattr(SandboxAdapter, "metrics_reads_are_paid", True)
    with time_machine.travel(START, tick=False) as clock:
        deliveries = publish(personas, count=3)
        clock.shift(dt.timedelta(hours=2))
        services.metrics_collect_pass()
        services.metrics_collect_pass()
        assert MetricSnapshot.objects.count() == 2
        usage = PaidReadUsage.objects.get(department=personas.parks, platform="sandbox")
        assert (usage.requests, usage.month) == (2, dt.date(2026, 11, 1))
        client.force_login(personas.alice)
        page = client.get(reverse("analytics:post_figures", args=[deliveries[0].post_id]))
        assert "used 2 of 2 metric requests this month (0 left)" in page.content.decode()
        clock.shift(dt.timedelta(days=29))  # December: a new budget
        services.metrics_collect_pass()
    assert PaidReadUsage.objects.get(department=personas.parks, month=dt.date(2026, 12, 1)).requests == 2


def test_a_post_deleted_on_the_platform_is_recorded_shown_and_emailed_to_the_admins_once(personas, client):
    member("priya", personas.parks, Role.ADMIN)
    with time_machine.travel(START, tick=False) as clock:
        [delivery] = publish(personas)
        SandboxPost.objects.filter(pk=delivery.remote_id).delete()
        clock.shift(dt.timedelta(hours=2))
        report = services.metrics_collect_pass()
        clock.shift(dt.timedelta(days=1))
        services.metrics_collect_pass()

    removal = RemoteRemoval.objects.get(delivery=delivery)
    assert report.removals == 1
    assert removal.noticed_at == START + dt.timedelta(hours=2)
    assert removal.emailed_at == removal.noticed_at
    assert MetricSnapshot.objects.filter(delivery=delivery).count() == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["priya@city.example"]
    assert "no longer shown on Parks on Sandbox" in mail.outbox[0].body
    client.force_login(personas.alice)
    page = client.get(reverse("analytics:post_figures", args=[delivery.post_id])).content.decode()
    assert "No longer on the platform" in page


def test_followers_are_read_once_a_day(personas):
    with time_machine.travel(START, tick=False) as clock:
        services.metrics_collect_pass()
        services.metrics_collect_pass()
        assert FollowerSnapshot.objects.filter(channel=personas.parks_channel).count() == 1
        clock.shift(dt.timedelta(days=1))
        services.metrics_collect_pass()
    counts = FollowerSnapshot.objects.filter(channel=personas.parks_channel).order_by("day")
    assert [(row.day, row.followers) for row in counts] == [
        (dt.date(2026, 11, 2), 1000 + personas.parks_channel.pk * 37),
        (dt.date(2026, 11, 3), 1000 + personas.parks_channel.pk * 37),
    ]


def test_the_collector_is_one_of_the_periodic_jobs_and_runs_embedded(personas):
    [job] = [job for job in PERIODIC_JOBS if job.task == "analytics.tasks.collect_metrics"]
    assert EmbeddedPeriodicRunner().run(job) is True
    assert FollowerSnapshot.objects.count() == 2


def test_the_post_page_shows_each_channels_figures_with_not_reported(personas, client):
    with time_machine.travel(START, tick=False) as clock:
        [delivery] = publish(personas)
        clock.shift(dt.timedelta(hours=2))
        services.metrics_collect_pass()
        clock.shift(dt.timedelta(hours=23))
        services.metrics_collect_pass()
    client.force_login(personas.alice)
    detail = client.get(reverse("scheduler:post_detail", args=[delivery.post_id])).content.decode()
    assert reverse("analytics:post_figures", args=[delivery.post_id]) in detail
    page = client.get(reverse("analytics:post_figures", args=[delivery.post_id])).content.decode()
    snapshot = MetricSnapshot.objects.get(delivery=delivery, age="24h")
    assert "Parks on Sandbox" in page
    assert page.count("not reported") == 2  # quotes, at 1h and at 24h
    assert f">{snapshot.views}<" in page
    assert f"{1000 + personas.parks_channel.pk * 37} followers" in page


def test_the_figures_page_runs_the_same_number_of_queries_whatever_the_channels_and_snapshots(personas, client):
    second = ChannelFactory(department=personas.parks, display_name="Parks on Sandbox 2")
    with time_machine.travel(START, tick=False) as clock:
        [small] = publish(personas)
        big = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel, second])
        make_due(big)
        tick()
        clock.shift(dt.timedelta(hours=2))
        services.metrics_collect_pass()
        clock.shift(dt.timedelta(hours=24))
        services.metrics_collect_pass()
    assert MetricSnapshot.objects.filter(delivery__post=big).count() == 4
    client.force_login(personas.alice)
    counts = []
    for post_id in (small.post_id, big.pk):
        url = reverse("analytics:post_figures", args=[post_id])
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_figures_follow_the_post_pages_permissions(personas, client):
    submitted = submitted_post(author=personas.alice, channels=[personas.parks_channel])
    client.force_login(personas.carol)
    # Another department's post is visible city-wide once approved, never before.
    assert client.get(reverse("analytics:post_figures", args=[submitted.pk])).status_code == 404
    client.force_login(personas.alice)
    assert client.get(reverse("analytics:post_figures", args=[submitted.pk])).status_code == 200
    client.logout()
    assert client.get(reverse("analytics:post_figures", args=[submitted.pk])).status_code == 302


def test_a_snapshot_keeps_the_short_link_clicks_of_its_time(personas, client):
    from analytics.models import ShortLink
    from analytics.shortlinks import short_links_set

    short_links_set(department_id=personas.parks.pk, enabled=True)
    with time_machine.travel(START, tick=False) as clock:
        post = approved_post(
            author=personas.alice,
            approver=personas.bob,
            channels=[personas.parks_channel],
            text="Pools open.",
            link="https://parks.city.example/pools",
        )
        make_due(post)
        tick()
        link = ShortLink.objects.get(delivery__post=post)
        for _ in range(3):
            client.get(f"/l/{link.code}", headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"})
        clock.shift(dt.timedelta(hours=2))
        services.metrics_collect_pass()
    assert MetricSnapshot.objects.get(delivery__post=post).link_clicks == 3


def test_one_channels_unexpected_failure_does_not_stop_the_others(personas, monkeypatch):
    library_post = approved_post(author=personas.carol, approver=personas.dana, channels=[personas.library_channel])
    original = SandboxAdapter.fetch_metrics_batch

    def broken_for_parks(self, ids):  # noqa: ANN001, ANN202
        if self.account.channel_id == personas.parks_channel.pk:
            raise KeyError("a parsing bug")
        return original(self, ids)

    monkeypatch.setattr(SandboxAdapter, "fetch_metrics_batch", broken_for_parks)
    with time_machine.travel(START, tick=False) as clock:
        publish(personas)
        make_due(library_post)
        tick()
        clock.shift(dt.timedelta(hours=2))
        services.metrics_collect_pass()
    assert list(MetricSnapshot.objects.values_list("delivery__channel", flat=True)) == [personas.library_channel.pk]


def test_a_pass_sends_no_request_after_its_time_is_up_and_the_next_pass_goes_on(personas):
    with time_machine.travel(START, tick=False) as clock:
        publish(personas)
        clock.shift(dt.timedelta(hours=2))
        report = services.metrics_collect_pass(seconds=0)
        assert (report.out_of_time, report.snapshots, FollowerSnapshot.objects.count()) == (True, 0, 0)
        report = services.metrics_collect_pass(seconds=60)
    assert (report.out_of_time, report.snapshots, FollowerSnapshot.objects.count()) == (False, 1, 2)


@pytest.mark.postgres
def test_on_postgresql_the_database_refuses_to_change_a_snapshot(personas):
    from django.db import DatabaseError, transaction

    with time_machine.travel(START, tick=False) as clock:
        [delivery] = publish(personas)
        clock.shift(dt.timedelta(hours=2))
        services.metrics_collect_pass()
    snapshot = MetricSnapshot.objects.get(delivery=delivery)
    for sql in ("UPDATE analytics_metricsnapshot SET likes = 0", "DELETE FROM analytics_metricsnapshot"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert MetricSnapshot.objects.get(pk=snapshot.pk).likes == snapshot.likes


def test_a_refused_batch_is_recorded_and_the_next_batch_is_still_read(personas, monkeypatch):
    from scheduler.adapters.base import PublishError

    monkeypatch.setattr(SandboxAdapter, "metrics_batch_size", 1)
    original = SandboxAdapter.fetch_metrics_batch
    refused = []

    def refuse_the_first(self, ids):  # noqa: ANN001, ANN202
        if not refused:
            refused.append(ids)
            raise PublishError("The sandbox refused this read.", permanent=True, code="bad_request")
        return original(self, ids)

    monkeypatch.setattr(SandboxAdapter, "fetch_metrics_batch", refuse_the_first)
    with time_machine.travel(START, tick=False) as clock:
        publish(personas, count=2)
        clock.shift(dt.timedelta(hours=2))
        report = services.metrics_collect_pass()
    assert report.snapshots == 1
    assert not RemoteRemoval.objects.exists()
    assert ChannelCollectionState.objects.get(channel=personas.parks_channel).last_problem == (
        "The sandbox refused this read."
    )


def test_the_ages_setting_is_checked(settings):
    from django.core.exceptions import ImproperlyConfigured

    from analytics.ages import metric_ages, parse_age

    assert [parse_age(label) for label in ("90m", "1h", "24h", "7d")] == [5400, 3600, 86400, 604800]
    settings.CIVICPOST_METRICS_AGES = ["7d", "1h", " 24h "]
    assert metric_ages() == [("1h", 3600), ("24h", 86400), ("7d", 604800)]
    for wrong in ("0h", "1w", "h", "1.5h"):
        with pytest.raises(ImproperlyConfigured):
            parse_age(wrong)
