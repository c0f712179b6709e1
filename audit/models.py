from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    SIGN_IN = "auth.sign_in", _("Signed in")
    SIGN_IN_FAILED = "auth.sign_in_failed", _("Sign-in failed")
    SIGN_OUT = "auth.sign_out", _("Signed out")
    PASSWORD_CHANGED = "auth.password_changed", _("Password changed")
    MFA_ADDED = "auth.mfa_added", _("Two-step verification added")
    MFA_REMOVED = "auth.mfa_removed", _("Two-step verification removed")
    ACCESS_DENIED = "auth.access_denied", _("Access denied")
    ROLE_CHANGED = "membership.role_changed", _("Role changed")
    POST_CREATED = "post.created", _("Post created")
    POST_EDITED = "post.edited", _("Post edited")
    POST_SUBMITTED = "post.submitted", _("Post submitted")
    POST_APPROVED = "post.approved", _("Post approved")
    POST_CHANGES_REQUESTED = "post.changes_requested", _("Changes requested")
    POST_CANCELLED = "post.cancelled", _("Post cancelled")
    POST_PUBLISHED = "post.published", _("Published to a channel")
    POST_FAILED = "post.failed", _("Publishing failed")
    POST_NEEDS_ATTENTION = "post.needs_attention", _("Publishing needs attention")
    CHANNEL_CONNECTED = "channel.connected", _("Channel connected")
    CHANNEL_DISCONNECTED = "channel.disconnected", _("Channel disconnected")
    CHANNEL_TOKEN_REFRESHED = "channel.token_refreshed", _("Channel token refreshed")
    POST_BLACKOUT_OVERRIDE = "post.blackout_override", _("Scheduled into a blackout (override)")
    BLACKOUT_CREATED = "blackout.created", _("Blackout period created")
    BLACKOUT_DELETED = "blackout.deleted", _("Blackout period deleted")
    CRISIS_ON = "crisis.on", _("Crisis hold switched on")
    CRISIS_OFF = "crisis.off", _("Crisis hold switched off")
    DEPARTMENT_SETTINGS_CHANGED = "department.settings_changed", _("Department settings changed")
    CHANNEL_LANGUAGE_CHANGED = "channel.language_changed", _("Channel language changed")
    STEP_APPROVED = "post.step_approved", _("Approval step done")
    VOTES_CARRIED = "post.votes_carried", _("Earlier approval steps carried over after a move")
    BLACKOUT_HELD = "post.blackout_held", _("Sent back for approval: inside a blackout")
    POLICY_CHANGED = "policy.changed", _("Approval policy changed")
    HOLD_KEPT = "hold.kept", _("Post kept on hold")
    HOLD_RELEASED = "hold.released", _("Post released from hold")
    HOLD_RESCHEDULED = "hold.rescheduled", _("Held post rescheduled")
    EMERGENCY_PUBLISHED = "emergency.published", _("Emergency post published")
    EMERGENCY_REVIEWED = "emergency.reviewed", _("Emergency post reviewed")
    AUDIT_EXPORTED = "audit.exported", _("Audit trail exported")
    ARCHIVE_RETENTION_CHANGED = "archive.retention_changed", _("Retention schedule set")
    ARCHIVE_HOLD_PLACED = "archive.hold_placed", _("Legal hold placed")
    ARCHIVE_HOLD_RELEASED = "archive.hold_released", _("Legal hold released")
    ARCHIVE_DISPOSED = "archive.disposed", _("Archive records disposed of")
    ARCHIVE_DISPOSITION_CANCELLED = "archive.disposition_cancelled", _("Disposition cancelled")
    ARCHIVE_EXPORTED = "archive.exported", _("Records request exported")
    POST_RETRACTED = "post.retracted", _("Post deleted from its channels")
    INBOX_ASSIGNED = "inbox.assigned", _("Inbox item assigned")
    INBOX_NOTE_ADDED = "inbox.note_added", _("Internal note added to an inbox item")
    INBOX_STATUS_CHANGED = "inbox.status_changed", _("Inbox item status changed")
    INBOX_REPLIED = "inbox.replied", _("Reply to a resident written")
    INBOX_URGENT = "inbox.urgent", _("Urgent inbox item flagged")
    INBOX_MODERATED = "inbox.moderated", _("Resident's comment moderated")
    INBOX_MODERATION_UNDONE = "inbox.moderation_undone", _("Moderation undone")
    INBOX_SETTINGS_CHANGED = "inbox.settings_changed", _("Inbox settings changed")
    POLICY_CLAUSE_CHANGED = "policy.clause_changed", _("Social media policy clause changed")


class AuditEvent(models.Model):
    """One significant action: who, when, from where, on what, and what changed.

    Append-only: the app only inserts (save() refuses updates, delete() refuses) and on PostgreSQL a
    trigger refuses UPDATE and DELETE for everyone, the admin included."""

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    # Kept as text so the record still says who it was after the account is renamed or removed.
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices, db_index=True)
    department = models.ForeignKey(
        "departments.Department",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["department", "occurred_at"]),
            models.Index(fields=["target_type", "target_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label or 'system'} {self.action}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # noqa: ANN201
        raise PermissionError("Audit events are never deleted.")
