"""A department's webhook subscriptions and the outbox of their deliveries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from departments.models import Department


class EventType(models.TextChoices):
    """The `type` of each event (Standard Webhooks: dotted, lower case). Stable names: receivers match on them."""

    POST_SUBMITTED = "post.submitted", _("A post was sent for approval")
    POST_APPROVED = "post.approved", _("A post was approved and scheduled")
    POST_PUBLISHED = "post.published", _("A post was published on a channel")
    POST_FAILED = "post.failed", _("A post could not be published on a channel")
    POST_NEEDS_ATTENTION = "post.needs_attention", _("A post needs attention on a channel")
    EMERGENCY_PUBLISHED = "emergency.published", _("An emergency post was published on a channel")
    CRISIS_HOLD_STARTED = "crisis_hold.started", _("A crisis hold started")
    CRISIS_HOLD_ENDED = "crisis_hold.ended", _("A crisis hold ended")


# Sent only by the "Send test event" button, never subscribed to.
TEST_EVENT = "webhook.test"


class WebhookSubscription(models.Model):
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    event_types = models.JSONField(default=list)
    # "whsec_" + base64 of 24 random bytes, encrypted with civicpost.crypto (Fernet); shown once.
    secret_encrypted = models.TextField()
    is_active = models.BooleanField(default=True)
    # Why CivicPost switched it off (the receiver answered 410 Gone); empty when a person did.
    disabled_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"

    def wants(self, event_type: str) -> bool:
        return self.is_active and event_type in self.event_types


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event for one subscription: written in the transaction that changed the post (the outbox), sent
    after commit, retried with backoff until delivered or out of attempts. Doubles as the delivery log."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=40)
    # Standard Webhooks' webhook-id: the same on every retry, so receivers can drop duplicates.
    message_id = models.CharField(max_length=40, unique=True)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The start of the receiver's answer (webhooks.services.MAX_LOGGED_BODY characters).
    response_body = models.TextField(blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription_id} ({self.status})"
