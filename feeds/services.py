"""Writes of the feeds app."""

from __future__ import annotations

import uuid

from django.db import transaction

from feeds.models import RemovedFeedEntry
from scheduler.models import Delivery, DeliveryStatus


@transaction.atomic
def feed_entry_remove(*, channel_id: int, idempotency_key: str) -> bool:
    """Takes one published entry out of the feeds. Returns True if it was in them (False: already
    removed, or no such published entry on this channel). Removing twice is harmless."""
    try:
        key = uuid.UUID(str(idempotency_key))
    except ValueError:
        return False
    delivery = Delivery.objects.filter(
        channel_id=channel_id, idempotency_key=key, status=DeliveryStatus.PUBLISHED
    ).first()
    if delivery is None:
        return False
    _, created = RemovedFeedEntry.objects.get_or_create(delivery=delivery)
    return created
