"""The calendar's two queries for posts: the channels (once) and the visible posts of a period with their
channels and a failed-delivery flag."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef

from scheduler.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Post,
    PostStatus,
)
from scheduler.selectors import posts_visible_to


def post_has_language() -> bool:
    """Posts get a language with issue 4 (multilingual posts); until then the filter is accepted and kept
    in the address and the saved filters, but narrows nothing."""
    return any(f.name == "language" for f in Post._meta.get_fields())


# Only what the calendar shows: loading every column (and the author) of thousands of posts costs more
# than the query itself, on SQLite above all (each datetime is parsed from text).
POST_COLUMNS = ("id", "department_id", "author_id", "text", "link", "due_at", "status", "channel_text")

# Who approved it, for the month's preview: the current approval's approver, joined in the same query.
APPROVAL_COLUMNS = (
    "current_approval",
    "current_approval__approved_by",
    "current_approval__approved_by__first_name",
    "current_approval__approved_by__last_name",
    "current_approval__approved_by__email",
)


DEPARTMENT_COLUMNS = ("department__id", "department__name", "department__time_zone")


def channels_by_id() -> dict[int, Channel]:
    """Every channel with its department, without the encrypted credentials (one query)."""
    channels = Channel.objects.select_related("department").defer("credentials", "options", "status_message")
    return {c.pk: c for c in channels.order_by("department__name", "display_name", "id")}


def calendar_posts(
    *,
    user: User | AnonymousUser,
    start: dt.datetime,
    end: dt.datetime,
    with_cancelled: bool,
    channels: dict[int, Channel],
) -> list[Post]:
    """Returns the visible posts due in [start, end) in time order, each with `calendar_channels` (a list)
    and `has_failure` (a channel failed or needs attention). Two queries, whatever the number of posts."""
    base = posts_visible_to(user=user).filter(due_at__gte=start, due_at__lt=end)
    if not with_cancelled:
        base = base.exclude(status=PostStatus.CANCELLED)
    failed = Delivery.objects.filter(
        post_id=OuterRef("pk"), status__in=(DeliveryStatus.FAILED, DeliveryStatus.NEEDS_ATTENTION)
    )
    # thread_parts: the chip says "Thread of 3 parts" (issue 17).
    columns = [
        *POST_COLUMNS,
        "thread_parts",
        *DEPARTMENT_COLUMNS,
        *APPROVAL_COLUMNS,
        *(["language"] if post_has_language() else []),
    ]
    posts: list[Post] = list(
        base.select_related("department", "current_approval__approved_by")
        .only(*columns)
        .annotate(has_failure=Exists(failed))
        .order_by("due_at", "id")
    )
    # The channels of these posts through a subquery (no list of thousands of ids as parameters).
    pairs = Post.channels.through.objects.filter(post_id__in=base.values("pk")).values_list("post_id", "channel_id")
    by_post: dict[int, list[Channel]] = defaultdict(list)
    for post_id, channel_id in pairs:
        channel = channels.get(channel_id)
        if channel is not None:
            by_post[post_id].append(channel)
    for post in posts:
        post.calendar_channels = sorted(by_post.get(post.pk, ()), key=lambda c: (c.display_name, c.pk))
    return posts
