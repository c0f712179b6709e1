import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from civicpost.crypto import EncryptedJSONField
from departments.models import Department


class ChannelStatus(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnect")
    DISABLED = "disabled", _("Disabled")


class Channel(models.Model):
    """One account on one platform. It belongs to the department, not to whoever connected it."""

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="channels")
    platform = models.CharField(max_length=40, help_text=_("Adapter name from the platform registry."))
    display_name = models.CharField(max_length=120)
    account_handle = models.CharField(max_length=200, blank=True)
    credentials = EncryptedJSONField(blank=True, default=dict, editable=False)
    # Non-secret, per-channel settings (instance URL, language, sandbox mode, ...).
    options = models.JSONField(blank=True, default=dict)
    status = models.CharField(max_length=20, choices=ChannelStatus.choices, default=ChannelStatus.CONNECTED)
    status_message = models.TextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["department__name", "display_name"]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.platform_label})"

    @property
    def platform_label(self) -> str:
        from scheduler.adapters.registry import platform_label

        return platform_label(self.platform)


class PostStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Waiting for approval")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    APPROVED = "approved", _("Approved and scheduled")
    PUBLISHED = "published", _("Finished publishing")
    CANCELLED = "cancelled", _("Cancelled")


class Post(models.Model):
    # Not a field: set on the rows scheduler.calendar reads for the calendar (its channels, sorted).
    calendar_channels: list["Channel"]

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="posts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="posts")
    text = models.TextField()
    link = models.URLField(max_length=500, blank=True)
    channels = models.ManyToManyField(Channel, related_name="posts", blank=True)
    due_at = models.DateTimeField(help_text=_("When to publish, in UTC."))
    status = models.CharField(max_length=20, choices=PostStatus.choices, default=PostStatus.DRAFT)
    current_approval = models.OneToOneField(
        "PostApproval", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # The composer (issue 4). `language` is the language of `text`; `channel_text` holds per-channel
    # versions {channel id: text} (absent: the main text); `languages` holds the other language versions
    # {code: {"text", "channel_text", "media_alt", "reviewed"}}, each written or checked by a person.
    language = models.CharField(max_length=16, default="en")
    channel_text = models.JSONField(default=dict, blank=True)
    languages = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["department", "status", "due_at"]),
            models.Index(fields=["status", "due_at"]),
        ]

    def __str__(self) -> str:
        return f"Post {self.pk}: {self.text[:40]}"


class PostApproval(models.Model):
    """The exact content an approver approved. Written once, never changed; publishing sends only this."""

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="approvals")
    content = models.JSONField()
    content_hash = models.CharField(max_length=64)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField()
    # The saved version whose content this approval froze (same content hash).
    version = models.ForeignKey(
        "PostVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="approvals"
    )

    class Meta:
        ordering = ["-approved_at"]

    def __str__(self) -> str:
        return f"Approval of post {self.post_id} by {self.approved_by_id} at {self.approved_at:%Y-%m-%d %H:%M}"


