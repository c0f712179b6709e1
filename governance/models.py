"""Governance: who must approve a department's posts (approval policies and their votes), crisis holds,
emergency posts and their review afterwards, and the record of approval digests sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from departments.models import Department
from scheduler.models import Post

# --- Approval policies ----------------------------------------------------------------------------


class ApprovalMode(models.TextChoices):
    ANY = "any", _("Any one of them")
    ALL = "all", _("All of them")


class ApprovalStep(models.Model):
    """One step of a department's approval policy. Steps run in `position` order; a department without
    steps has the default policy: one step, any one approver of the department or communications manager.

    The approvers of a step are everyone the ticked sources name, never the post's author, and never
    someone who already approved the post at an earlier step (each step is another person's decision)."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="approval_steps")
    position = models.PositiveSmallIntegerField(default=1)
    name = models.CharField(max_length=100, help_text=_("Shown on the post, such as “Department review”."))
    mode = models.CharField(max_length=8, choices=ApprovalMode.choices, default=ApprovalMode.ANY)
    department_approvers = models.BooleanField(
        default=True, verbose_name=_("Approvers of the department (and its admins)")
    )
    department_admins = models.BooleanField(default=False, verbose_name=_("Admins of the department"))
    communications_managers = models.BooleanField(default=False, verbose_name=_("Communications managers"))
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("Named people")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["department__name", "position", "id"]

    def __str__(self) -> str:
        return f"{self.department}: {self.position}. {self.name}"


class ApprovalVote(models.Model):
    """One person's approval at one step of a post's policy. Append-only.

    A vote counts only for the exact content it was cast on (`content_hash`) and the exact round of review
    (`round_key`, governance.approvals.post_round_keys: the post's latest review event and latest saved
    version). Every edit, request for changes and new submission starts a new round: earlier votes then no
    longer count (they stay, as history). A key, not a timestamp, so that it changes under a frozen clock too."""

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="approval_votes")
    step_number = models.PositiveSmallIntegerField()
    step_name = models.CharField(max_length=100)
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    content_hash = models.CharField(max_length=64)
    round_key = models.CharField(max_length=40)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["post_id", "step_number", "created_at", "id"]
        constraints = [
            # One decision per person per version of a post, whatever the step.
            models.UniqueConstraint(fields=["post", "voter", "round_key"], name="one_vote_per_person_and_round")
        ]

    def __str__(self) -> str:
        return f"Vote of {self.voter_id} on post {self.post_id}, step {self.step_number}"


# --- Crisis holds ---------------------------------------------------------------------------------


class ReleaseChoice(models.TextChoices):
    RELEASE = "release", _("Release: send as scheduled (posts whose time passed go out now)")
    RESCHEDULE = "reschedule", _("Reschedule to a new time")
    KEEP = "keep", _("Keep held until someone releases it")


class CrisisHold(models.Model):
    """While on, no scheduled delivery in scope goes out (emergency posts excepted). Nothing is cancelled
    or marked sent: the deliveries stay scheduled and the dispatcher passes over them."""

    city_wide = models.BooleanField(default=True)
    departments = models.ManyToManyField(Department, blank=True, related_name="+")
    reason = models.TextField()
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What was chosen for the held posts when it ended ("mixed" when chosen post by post).
    release_choice = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["ended_at"], name="crisis_hold_active_idx")]

    def __str__(self) -> str:
        return f"Crisis hold {self.pk} ({'on' if self.is_active else 'ended'})"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


class PostHold(models.Model):
    """A hold on one post that outlives a crisis hold (“keep held”), until someone releases it."""

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="holds")
    crisis = models.ForeignKey(CrisisHold, null=True, blank=True, on_delete=models.PROTECT, related_name="post_holds")
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["post"], condition=models.Q(released_at__isnull=True), name="one_open_hold_per_post"
            )
        ]

    def __str__(self) -> str:
        return f"Hold on post {self.post_id} ({'released' if self.released_at else 'held'})"


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
