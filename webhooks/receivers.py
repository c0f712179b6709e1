"""The outbox writers: scheduler.events → one pending WebhookDelivery per subscription that wants the event,
in the transaction that changed the post (nothing is written, so nothing is sent, if it rolls back). Each
receiver costs one query when no subscription wants the event."""

from __future__ import annotations

from typing import Any

from scheduler import events
from scheduler.blackouts import emergency_post_ids
from scheduler.models import CrisisHold, Delivery, DeliveryStatus, Post, PostApproval
from webhooks import payloads
from webhooks.models import EventType
from webhooks.services import department_subscriptions_active, subscriptions_wanting, webhook_event_record

DELIVERY_EVENTS = {
    DeliveryStatus.PUBLISHED: EventType.POST_PUBLISHED,
    DeliveryStatus.FAILED: EventType.POST_FAILED,
    DeliveryStatus.NEEDS_ATTENTION: EventType.POST_NEEDS_ATTENTION,
}


def on_post_submitted(sender: Any, *, post: Post, **kwargs: Any) -> None:
    wanting = subscriptions_wanting(event_type=EventType.POST_SUBMITTED, department_ids=[post.department_id])
    if wanting:
        webhook_event_record(event_type=EventType.POST_SUBMITTED, data=payloads.post_data(post), subscriptions=wanting)


def on_post_approved(sender: Any, *, post: Post, approval: PostApproval, **kwargs: Any) -> None:
    wanting = subscriptions_wanting(event_type=EventType.POST_APPROVED, department_ids=[post.department_id])
    if wanting:
        data = payloads.approval_data(post, approval)
        webhook_event_record(event_type=EventType.POST_APPROVED, data=data, subscriptions=wanting)


def on_delivery_finished(sender: Any, *, delivery: Delivery, status: str, message: str = "", **kwargs: Any) -> None:
    event_type = DELIVERY_EVENTS.get(status)  # type: ignore[call-overload]
    if event_type is None:
        return
    # One query, compiled once per connection, for both event types (this runs for every delivery a worker
    # finishes: issue 18).
    active = department_subscriptions_active(department_id=delivery.post.department_id)
    wanting = [row for row in active if event_type in row.event_types]
    emergency: list[Any] = []
    if status == DeliveryStatus.PUBLISHED:
        emergency = [row for row in active if EventType.EMERGENCY_PUBLISHED in row.event_types]
        if emergency and not emergency_post_ids([delivery.post_id]):
            emergency = []
    if not wanting and not emergency:
        return
    # publishing records the outcome with an UPDATE: read what it wrote (permalink, time) in this transaction.
    delivery.refresh_from_db(fields=["permalink", "published_at", "remote_id"])
    data = payloads.delivery_data(delivery, status=status, message=message)
    if wanting:
        webhook_event_record(event_type=event_type, data=data, subscriptions=wanting)
    if emergency:
        webhook_event_record(event_type=EventType.EMERGENCY_PUBLISHED, data=data, subscriptions=emergency)


def on_crisis_hold_changed(sender: Any, *, hold: CrisisHold, on: bool, **kwargs: Any) -> None:
    event_type = EventType.CRISIS_HOLD_STARTED if on else EventType.CRISIS_HOLD_ENDED
    department_ids = None if hold.city_wide else sorted(hold.departments.values_list("pk", flat=True))
    wanting = subscriptions_wanting(event_type=event_type, department_ids=department_ids)
    if wanting:
        data = payloads.crisis_data(hold, department_ids=department_ids or [])
        webhook_event_record(event_type=event_type, data=data, subscriptions=wanting)


def connect() -> None:
    events.post_submitted.connect(on_post_submitted, dispatch_uid="webhooks.post_submitted")
    events.post_approved.connect(on_post_approved, dispatch_uid="webhooks.post_approved")
    events.delivery_finished.connect(on_delivery_finished, dispatch_uid="webhooks.delivery_finished")
    events.crisis_hold_changed.connect(on_crisis_hold_changed, dispatch_uid="webhooks.crisis_hold_changed")
