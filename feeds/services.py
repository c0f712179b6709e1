"""Writes of the feeds app."""

from __future__ import annotations

import uuid

from django.db import transaction

from feeds.models import RemovedFeedEntry
from scheduler.adapters.feed.adapter import idempotency_key_from_entry_id
from scheduler.adapters.registry import adapter_for_channel
from scheduler.models import Channel, Delivery, DeliveryStatus


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


def feed_entry_delete(*, channel: Channel, remote_id: str) -> bool:
    """Deletes a published entry of a feed channel: the feed adapter checks the entry id (raises
    PublishError for one that is not a feed entry), then the entry leaves the feeds and its public page
    answers 410. Returns True if it was in them; deleting twice is harmless."""
    adapter_for_channel(channel).delete(remote_id)
    return feed_entry_remove(channel_id=channel.pk, idempotency_key=idempotency_key_from_entry_id(remote_id))
