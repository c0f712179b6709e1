"""The city website's own RSS/Atom feed (shared/platforms.md §10).

Nothing leaves the building: "publishing" to a feed channel only marks the delivery published, and the
published deliveries on feed channels ARE the feed (rendered by the `feeds` app). So this channel never
fails for an external reason, and publishing twice with the same key gives the same answer.

Entry ids are stable tag URIs (RFC 4151), `tag:<site host>,2026:delivery-<idempotency key>`: feed readers
dedupe on them, so they must never change. The delivery stores the id it was published with, and the feed
prefers the stored one, so even a later change of CIVICPOST_SITE_URL keeps old ids.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

from scheduler.adapters.base import (
    ConnectionCheck,
    PlatformAdapter,
    PostContent,
    PublishError,
    PublishResult,
    TextLength,
)

# A web page has no real limit; this keeps a runaway paste from becoming a 1 MB feed entry.
FEED_TEXT_LIMIT = 10_000
# The year in every tag URI. Fixed forever: changing it would change every entry id.
TAG_DATE = "2026"
TAG_PREFIX = "delivery-"


def tag_authority() -> str:
    """Returns the host used in entry ids: CIVICPOST_FEED_TAG_AUTHORITY, else the host of SITE_URL."""
    configured = getattr(settings, "CIVICPOST_FEED_TAG_AUTHORITY", "")
    return configured or urlsplit(settings.SITE_URL).hostname or "localhost"


def feed_entry_id(idempotency_key: str) -> str:
    """Returns the stable tag URI of the feed entry for one delivery."""
    return f"tag:{tag_authority()},{TAG_DATE}:{TAG_PREFIX}{idempotency_key}"


def idempotency_key_from_entry_id(remote_id: str) -> str:
    """Returns the delivery key inside a tag URI made by feed_entry_id (empty string if it is not one)."""
    _, _, specific = remote_id.rpartition(":")
    return specific.removeprefix(TAG_PREFIX) if specific.startswith(TAG_PREFIX) else ""


def public_post_url(idempotency_key: str) -> str:
    """Returns the absolute URL of the public page residents open from the feed."""
    return f"{settings.SITE_URL}{reverse('feeds:post', kwargs={'key': idempotency_key})}"


class FeedAdapter(PlatformAdapter):
    platform = "feed"
    label = "City website feed"
    supports_metrics = False
    # RSS carries one enclosure per item; the public page shows them all.
    max_media = 10

    def text_length(self, content: PostContent) -> TextLength:
        return TextLength(used=len(content.text_with_link()), limit=FEED_TEXT_LIMIT)

    def _result(self, idempotency_key: str) -> PublishResult:
        entry_id = feed_entry_id(idempotency_key)
        return PublishResult(
            remote_id=entry_id,
            permalink=public_post_url(idempotency_key),
            raw={"id": entry_id, "channel_id": self.account.channel_id},
        )

    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        """Returns the entry id and public page. Deterministic and free of side effects: the delivery
        row, once marked published by the publishing service, is the feed entry."""
        return self._result(idempotency_key)

    def reconcile(
        self,
        content: PostContent,
        *,
        idempotency_key: str,
        sent_at: dt.datetime,
        first_sent_at: dt.datetime | None = None,
    ) -> PublishResult | None:
        """Returns the entry: publishing has no side effect outside our own database and always
        succeeds, so an interrupted publish is simply finished here (never 'cannot tell')."""
        return self._result(idempotency_key)

    def delete(self, remote_id: str, *, post_id: int | None = None) -> None:
        """Checks that `remote_id` is an entry of this feed (raises PublishError otherwise). Like publishing,
        deleting has no side effect here: the feed is rendered from CivicPost's own rows, so taking an entry
        out is a database change the feeds app makes (feeds.services.feed_entry_delete), not this adapter."""
        if not idempotency_key_from_entry_id(remote_id):
            raise PublishError(f"{remote_id!r} is not an entry of the city website feed.", permanent=True)

    def check_connection(self) -> ConnectionCheck:
        return ConnectionCheck(ok=True, message="The city website feed is part of CivicPost; nothing to connect.")