class ReviewAction(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted for approval")
    APPROVED = "approved", _("Approved")
    CHANGES_REQUESTED = "changes_requested", _("Requested changes")
    RETURNED = "returned", _("Edited after approval; approval needed again")
    CANCELLED = "cancelled", _("Cancelled")
    BLACKOUT_HELD = "blackout_held", _("Held: its time is inside a blackout; approval needed again")


class PostReview(models.Model):
    """Append-only history of review steps on a post, with the reviewer's comment."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reviews")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=ReviewAction.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} (post {self.post_id})"


class DeliveryStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CLAIMED = "claimed", _("Starting")
    SENDING = "sending", _("Sending")
    RETRY_WAIT = "retry_wait", _("Waiting to retry")
    UNKNOWN = "unknown", _("Checking with the platform")
    PUBLISHED = "published", _("Published")
    FAILED = "failed", _("Failed")
    NEEDS_ATTENTION = "needs_attention", _("Needs attention")
    CANCELLED = "cancelled", _("Cancelled")


PENDING_DELIVERY_STATUSES = (
    DeliveryStatus.SCHEDULED,
    DeliveryStatus.CLAIMED,
    DeliveryStatus.SENDING,
    DeliveryStatus.RETRY_WAIT,
    DeliveryStatus.UNKNOWN,
)
CLAIMABLE_DELIVERY_STATUSES = (DeliveryStatus.SCHEDULED, DeliveryStatus.RETRY_WAIT)


class Delivery(models.Model):
    """One approved post on one channel: the unit that is published exactly once."""

    # Not a field: set by governance.selectors.mark_held_deliveries for pages that show statuses.
    is_held: bool

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="deliveries")
    approval = models.ForeignKey(PostApproval, on_delete=models.PROTECT, related_name="deliveries")
    # Which language version goes out (a post in English and Spanish has two deliveries per channel);
    # empty on rows made before language versions existed, meaning the post's main language.
    language = models.CharField(max_length=16, blank=True, default="")
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.SCHEDULED)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    due_at = models.DateTimeField()
    # When the dispatcher may next claim it: due_at at first, a platform's reset time after a 429.
    next_attempt_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    remote_id = models.CharField(max_length=300, blank=True)
    permalink = models.URLField(max_length=500, blank=True)
    failure_message = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["post", "channel", "language"],
                condition=~Q(status="cancelled"),
                name="one_live_delivery_per_post_and_channel",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["scheduled", "retry_wait"]),
                name="delivery_claimable_idx",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status__in=["claimed", "sending"]),
                name="delivery_leased_idx",
            ),
            models.Index(fields=["status", "updated_at"], name="delivery_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_DELIVERY_STATUSES

    @property
    def shown_status(self) -> str:
        """Returns the status people see: "held" while a crisis hold or a post hold keeps it back (pages mark
        `is_held` with `governance.selectors.mark_held_deliveries`), "withdrawn" when an edit or a move took it
        back and the post waits to be approved again, otherwise the stored status."""
        if self.status in CLAIMABLE_DELIVERY_STATUSES and getattr(self, "is_held", False):
            return "held"
        if self.status == DeliveryStatus.CANCELLED and self._withdrawn_for_approval():
            return "withdrawn"
        return self.status

    def get_shown_status_display(self) -> str:
        """Returns the words for `shown_status`."""
        shown = self.shown_status
        if shown == "held":
            return str(_("Held"))
        if shown == "withdrawn":
            if self.post.status == PostStatus.SUBMITTED:
                return str(_("Withdrawn, waiting for approval"))
            return str(_("Withdrawn until approved again"))
        return str(self.get_status_display())

    def _withdrawn_for_approval(self) -> bool:
        post = self.post
        return post.current_approval_id is None and post.status in (
            PostStatus.DRAFT,
            PostStatus.SUBMITTED,
            PostStatus.CHANGES_REQUESTED,
        )


# DeliveryAttempt.outcome is a DeliveryStatus value (what the attempt's answer made of the delivery) or one of:
ATTEMPT_SENDING = "sending"  # the call is in flight (closed by its worker, or as `unknown` by the sweeper)
ATTEMPT_SUPERSEDED = "superseded"  # answered after the delivery moved on; its answer is in `message`
# Attempts whose request may have reached the platform: a later "failed" could hide a live post.
ATTEMPT_OUTCOMES_THAT_MAY_HAVE_ARRIVED = (ATTEMPT_SENDING, DeliveryStatus.UNKNOWN.value, ATTEMPT_SUPERSEDED)


class DeliveryAttempt(models.Model):
    """Append-only log of each call to a platform, with its full response for the public record."""

    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=30, blank=True)
    message = models.TextField(blank=True)
    remote_id = models.CharField(max_length=300, blank=True)
    response = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["delivery_id", "number", "id"]

    def __str__(self) -> str:
        return f"Attempt {self.number} of delivery {self.delivery_id}: {self.outcome}"


class SandboxPost(models.Model):
    """A post 'published' by the built-in Sandbox platform, shown on the sandbox timeline page."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="sandbox_posts")
    idempotency_key = models.CharField(max_length=64)
    text = models.TextField()
    link = models.URLField(max_length=500, blank=True)
    language = models.CharField(max_length=16, blank=True, default="")
    # What the platform received for each attachment, in order: {"url", "mime_type", "alt_text", "path",
    # "width", "height"} (path is the file's storage name), so the timeline shows the post as sent.
    media = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "idempotency_key"], name="sandbox_idempotency_per_channel")
        ]

    def __str__(self) -> str:
        return f"Sandbox post {self.pk}"

    @property
    def language_label(self) -> str:
        """Returns the name of the post's language ("Spanish"), or "" for posts stored before it was kept."""
        from scheduler.content import language_name

        return language_name(self.language) if self.language else ""


