import uuid
from typing import Any, Self, cast

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicpost.crypto import EncryptedJSONField
from civicpost.languages import language_name
from departments.models import Department
from scheduler.state_guard import check_state_write


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
        from scheduler.adapters.registry import platform_label  # the registry loads every adapter: not at start-up

        return platform_label(self.platform)


def _default_status(model: type[models.Model]) -> Any:
    return cast(models.Field, model._meta.get_field("status")).default


class StateGuardedQuerySet(models.QuerySet):
    """Refuses bulk writes of `status` outside the owners of the state (scheduler.state_guard)."""

    def update(self, **kwargs: Any) -> int:
        if "status" in kwargs:
            check_state_write(self.model.__name__)
        return super().update(**kwargs)

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        if "status" in fields:
            check_state_write(self.model.__name__)
        return super().bulk_update(objs, fields, *args, **kwargs)

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        objs = list(objs)
        default = _default_status(self.model)
        if any(obj.status != default for obj in objs):
            check_state_write(self.model.__name__)
        return super().bulk_create(objs, *args, **kwargs)


class StateGuardedModel(models.Model):
    """A model whose `status` only the owners of the state change (scheduler.state_guard): a save that
    changes it (or creates the row in a status other than the default) asks check_state_write."""

    objects = StateGuardedQuerySet.as_manager()
    status: Any  # the concrete model's field
    _loaded_status: Any

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if self._state.adding:
            changed = self.status != _default_status(type(self))
        else:
            writes_status = update_fields is None or "status" in update_fields
            changed = writes_status and self.status != getattr(self, "_loaded_status", self.status)
        if changed:
            check_state_write(type(self).__name__)
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> Self:
        instance = super().from_db(*args, **kwargs)
        instance._loaded_status = instance.__dict__.get("status")
        return instance

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._loaded_status = self.__dict__.get("status")


class PostStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Waiting for approval")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    APPROVED = "approved", _("Approved and scheduled")
    PUBLISHED = "published", _("Finished publishing")
    CANCELLED = "cancelled", _("Cancelled")


class Post(StateGuardedModel):
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
    # Threads of posts (issue 17): the texts of parts 2, 3, … in order; `text` is part 1. Published as replies,
    # each to the one before, on channels whose platform takes threads (scheduler.threads).
    thread_parts = models.JSONField(default=list, blank=True)
    # Published right after the post as a comment on it, on channels whose platform takes first comments.
    first_comment = models.TextField(blank=True)
    # Set when the post is a reply on its one channel (an inbox answer, scheduler.services.replies): the platform
    # post it answers, {"remote_id", "root_remote_id", "details"} (scheduler.adapters.base.ReplyTarget). Part of
    # the approved snapshot, so what is approved is also what it answers.
    reply_to = models.JSONField(null=True, blank=True, default=None)

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


class DeliveryKind(models.TextChoices):
    POST = "post", _("Post")
    FIRST_COMMENT = "first_comment", _("First comment")


PENDING_DELIVERY_STATUSES = (
    DeliveryStatus.SCHEDULED,
    DeliveryStatus.CLAIMED,
    DeliveryStatus.SENDING,
    DeliveryStatus.RETRY_WAIT,
    DeliveryStatus.UNKNOWN,
)
CLAIMABLE_DELIVERY_STATUSES = (DeliveryStatus.SCHEDULED, DeliveryStatus.RETRY_WAIT)
# Deliveries that have not contacted the platform yet can be withdrawn without risk.
WITHDRAWABLE_DELIVERY_STATUSES = (DeliveryStatus.SCHEDULED, DeliveryStatus.CLAIMED, DeliveryStatus.RETRY_WAIT)
FINISHED_DELIVERY_STATUSES = (DeliveryStatus.PUBLISHED, DeliveryStatus.FAILED, DeliveryStatus.NEEDS_ATTENTION)
# Posts a person may still edit (an approved one goes back for approval) or cancel.
EDITABLE_STATUSES = (PostStatus.DRAFT, PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED, PostStatus.APPROVED)
CANCELLABLE_STATUSES = EDITABLE_STATUSES
# Posts their author may send for approval.
SUBMITTABLE_STATUSES = (PostStatus.DRAFT, PostStatus.CHANGES_REQUESTED)
# Posts every signed-in member of the city may see, whatever their department.
CITY_VISIBLE_STATUSES = (PostStatus.APPROVED, PostStatus.PUBLISHED)


