"""Posting slots, queue entries and evergreen posts (see apps.py)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from departments.models import Department
from scheduler.models import Channel, Post


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class PostingSlot(models.Model):
    """Every `weekday` at `local_time` (wall-clock time in the department's zone) on `channel`."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="posting_slots")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="posting_slots")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    local_time = models.TimeField(help_text=_("Wall-clock time in the department's time zone."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("weekday", "local_time", "channel_id")
        constraints = [
            models.UniqueConstraint(fields=["channel", "weekday", "local_time"], name="postqueue_slot_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.local_time:%H:%M} ({self.channel_id})"


class EvergreenPost(models.Model):
    """A post that repeats in free slots, at least `min_interval_days` apart. `last_scheduled_at` is the time
    of the newest repetition (or of the post itself); a failure to make one is kept in `failure_message`."""

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="evergreen")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="evergreen_posts")
    min_interval_days = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("Days at least between two repetitions."),
    )
    is_active = models.BooleanField(default=True)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    last_scheduled_at = models.DateTimeField()
    failure_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"evergreen {self.post_id} every {self.min_interval_days} days"


class QueueEntry(models.Model):
    """A post placed in a posting slot ("add to queue", or a repetition of an evergreen post)."""

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="queue_entry")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="queue_entries")
    slot = models.ForeignKey(PostingSlot, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    repeats = models.ForeignKey(
        EvergreenPost, on_delete=models.SET_NULL, null=True, blank=True, related_name="repetitions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"queued {self.post_id}"