class PublisherHeartbeat(models.Model):
    """The last time each publishing loop made progress, for the health check."""

    name = models.CharField(max_length=40, unique=True)
    last_tick_at = models.DateTimeField()
    last_report = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_tick_at:%Y-%m-%d %H:%M:%S}"


# --- Shared calendar (issue 5) ---------------------------------------------------------------------


class BlackoutPeriod(models.Model):
    """A time when nothing should go out (an election quiet period, a day of mourning), for one department
    or, without a department, for the whole city. Scheduling into it needs an approver and a reason."""

    # Not a field: set on the instance blackout_create returns (scheduler.calendar_services).
    held_post_ids: list[int]

    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="blackouts",
        help_text=_("Leave empty for a city-wide blackout."),
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="blackout_range_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="blackout_ends_after_start")
        ]

    def __str__(self) -> str:
        scope = self.department.name if self.department is not None else _("Whole city")
        return f"{self.reason} ({scope})"


class BlackoutOverride(models.Model):
    """An approver's decision, with their reason, that a post may go out inside one blackout at one time
    (scheduler/blackouts.py). It covers only that blackout and that time: a post moved elsewhere needs a
    new decision, and the dispatcher holds an approved post caught in a blackout no override covers."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="blackout_overrides")
    blackout = models.ForeignKey(BlackoutPeriod, on_delete=models.CASCADE, related_name="overrides")
    due_at = models.DateTimeField(help_text=_("The post's time the decision was made for, in UTC."))
    reason = models.TextField()
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["post", "blackout", "due_at"], name="blackout_override_idx")]

    def __str__(self) -> str:
        return f"Override of blackout {self.blackout_id} for post {self.post_id}"


class CalendarPreference(models.Model):
    """The calendar filters a person used last, restored when they open the calendar without any."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_preference")
    filters = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Calendar filters of {self.user_id}"


class CalendarFeedToken(models.Model):
    """A secret iCal feed address. Only the SHA-256 of the secret is stored; the address is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Calendar feed of {self.user_id} ({'revoked' if self.revoked_at else 'active'})"


# --- Composer (issue 4) ----------------------------------------------------------------------------


class PostVersion(models.Model):
    """Every saved state of a post, kept for comparison; an approval points at the version it approved.

    The fields mirror the approval snapshot (scheduler.services.approval_content_for), so
    `content_hash` equals the hash of the approval made from the same state."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    link = models.URLField(max_length=500, blank=True)
    language = models.CharField(max_length=16, default="en")
    channel_ids = models.JSONField(default=list, blank=True)
    channel_text = models.JSONField(default=dict, blank=True)
    media = models.JSONField(default=list, blank=True)
    languages = models.JSONField(default=dict, blank=True)
    due_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64)
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    saved_at = models.DateTimeField()
    autosaved = models.BooleanField(default=False)

    class Meta:
        ordering = ["post_id", "number"]
        constraints = [models.UniqueConstraint(fields=["post", "number"], name="one_version_number_per_post")]

    def __str__(self) -> str:
        return f"Version {self.number} of post {self.post_id}"
