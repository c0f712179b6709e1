"""Collecting: metric snapshots of published deliveries at their ages, follower counts once a day, and
removals noticed on the platforms. The only writer of analytics' collection rows.

One pass (`metrics_collect_pass`) is what the periodic job runs: it reads every due delivery, grouped by
channel and batched the way the channel's adapter allows, within each channel's request budget per pass, a
rate limit the platform asked for (RateLimited: the channel is paused until its retry_after) and, for
platforms whose reads are billed (X), the department's monthly budget."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from analytics.ages import due_age, metric_ages
from analytics.models import (
    METRIC_FIELDS,
    ChannelCollectionState,
    FollowerSnapshot,
    LatestMetricSnapshot,
    MetricSnapshot,
    PaidReadUsage,
    RemoteRemoval,
    ShortLink,
)
from departments.selectors import department_admin_emails
from people.selectors import addresses_by_language
from scheduler.adapter_changes import channel_save_adapter_changes
from scheduler.adapters.base import (
    AdapterError,
    MetricsReading,
    PlatformAdapter,
    PublishError,
    RateLimited,
    Removed,
)
from scheduler.adapters.registry import UnknownPlatform, adapter_for_channel
from scheduler.models import Channel, ChannelStatus, Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

LAST_AGE_SLACK = dt.timedelta(days=7)


@dataclass
class CollectionReport:
    snapshots: int = 0
    removals: int = 0
    followers: int = 0
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # per platform
    paused_channels: list[int] = field(default_factory=list)
    over_budget_channels: list[int] = field(default_factory=list)
    out_of_time: bool = False
    deadline: float | None = None  # time.monotonic() after which no new request is sent

    def time_is_up(self) -> bool:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.out_of_time = True
        return self.out_of_time


def month_start(now: dt.datetime) -> dt.date:
    return now.astimezone(dt.UTC).date().replace(day=1)


def paid_reads_used(*, department_id: int, platform: str, now: dt.datetime) -> int:
    """Billed metric requests the department made to `platform` this calendar month (UTC)."""
    row = PaidReadUsage.objects.filter(department_id=department_id, platform=platform, month=month_start(now)).first()
    return row.requests if row else 0


def paid_reads_record(*, department_id: int, platform: str, now: dt.datetime, requests: int = 1) -> None:
    """Counts billed reads made outside metrics (the inbox's X mentions) against the department's monthly budget."""
    usage, _created = PaidReadUsage.objects.get_or_create(
        department_id=department_id, platform=platform, month=month_start(now)
    )
    PaidReadUsage.objects.filter(pk=usage.pk).update(requests=F("requests") + requests)


def _count_paid_read(*, department_id: int, platform: str, now: dt.datetime) -> None:
    usage, _created = PaidReadUsage.objects.get_or_create(
        department_id=department_id, platform=platform, month=month_start(now)
    )
    PaidReadUsage.objects.filter(pk=usage.pk).update(requests=F("requests") + 1)


def _due_deliveries(now: dt.datetime) -> dict[int, list[tuple[Delivery, tuple[str, int]]]]:
    """Published deliveries with an age due now and no removal noticed, grouped by channel id."""
    ages = metric_ages()
    if not ages:
        return {}
    # A week of slack past the oldest age, so a collector that was stopped still takes the last snapshot.
    oldest = now - dt.timedelta(seconds=ages[-1][1]) - LAST_AGE_SLACK
    deliveries = (
        Delivery.objects.filter(
            status=DeliveryStatus.PUBLISHED,
            published_at__gte=oldest,
            published_at__lte=now - dt.timedelta(seconds=ages[0][1]),
            channel__status=ChannelStatus.CONNECTED,
            remote_removal__isnull=True,
        )
        .exclude(remote_id="")
        .select_related("channel", "post")
        .order_by("published_at", "pk")
    )
    taken: dict[int, set[str]] = defaultdict(set)
    for delivery_id, label in MetricSnapshot.objects.filter(delivery__in=deliveries).values_list("delivery_id", "age"):
        taken[delivery_id].add(label)
    by_channel: dict[int, list[tuple[Delivery, tuple[str, int]]]] = defaultdict(list)
    for delivery in deliveries:
        assert delivery.published_at is not None  # noqa: S101 - filtered above
        age = due_age(published_at=delivery.published_at, now=now, taken=taken[delivery.pk])
        if age is not None:
            by_channel[delivery.channel_id].append((delivery, age))
    return by_channel


def metrics_collect_pass(*, now: dt.datetime | None = None, seconds: float | None = None) -> CollectionReport:
    """Takes every due snapshot it may this pass, reads follower counts not yet read today, and tells the
    department admins about removals noticed. `seconds`: sends no new platform request after that long (the
    rest waits for the next pass, so a pass stays within the task's time limit). Returns what it did."""
    now = now or timezone.now()
    report = CollectionReport()
    report.deadline = None if seconds is None else time.monotonic() + seconds
    for items in _due_deliveries(now).values():
        try:
            _collect_channel(items, now=now, report=report)
        except Exception:  # noqa: BLE001 - one channel's unexpected failure must not stop the others
            logger.exception("metrics of channel %s not collected", items[0][0].channel_id)
    followers_collect_daily(now=now, report=report)
    removals_notify_pending(now=now)
    return report


def _collect_channel(
    items: list[tuple[Delivery, tuple[str, int]]], *, now: dt.datetime, report: CollectionReport
) -> None:
    channel = items[0][0].channel
    state, _created = ChannelCollectionState.objects.get_or_create(channel=channel)
    if state.paused_until and state.paused_until > now:
        report.paused_channels.append(channel.pk)
        return
    adapter = adapter_for_channel(channel)
    if not adapter.supports_metrics:
        return
    budget = settings.CIVICPOST_METRICS_REQUESTS_PER_CHANNEL
    batch_size = max(1, adapter.metrics_batch_size)
    by_remote_id = {delivery.remote_id: (delivery, age) for delivery, age in items}
    # Short-link clicks of every delivery read in this pass, in one query.
    link_clicks = dict(
        ShortLink.objects.filter(delivery__in=[delivery.pk for delivery, _age in items])
        .values("delivery_id")
        .annotate(total=Sum("clicks"))
        .values_list("delivery_id", "total")
    )
    remote_ids = list(by_remote_id)
    problem = ""
    paused_until = None
    try:
        for start in range(0, len(remote_ids), batch_size):
            if report.time_is_up():
                break
            if budget <= 0:
                report.over_budget_channels.append(channel.pk)
                break
            if (
                adapter.metrics_reads_are_paid
                and paid_reads_used(department_id=channel.department_id, platform=channel.platform, now=now)
                >= settings.CIVICPOST_X_MONTHLY_READ_BUDGET
            ):
                problem = _("This month's budget of paid metric reads is used up.")
                report.over_budget_channels.append(channel.pk)
                break
            chunk = remote_ids[start : start + batch_size]
            budget -= 1
            report.requests[channel.platform] += 1
            if adapter.metrics_reads_are_paid:
                _count_paid_read(department_id=channel.department_id, platform=channel.platform, now=now)
            try:
                readings = adapter.fetch_metrics_batch(chunk)
            except PublishError as error:
                if not error.permanent:
                    raise  # the platform is having trouble: leave the channel alone until the next pass
                # One batch refused (a permanent answer about these posts): record it, read the next batch.
                problem = error.message
                logger.warning("metrics of channel %s: a batch was not read: %s", channel.pk, error.message)
                continue
            for remote_id, reading in readings.items():
                if remote_id not in by_remote_id:
                    continue
                delivery, age = by_remote_id[remote_id]
                if isinstance(reading, Removed):
                    report.removals += _record_removal(delivery, reading, now=now)
                elif isinstance(reading, MetricsReading):
                    report.snapshots += _record_snapshot(
                        delivery, age, reading, now=now, link_clicks=link_clicks.get(delivery.pk)
                    )
    except RateLimited as error:
        paused_until = now + dt.timedelta(seconds=error.retry_after)
        problem = _("The platform asked CivicPost to wait before reading figures again.")
        report.paused_channels.append(channel.pk)
    except AdapterError as error:
        problem = error.message
        logger.warning("metrics for channel %s not read: %s", channel.pk, error.message)
    finally:
        channel_save_adapter_changes(channel=channel, adapter=adapter)
    ChannelCollectionState.objects.filter(pk=state.pk).update(
        paused_until=paused_until, last_pass_at=now, last_problem=problem
    )


def _record_snapshot(
    delivery: Delivery, age: tuple[str, int], reading: MetricsReading, *, now: dt.datetime, link_clicks: int | None
) -> int:
    """Appends one snapshot (`link_clicks`: clicks on the delivery's short links, None without any). Returns 1,
    or 0 when another pass took it first."""
    values = {name: reading.counts.get(name) for name in METRIC_FIELDS}
    try:
        with transaction.atomic():
            MetricSnapshot.objects.create(
                delivery=delivery,
                age=age[0],
                age_seconds=age[1],
                taken_at=now,
                link_clicks=link_clicks,
                not_reported=[name for name in METRIC_FIELDS if values[name] is None],
                raw=reading.raw,
                **values,
            )
    except IntegrityError:
        return 0
    latest_snapshots_move_forward(delivery_ids=[delivery.pk])
    return 1


def latest_snapshots_move_forward(*, delivery_ids: Iterable[int]) -> int:
    """Points each of these deliveries' LatestMetricSnapshot at its snapshot of the oldest age, after
    snapshots were appended (one read, one upsert, whatever the number of deliveries). Returns how many
    deliveries have one. Idempotent, and a racing pass cannot move it back to a younger age."""
    ids = list(delivery_ids)
    if not ids:
        return 0
    newest: dict[int, tuple[int, int]] = {}
    rows = (
        MetricSnapshot.objects.filter(delivery_id__in=ids)
        .order_by("delivery_id", "age_seconds", "pk")
        .values_list("delivery_id", "pk", "age_seconds")
    )
    for delivery_id, snapshot_id, age_seconds in rows:
        newest[delivery_id] = (snapshot_id, age_seconds)  # the last one of each delivery is the oldest age
    _latest_upsert(newest)
    return len(newest)


def _latest_upsert(newest: dict[int, tuple[int, int]]) -> None:
    """Writes {delivery id: (snapshot id, age seconds)} into LatestMetricSnapshot. An upsert that never moves
    back: a pass that read fewer ages than a racing one leaves the older age in place."""
    table = connection.ops.quote_name(LatestMetricSnapshot._meta.db_table)
    rows = list(newest.items())
    # Only the model's table name and %s placeholders are put into the text; every value is a parameter.
    upsert = (
        " ON CONFLICT (delivery_id) DO UPDATE SET snapshot_id = excluded.snapshot_id,"  # nosec B608
        f" age_seconds = excluded.age_seconds WHERE {table}.age_seconds <= excluded.age_seconds"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 2000):
            chunk = rows[start : start + 2000]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            sql = f"INSERT INTO {table} (delivery_id, snapshot_id, age_seconds) VALUES {values}{upsert}"  # noqa: S608  # nosec B608
            cursor.execute(
                sql, [v for delivery_id, (snapshot_id, age) in chunk for v in (delivery_id, snapshot_id, age)]
            )


def _record_removal(delivery: Delivery, removed: Removed, *, now: dt.datetime) -> int:
    """Records that the platform no longer shows the delivery. Returns 1 when it is new."""
    _removal, created = RemoteRemoval.objects.get_or_create(
        delivery=delivery, defaults={"noticed_at": now, "reason": removed.reason, "raw": removed.raw}
    )
    return int(created)


def removals_notify_pending(*, now: dt.datetime) -> int:
    """E-mails the department admins once about each removal not yet told (claimed by a conditional update,
    so two passes never send the same one). Returns how many were sent."""
    sent = 0
    pending = RemoteRemoval.objects.filter(emailed_at__isnull=True).select_related(
        "delivery__post__department", "delivery__channel"
    )
    for removal in pending:
        if not RemoteRemoval.objects.filter(pk=removal.pk, emailed_at__isnull=True).update(emailed_at=now):
            continue
        delivery = removal.delivery
        recipients = department_admin_emails(department_id=delivery.post.department_id)
        if not recipients:
            continue
        messages = []
        for language, addresses in addresses_by_language(emails=recipients).items():
            with translation.override(language):  # one message per language, each recipient's own
                subject = _("A post is no longer on %(channel)s") % {"channel": delivery.channel.display_name}
                body = _(
                    "CivicPost noticed on %(when)s UTC that this post is no longer shown on %(channel)s: it was "
                    "deleted or hidden on the platform.\n\n%(text)s\n\nPost page: %(url)s\n\nThe platform said: "
                    "%(reason)s\n"
                ) % {
                    "when": f"{removal.noticed_at:%Y-%m-%d %H:%M}",
                    "channel": delivery.channel.display_name,
                    "text": delivery.post.text[:280],
                    "url": settings.SITE_URL + reverse("scheduler:post_detail", args=[delivery.post_id]),
                    "reason": removal.reason or _("(nothing)"),
                }
            messages.append((subject, body, addresses))
        try:
            for subject, body, addresses in messages:
                send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, addresses)
        except OSError as error:
            # Not sent: clear the claim so the next pass tries again.
            RemoteRemoval.objects.filter(pk=removal.pk).update(emailed_at=None)
            logger.warning("removal notice for delivery %s not sent: %s", delivery.pk, error)
            continue
        sent += 1
    return sent


def followers_collect_daily(*, now: dt.datetime, report: CollectionReport | None = None) -> int:
    """Reads each connected channel's follower count once per UTC day (null where the platform reports none).
    Skips channels paused for a rate limit. Returns how many counts were stored."""
    today = now.astimezone(dt.UTC).date()
    stored = 0
    channels = (
        Channel.objects.filter(status=ChannelStatus.CONNECTED)
        .exclude(follower_snapshots__day=today)
        .exclude(collection_state__paused_until__gt=now)
    )
    for channel in channels:
        if report is not None and report.time_is_up():
            break
        try:
            adapter: PlatformAdapter = adapter_for_channel(channel)
        except UnknownPlatform:
            continue
        if adapter.metrics_reads_are_paid:
            # A billed read (X): within the department's monthly budget, and counted in it.
            used = paid_reads_used(department_id=channel.department_id, platform=channel.platform, now=now)
            if used >= settings.CIVICPOST_X_MONTHLY_READ_BUDGET:
                continue
            _count_paid_read(department_id=channel.department_id, platform=channel.platform, now=now)
        try:
            followers = adapter.fetch_followers()
        except RateLimited as error:
            ChannelCollectionState.objects.update_or_create(
                channel=channel, defaults={"paused_until": now + dt.timedelta(seconds=error.retry_after)}
            )
            continue
        except AdapterError as error:
            logger.warning("followers of channel %s not read: %s", channel.pk, error.message)
            continue
        finally:
            channel_save_adapter_changes(channel=channel, adapter=adapter)
        try:
            with transaction.atomic():
                FollowerSnapshot.objects.create(channel=channel, day=today, followers=followers, taken_at=now)
        except IntegrityError:
            continue
        stored += 1
    if report is not None:
        report.followers += stored
    return stored


def short_link_count_click(*, code: str) -> None:
    """Counts one click (one UPDATE with an F() increment; nothing about the visitor is stored)."""
    ShortLink.objects.filter(code=code).update(clicks=F("clicks") + 1)


def history_record(*, snapshots: list[MetricSnapshot], followers: list[FollowerSnapshot]) -> tuple[int, int]:
    """Appends figures read before (the demo city's history, benchmarks) in bulk; rows already there (same
    delivery and age, same channel and day) are skipped. Returns how many of each were given."""
    with transaction.atomic():
        MetricSnapshot.objects.bulk_create(snapshots, batch_size=2000, ignore_conflicts=True)
        delivery_ids = sorted({snapshot.delivery_id for snapshot in snapshots})
        for start in range(0, len(delivery_ids), 5000):
            latest_snapshots_move_forward(delivery_ids=delivery_ids[start : start + 5000])
    FollowerSnapshot.objects.bulk_create(followers, batch_size=2000, ignore_conflicts=True)
    return len(snapshots), len(followers)
