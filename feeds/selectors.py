"""Public reads of the feeds app: what was published on the city website feed channels.

Only deliveries that reached `published` on a channel of the "feed" platform appear, never drafts,
posts waiting for approval or scheduled ones; entries taken down (RemovedFeedEntry) are left out."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

from django.db.models import Max, QuerySet
from django.http import Http404

from departments.models import Department
from feeds.models import RemovedFeedEntry
from scheduler.models import Delivery, DeliveryStatus

FEED_PLATFORM = "feed"
FEED_SIZE = 50


def _published_on_feeds() -> QuerySet[Delivery]:
    return Delivery.objects.filter(
        status=DeliveryStatus.PUBLISHED,
        channel__platform=FEED_PLATFORM,
        published_at__isnull=False,
        feed_removal__isnull=True,
    )


def feed_deliveries(*, department: Department | None, limit: int = FEED_SIZE) -> list[Delivery]:
    """Returns the latest published feed entries, newest first, of one department or (None) the city."""
    queryset = _published_on_feeds()
    if department is not None:
        queryset = queryset.filter(channel__department=department)
    queryset = queryset.select_related("post__department", "channel__department", "approval")
    return list(queryset.order_by("-published_at", "-id")[:limit])


def feed_department_get(*, slug: str) -> Department:
    """Returns the department with this slug, or raises Http404."""
    department = Department.objects.filter(slug=slug).first()
    if department is None:
        raise Http404("No such department.")
    return department


def departments_with_feeds() -> QuerySet[Department]:
    """Departments that have at least one city website feed channel, for the feeds index page."""
    return Department.objects.filter(channels__platform=FEED_PLATFORM).distinct().order_by("name")


def feed_delivery_get_public(*, key: str | uuid.UUID) -> Delivery:
    """Returns the published feed entry with this delivery key, or raises Http404."""
    delivery = (
        _published_on_feeds()
        .select_related("post__department", "channel__department", "approval")
        .filter(idempotency_key=key)
    ).first()
    if delivery is None:
        raise Http404("No such post.")
    return delivery


def feed_entry_was_removed(*, key: str | uuid.UUID) -> bool:
    return RemovedFeedEntry.objects.filter(delivery__idempotency_key=key).exists()


@dataclass(frozen=True)
class FeedVersion:
    """What a conditional GET compares: an ETag over the entries and the time of the last change."""

    etag: str
    last_modified: dt.datetime | None


def feed_version(*, department: Department | None, variant: str, limit: int = FEED_SIZE) -> FeedVersion:
    """Returns the version of a feed from two small queries, without rendering it."""
    queryset = _published_on_feeds()
    removals = RemovedFeedEntry.objects.all()
    if department is not None:
        queryset = queryset.filter(channel__department=department)
        removals = removals.filter(delivery__channel__department=department)
    rows = list(queryset.order_by("-published_at", "-id").values_list("id", "published_at", "updated_at")[:limit])
    last_removed = removals.aggregate(latest=Max("removed_at"))["latest"]
    digest = hashlib.sha256(variant.encode())
    for delivery_id, published_at, updated_at in rows:
        assert published_at is not None  # nosec B101  # published_at__isnull=False above (type narrowing)
        digest.update(f"|{delivery_id}:{published_at.isoformat()}:{updated_at.isoformat()}".encode())
    digest.update(f"|removed:{last_removed.isoformat() if last_removed else ''}".encode())
    candidates = [published_at for _, published_at, _ in rows if published_at is not None]
    if last_removed is not None:
        candidates.append(last_removed)
    return FeedVersion(etag=digest.hexdigest()[:32], last_modified=max(candidates) if candidates else None)