class Delivery(StateGuardedModel):
    """One approved post on one channel: the unit that is published exactly once."""

    # Not a field: set by governance.selectors.mark_held_deliveries for pages that show statuses.
    is_held: bool

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="deliveries")
    # No index of its own: no query looks deliveries up by approval alone (approvals are never deleted), and
    # each index costs every status change a new entry (issue 18: the dispatcher's claim).
    approval = models.ForeignKey(PostApproval, on_delete=models.PROTECT, related_name="deliveries", db_index=False)
    # Which language version goes out (a post in English and Spanish has two deliveries per channel);
    # empty on rows made before language versions existed, meaning the post's main language.
    language = models.CharField(max_length=16, blank=True, default="")
    # A thread of posts has one delivery per part and channel: `part` of `part_count` (1 of 1 for a plain post).
    part = models.PositiveSmallIntegerField(default=1)
    part_count = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField(max_length=20, choices=DeliveryKind.choices, default=DeliveryKind.POST)
    # The delivery that must be published before this one may be claimed, and whose remote post this one
    # answers: the previous part of a thread, or the post a first comment comments on. None: nothing waits.
    after = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="followers", db_index=False
    )
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
                fields=["post", "channel", "language", "kind", "part"],
                condition=~Q(status="cancelled"),
                name="one_live_delivery_per_post_channel_and_part",
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
            # Partial, like the two above: a row gets an entry only in the states these indexes serve, so a
            # status change (the claim above all) writes to fewer indexes (issue 18). This one: the deliveries that
            # need a look (monitoring's list, the health counts, the reconciler's `unknown` rows).
            models.Index(
                fields=["status", "updated_at"],
                condition=Q(status__in=["unknown", "needs_attention", "failed"]),
                name="delivery_problem_status_idx",
            ),
            # Only thread parts and first comments wait for another delivery.
            models.Index(fields=["after"], condition=Q(after__isnull=False), name="delivery_after_idx"),
            # The channel health figures (analytics.health.channel_delivery_figures): each channel's deliveries
            # finished in the last 30 days (status is a column so the counts never read the table) and its latest
            # publication, each one index range per channel instead of its whole history (issue 18). A row enters
            # them when it finishes (published_at is written once, by the publishing update), never while it is
            # scheduled, claimed or sending: the claim writes to neither.
            models.Index(
                fields=["channel", "updated_at", "status"],
                condition=Q(status__in=["published", "failed", "needs_attention"]),
                name="delivery_finished_channel_idx",
            ),
            models.Index(
                fields=["channel", "published_at"],
                condition=Q(published_at__isnull=False),
                name="delivery_published_channel_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} ({self.status})"

    @property
    def is_thread_part(self) -> bool:
        return self.kind == DeliveryKind.POST and self.part_count > 1

    @property
    def part_label(self) -> str:
        """Returns "Part 2 of 3", "First comment", or "" for a plain post."""
        if self.kind == DeliveryKind.FIRST_COMMENT:
            return str(_("First comment"))
        if self.part_count > 1:
            return str(_("Part %(part)d of %(count)d") % {"part": self.part, "count": self.part_count})
        return ""

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
    # The sandbox post this one answers (a later part of a thread, a first comment), or "".
    in_reply_to = models.CharField(max_length=64, blank=True)
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
    thread_parts = models.JSONField(default=list, blank=True)
    first_comment = models.TextField(blank=True)
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


# --- Approval votes and holds (tables named governance_* since they moved from governance) ----------


class ApprovalVote(models.Model):
    """One person's approval at one step of a post's policy. Append-only.

    A vote counts only for the exact content it was cast on (`content_hash`) and the exact round of review
    (`round_key`, scheduler.approvals.post_round_keys: the post's latest review event and latest saved
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
        db_table = "governance_approvalvote"
        ordering = ["post_id", "step_number", "created_at", "id"]
        constraints = [
            # One decision per person per version of a post, whatever the step.
            models.UniqueConstraint(fields=["post", "voter", "round_key"], name="one_vote_per_person_and_round")
        ]

    def __str__(self) -> str:
        return f"Vote of {self.voter_id} on post {self.post_id}, step {self.step_number}"


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
        db_table = "governance_crisishold"
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
        db_table = "governance_posthold"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["post"], condition=models.Q(released_at__isnull=True), name="one_open_hold_per_post"
            )
        ]

    def __str__(self) -> str:
        return f"Hold on post {self.post_id} ({'released' if self.released_at else 'held'})"
