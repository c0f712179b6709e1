"""Analytics rows. Snapshots and removals are records: append-only, never edited or deleted by CivicPost
(the records archive builds on them)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from departments.models import Department
from scheduler.models import Channel, Delivery


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an append-only row."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only.")


class AppendOnlyModel(models.Model):
    """Rows are inserted once; save() on an existing row and delete() refuse."""

    objects: ClassVar[models.Manager] = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")


# The metrics a snapshot has a column for (scheduler.adapters.base.METRIC_NAMES), in display order.
METRIC_FIELDS: tuple[str, ...] = ("views", "likes", "shares", "replies", "quotes", "clicks")


class MetricSnapshot(AppendOnlyModel):
    """One delivery's figures at one age (CIVICPOST_METRICS_AGES). A null figure is one the platform does
    not report (listed in `not_reported` too): shown as "not reported", never as 0."""

    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="metric_snapshots")
    age = models.CharField(max_length=10, help_text=_('The age it was taken at, such as "24h" or "7d".'))
    age_seconds = models.PositiveIntegerField()
    taken_at = models.DateTimeField()
    views = models.PositiveBigIntegerField(null=True, blank=True)
    likes = models.PositiveBigIntegerField(null=True, blank=True)
    shares = models.PositiveBigIntegerField(null=True, blank=True)
    replies = models.PositiveBigIntegerField(null=True, blank=True)
    quotes = models.PositiveBigIntegerField(null=True, blank=True)
    clicks = models.PositiveBigIntegerField(null=True, blank=True, help_text=_("Clicks the platform reported."))
    # Clicks through CivicPost's own short links of this delivery at that time (null: no short link).
    link_clicks = models.PositiveBigIntegerField(null=True, blank=True)
    not_reported = models.JSONField(default=list, blank=True)
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["delivery", "age"], name="analytics_one_snapshot_per_age")]
        indexes = [models.Index(fields=["delivery", "age_seconds"])]

    def __str__(self) -> str:
        return f"delivery {self.delivery_id} at {self.age}"


class LatestMetricSnapshot(models.Model):
    """Which snapshot of a delivery is its latest (the oldest age read so far): one row per delivery that has
    any, moved forward by the collector each time it appends a snapshot (analytics.services). Not a record
    (the snapshots are): a pointer that spares the figures pages a latest-per-delivery subquery over every
    snapshot (issue 18: 2.7 s for a month of a city with 100,000 snapshots)."""

    delivery = models.OneToOneField(
        Delivery, primary_key=True, on_delete=models.PROTECT, related_name="latest_metric_snapshot"
    )
    snapshot = models.OneToOneField(MetricSnapshot, on_delete=models.PROTECT, related_name="latest_of")
    age_seconds = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"delivery {self.delivery_id}: snapshot {self.snapshot_id}"


class FollowerSnapshot(AppendOnlyModel):
    """A channel's follower count once a day (null: the platform does not report it)."""

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="follower_snapshots")
    day = models.DateField(help_text=_("The UTC day."))
    followers = models.PositiveBigIntegerField(null=True, blank=True)
    taken_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "day"], name="analytics_one_follower_count_per_day")]

    def __str__(self) -> str:
        return f"channel {self.channel_id} on {self.day}"


class RemoteRemoval(models.Model):
    """A published delivery the platform no longer shows (deleted or hidden), noticed when its metrics were
    read. One per delivery; `emailed_at` is set once the department admins were told."""

    delivery = models.OneToOneField(Delivery, on_delete=models.PROTECT, related_name="remote_removal")
    noticed_at = models.DateTimeField()
    reason = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"delivery {self.delivery_id} removed, noticed {self.noticed_at:%Y-%m-%d %H:%M}"


class ChannelCollectionState(models.Model):
    """Per channel: until when the platform asked us to stop reading (RateLimited.retry_after), and the last
    collection problem (for channel health)."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="collection_state")
    paused_until = models.DateTimeField(null=True, blank=True)
    last_pass_at = models.DateTimeField(null=True, blank=True)
    last_problem = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"collection of channel {self.channel_id}"


class PaidReadUsage(models.Model):
    """Billed metric reads (X) one department made in one calendar month (UTC), against
    CIVICPOST_X_MONTHLY_READ_BUDGET."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="paid_read_usage")
    platform = models.CharField(max_length=40)
    month = models.DateField(help_text=_("The first day of the month."))
    requests = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["department", "platform", "month"], name="analytics_one_usage_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.platform} reads of department {self.department_id} in {self.month:%Y-%m}"


class ShortLinkSetting(models.Model):
    """Whether a department's links go through CivicPost's short links (kept here, not on Department, so
    the departments app stays untouched; one row per department that changed the default: off)."""

    department = models.OneToOneField(Department, on_delete=models.CASCADE, related_name="short_link_setting")
    enabled = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"short links of department {self.department_id}: {'on' if self.enabled else 'off'}"


class ShortLink(models.Model):
    """`/l/<code>` on CIVICPOST_SITE_URL, one per (delivery, link). It stores its target with the UTM
    parameters, so it keeps working when the delivery or post is gone (delivery: SET_NULL). Stores no
    personal data: only a click count."""

    code = models.CharField(max_length=16, unique=True)
    target_url = models.URLField(max_length=2000)
    original_url = models.URLField(max_length=2000)
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="short_links")
    platform = models.CharField(max_length=40)
    clicks = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery", "original_url"], name="analytics_one_short_link_per_url")
        ]

    def __str__(self) -> str:
        return f"/l/{self.code}"


class WeeklyReport(models.Model):
    """One weekly e-mail report sent: a department's (to its admins) or the city's (department null, to the
    communications managers), for the week starting `week_start` (a Monday in the department's or city's
    zone). The row is the claim that makes the report go out once per week: created before sending, removed
    again when sending failed so the next run tries again."""

    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="weekly_reports"
    )
    week_start = models.DateField()
    sent_at = models.DateTimeField()
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["department", "week_start"],
                condition=models.Q(department__isnull=False),
                name="analytics_one_department_report_per_week",
            ),
            models.UniqueConstraint(
                fields=["week_start"],
                condition=models.Q(department__isnull=True),
                name="analytics_one_city_report_per_week",
            ),
        ]

    def __str__(self) -> str:
        scope = f"department {self.department_id}" if self.department_id else "the city"
        return f"weekly report of {scope} for the week of {self.week_start}"
