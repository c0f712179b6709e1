"""The only writers of MentionNotice: Instagram @mentions announced by Meta's webhook (inbox.hooks) are kept as
notices, then each is read through the Instagram adapter and stored as a "mention" inbox item by the same
function that stores polled items (inbox.services._store_items: once per channel and platform id, urgency
keywords, the department told). Polling stays the way comments on our own media arrive."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from inbox.models import InboxItem, MentionNotice

# The inbox's one writer of items: mentions are stored exactly like polled items.
from inbox.services import PollReport, _our_remote_ids, _store_items
from scheduler.adapter_changes import channel_save_adapter_changes
from scheduler.adapters.base import AdapterError, PublishError, RateLimited
from scheduler.adapters.registry import adapter_for_channel
from scheduler.models import Channel, ChannelStatus

logger = logging.getLogger(__name__)

# A mention that cannot be read after this many tries is left with its failure on the row.
MENTION_MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class MentionChange:
    account_id: str
    comment_id: str
    media_id: str


def mention_changes(payload: Any) -> list[MentionChange]:
    """The `mentions` changes of an Instagram webhook delivery ({"object": "instagram", "entry": [{"id": <IG user
    id>, "changes": [{"field": "mentions", "value": {"comment_id", "media_id"}}]}]}); anything else is left out."""
    if not isinstance(payload, dict) or payload.get("object") != "instagram":
        return []
    found = []
    for entry in payload.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        for change in entry.get("changes") or []:
            if not isinstance(change, dict) or change.get("field") != "mentions":
                continue
            raw_value = change.get("value")
            value: dict[str, Any] = raw_value if isinstance(raw_value, dict) else {}
            comment_id, media_id = str(value.get("comment_id") or ""), str(value.get("media_id") or "")
            if entry.get("id") and (comment_id or media_id):
                found.append(MentionChange(str(entry["id"]), comment_id[:300], media_id[:300]))
    return found


def mention_notices_receive(*, payload: Any) -> list[int]:
    """Keeps one notice per connected Instagram channel of the mentioned account and mention (a delivery Meta
    repeats finds its notice already there) and returns the ids of those not read yet, for inbox.tasks to read after
    commit. A mention of an account no channel has is left out."""
    pending: list[int] = []
    for change in mention_changes(payload):
        channels = Channel.objects.filter(
            platform="instagram", status=ChannelStatus.CONNECTED, options__ig_user_id=change.account_id
        )
        for channel in channels:
            notice, _created = MentionNotice.objects.get_or_create(
                channel=channel, comment_id=change.comment_id, media_id=change.media_id
            )
            if notice.read_at is None and notice.attempts < MENTION_MAX_ATTEMPTS:
                pending.append(notice.pk)
    return pending


def mention_notice_read(*, notice_id: int) -> float | None:
    """Reads one noticed mention through the adapter and stores it as an inbox item (once). Returns None when done
    (or given up: failure kept on the notice), or the seconds to wait before trying again."""
    notice = MentionNotice.objects.select_related("channel__department").filter(pk=notice_id).first()
    if notice is None or notice.read_at is not None:
        return None
    channel = notice.channel
    adapter = adapter_for_channel(channel)
    fetch = getattr(adapter, "fetch_mention", None)
    if fetch is None:
        return None
    now = timezone.now()
    retry_after: float | None = None
    try:
        conversation_item = fetch(comment_id=notice.comment_id, media_id=notice.media_id)
    except AdapterError as error:
        attempts = notice.attempts + 1
        if isinstance(error, RateLimited):
            retry_after = error.retry_after
        elif not (isinstance(error, PublishError) and error.permanent):
            retry_after = 60.0 * attempts
        if attempts >= MENTION_MAX_ATTEMPTS or (isinstance(error, PublishError) and error.permanent):
            retry_after = None
        logger.warning("mention notice %s not read: %s", notice.pk, error.message)
        MentionNotice.objects.filter(pk=notice.pk).update(attempts=attempts, failure_message=error.message)
        return retry_after
    finally:
        channel_save_adapter_changes(channel=channel, adapter=adapter)
    with transaction.atomic():
        _store_items(channel, (conversation_item,), ours=_our_remote_ids(channel, now), report=PollReport())
        item_id = (
            InboxItem.objects.filter(channel=channel, remote_id=conversation_item.remote_id[:300])
            .values_list("pk", flat=True)
            .first()
        )
        MentionNotice.objects.filter(pk=notice.pk).update(
            read_at=now, item_id=item_id, attempts=notice.attempts + 1, failure_message=""
        )
    return None
