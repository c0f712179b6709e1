"""A department's subscriptions to the city's own feeds, and the items taken from them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from departments.models import Department
from scheduler.models import Channel, Post

DEFAULT_EVENT_TEMPLATE = "{title}\n{start} · {location}\n\n{summary}\n{link}"
DEFAULT_NEWS_TEMPLATE = "{title}\n\n{summary}\n{link}"
DEFAULT_REMINDER_TEMPLATE = "Reminder: {title} starts {start}. {link}"


class FeedKind(models.TextChoices):
    ICAL = "ical", _("Events calendar (iCal)")
    NEWS = "news", _("News (RSS or Atom)")


class FeedSubscription(models.Model):
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="feed_subscriptions")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=FeedKind.choices)
    url = models.URLField(max_length=500)
    channels = models.ManyToManyField(Channel, related_name="+")
    template = models.TextField()
    # An event's reminder post goes out this long before it starts; 0: no reminder.
    reminder_lead_minutes = models.PositiveIntegerField(default=0)
    reminder_template = models.TextField(blank=True, default=DEFAULT_REMINDER_TEMPLATE)
    # The drafts are written as this person (a member of the department; the post's author).
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The last fetch: when, and what went wrong (empty once a fetch succeeds again).
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    etag = models.CharField(max_length=255, blank=True)
    last_modified = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class FeedItem(models.Model):
    """An item taken once: `uid` is the iCal UID (with its RECURRENCE-ID) or the RSS guid / Atom id (else its
    link). `content_hash` tells a changed item; its drafts follow the change while they are unsubmitted."""

    subscription = models.ForeignKey(FeedSubscription, on_delete=models.CASCADE, related_name="items")
    uid = models.CharField(max_length=500)
    title = models.CharField(max_length=300, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64)
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reminder_post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Why a change in the feed did not reach the draft (it was submitted already), for the feed's page.
    note = models.TextField(blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-first_seen_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "uid"], name="intake_item_once_per_feed")]

    def __str__(self) -> str:
        return self.title or self.uid
