"""The inbox's rows. State changes only through inbox.services."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from departments.models import Department
from scheduler.models import Channel, Delivery, Post


class InboxSettings(models.Model):
    """One department's inbox rules (absent: the defaults below)."""

    department = models.OneToOneField(Department, on_delete=models.CASCADE, related_name="inbox_settings")
    replies_need_approval = models.BooleanField(
        default=False,
        help_text=_("Replies to residents wait for an approver like posts. Off: they go out at once, on the record."),
    )
    response_target_hours = models.PositiveIntegerField(
        default=24, help_text=_("Items not answered or closed within this many hours are shown as overdue.")
    )
    # Off: no channel of the department whose reads are billed (X mentions) is read, whatever its own switch says.
    paid_reads_enabled = models.BooleanField(
        default=True,
        help_text=_("Read replies on platforms that bill every read (X), counted against the monthly budget."),
    )
    # One keyword or phrase per entry, compared case-insensitively with the item's text.
    urgency_keywords = models.JSONField(default=list, blank=True)
    # Members told by e-mail at once about an urgent item.
    watchers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Inbox settings of {self.department}"


class ChannelInboxState(models.Model):
    """Where the inbox stopped reading one channel: the platform's cursor, a pause the platform asked for, and
    the last problem (shown to the department). `enabled` False: the channel is not read (X reads are paid)."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="inbox_state")
    enabled = models.BooleanField(default=True)
    cursor = models.CharField(max_length=500, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    last_pass_at = models.DateTimeField(null=True, blank=True)
    last_problem = models.TextField(blank=True)
    requests_total = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Inbox reading of channel {self.channel_id}"


class ItemStatus(models.TextChoices):
    NEW = "new", _("New")
    ASSIGNED = "assigned", _("Assigned")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (ItemStatus.NEW, ItemStatus.ASSIGNED)


class ItemKind(models.TextChoices):
    REPLY = "reply", _("Reply")
    COMMENT = "comment", _("Comment")
    MENTION = "mention", _("Mention")
    QUOTE = "quote", _("Quote")


class InboxItem(models.Model):
    """One reply, comment or mention a resident made, stored once per channel and platform id, as captured."""

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="inbox_items")
    # The channel's department, kept on the row so the inbox pages filter and count by one index.
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="inbox_items")
    remote_id = models.CharField(max_length=300)
    kind = models.CharField(max_length=20, choices=ItemKind.choices, default=ItemKind.REPLY)
    # The post of ours it answers (matched on the platform id), when it answers one.
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbox_items")
    in_reply_to_remote_id = models.CharField(max_length=300, blank=True)
    root_remote_id = models.CharField(max_length=300, blank=True)
    author_handle = models.CharField(max_length=300)
    author_name = models.CharField(max_length=300, blank=True)
    author_profile_url = models.URLField(max_length=500, blank=True)
    permalink = models.URLField(max_length=500, blank=True)
    text = models.TextField(blank=True)
    media = models.JSONField(default=list, blank=True)
    reply_details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(help_text=_("When the resident posted it (the platform's time, UTC)."))
    captured_at = models.DateTimeField(auto_now_add=True)
    raw = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=ItemStatus.choices, default=ItemStatus.NEW)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    urgent = models.BooleanField(default=False)
    matched_keywords = models.JSONField(default=list, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # What the platform shows now, after our moderation or the author's own deletion.
    hidden = models.BooleanField(default=False)
    removed = models.BooleanField(default=False)
    deleted_by_author = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "remote_id"], name="inbox_one_item_per_channel_and_remote_id")
        ]
        indexes = [
            models.Index(fields=["department", "status", "-created_at"], name="inbox_item_dept_status_idx"),
            models.Index(fields=["status", "-created_at"], name="inbox_item_status_idx"),
            models.Index(fields=["delivery"], name="inbox_item_delivery_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.author_handle} ({self.remote_id})"


class InboxNote(models.Model):
    """An internal note on an item: never sent to the platform."""

    item = models.ForeignKey(InboxItem, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Note on item {self.item_id}"


class InboxReply(models.Model):
    """A reply written in CivicPost to an item: the scheduler Post that carries it (its delivery publishes it)."""

    item = models.ForeignKey(InboxItem, on_delete=models.PROTECT, related_name="replies")
    post = models.OneToOneField(Post, on_delete=models.PROTECT, related_name="inbox_reply")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Reply {self.post_id} to item {self.item_id}"


class SavedReply(models.Model):
    """A department's ready answer in one of its languages."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="saved_replies")
    language = models.CharField(max_length=16, default="en")
    title = models.CharField(max_length=120)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["department_id", "title", "language", "id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"


class PolicyClause(models.Model):
    """One numbered clause of the city's social media policy, cited by every moderation action. Retired clauses
    stay (actions cite them) but cannot be chosen any more."""

    number = models.CharField(max_length=20, help_text=_('As the policy numbers it, e.g. "4.2".'))
    title = models.CharField(max_length=200)
    text = models.TextField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number", "id"]
        constraints = [
            models.UniqueConstraint(fields=["number"], condition=Q(active=True), name="inbox_one_active_clause_number")
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class ModerationKind(models.TextChoices):
    HIDE = "hide", _("Hide")
    DELETE = "delete", _("Delete")
    BLOCK = "block", _("Block the author")
    MUTE = "mute", _("Mute the author")
    UNHIDE = "unhide", _("Show again")
    UNBLOCK = "unblock", _("Unblock the author")
    UNMUTE = "unmute", _("Unmute the author")


class ModerationOutcome(models.TextChoices):
    PENDING = "pending", _("Sending to the platform")
    DONE = "done", _("Done")
    FAILED = "failed", _("The platform refused")


class ModerationAction(models.Model):
    """One moderation decision, on the record: who, what, which policy clause (its words as they were), the note,
    the item exactly as it was before (`snapshot`, kept first, before the platform is asked) and the answer."""

    item = models.ForeignKey(InboxItem, on_delete=models.PROTECT, related_name="moderation_actions")
    action = models.CharField(max_length=20, choices=ModerationKind.choices)
    clause = models.ForeignKey(PolicyClause, on_delete=models.PROTECT, related_name="actions")
    clause_number = models.CharField(max_length=20)
    clause_text = models.TextField()
    note = models.TextField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    snapshot = models.JSONField()
    outcome = models.CharField(max_length=20, choices=ModerationOutcome.choices, default=ModerationOutcome.PENDING)
    failure_message = models.TextField(blank=True)
    response = models.JSONField(default=dict, blank=True)
    # The action this one undoes (unhide undoes a hide).
    undoes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by")

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action} of item {self.item_id} ({self.outcome})"


class MentionNotice(models.Model):
    """Meta's webhook saying someone @mentioned an Instagram account of ours (inbox.hooks), kept until the mention is
    read into the inbox (inbox.mentions): one row per channel and mention however often Meta delivers it."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="mention_notices")
    # value.comment_id (a comment that mentions us; value.media_id is then the media it is on) or media_id alone
    # (a caption that mentions us).
    comment_id = models.CharField(max_length=300, blank=True)
    media_id = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    item = models.ForeignKey(InboxItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempts = models.PositiveIntegerField(default=0)
    failure_message = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "comment_id", "media_id"], name="inbox_one_mention_notice_per_channel"
            )
        ]

    def __str__(self) -> str:
        return f"Mention {self.comment_id or self.media_id} on channel {self.channel_id}"
