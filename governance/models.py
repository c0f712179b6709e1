"""Governance: emergency alerts, their posts and their review afterwards, and the record of approval digests
sent. Approval steps live in departments (a department's policy); approval votes, post holds and crisis holds
are post state and live in scheduler (their tables keep their governance_ names)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scheduler.models import Post

# --- Emergency posts ------------------------------------------------------------------------------


class EmergencyTemplate(models.Model):
    """Ready wording for an emergency (boil-water notice, road closure, ...), editable in the admin.
    [Bracketed] parts must be replaced before publishing."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    text = models.TextField(help_text=_("English wording. Put what must be filled in between [brackets]."))
    translations = models.JSONField(
        default=dict, blank=True, help_text=_('Other languages: {"es": "…"} with the language code as the key.')
    )
    link = models.URLField(max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class EmergencyAlert(models.Model):
    """One emergency publication by an authorised official: a post per department and language."""

    title = models.CharField(max_length=200)
    template = models.ForeignKey(
        EmergencyTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # The "all clear" follow-ups, normal posts submitted for approval at the same time.
    follow_up_posts = models.ManyToManyField(Post, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class EmergencyPost(models.Model):
    """Marks a post as an emergency post: it bypassed approval and crisis holds."""

    alert = models.ForeignKey(EmergencyAlert, on_delete=models.PROTECT, related_name="posts")
    post = models.OneToOneField(Post, on_delete=models.PROTECT, related_name="emergency")
    language = models.CharField(max_length=8, default="en")

    class Meta:
        ordering = ["alert_id", "post_id"]

    def __str__(self) -> str:
        return f"Emergency post {self.post_id} ({self.language})"


class EmergencyReview(models.Model):
    """The communications manager's look at an emergency publication afterwards."""

    alert = models.OneToOneField(EmergencyAlert, on_delete=models.PROTECT, related_name="review")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(default=timezone.now)
    notes = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Review of {self.alert_id}"


# --- Notifications --------------------------------------------------------------------------------


class ApprovalDigestLog(models.Model):
    """One daily digest per person per day, even when two beat processes ask for it (celery#2856)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    post_count = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="one_digest_per_person_and_day")]

    def __str__(self) -> str:
        return f"Digest for {self.user_id} on {self.day}"
