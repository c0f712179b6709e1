"""The calendar's two queries for posts: the channels (once) and the visible posts of a period with their
channels and a failed-delivery flag."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, F, OuterRef

from departments.models import Department
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

# Who approved it, for the month's preview: the current approval's approver's names, joined in the same
# query as three plain columns (`approver_first_name`, ...), not as an approval and a user instance per
# scheduled post (issue 18).
APPROVER_COLUMNS = {
    "approver_first_name": F("current_approval__approved_by__first_name"),
    "approver_last_name": F("current_approval__approved_by__last_name"),
    "approver_email": F("current_approval__approved_by__email"),
}


DEPARTMENT_COLUMNS = ("id", "name", "time_zone")


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
    columns = [*POST_COLUMNS, "thread_parts", "current_approval_id", *(["language"] if post_has_language() else [])]
    # No select_related("department"): a month shows thousands of posts of a handful of departments, and
    # a joined department is a model instance per post (issue 18). Each post gets the one instance of its
    # department, taken from the channels already loaded (one query only for a department with no channel).
    # Who approved it (the month's preview) is joined in the same query.
    posts: list[Post] = list(
        base.only(*columns).annotate(has_failure=Exists(failed), **APPROVER_COLUMNS).order_by("due_at", "id")
    )
    departments: dict[int, Department] = {c.department_id: c.department for c in channels.values()}
    missing = {p.department_id for p in posts} - departments.keys()
    if missing:
        departments.update(Department.objects.only(*DEPARTMENT_COLUMNS).in_bulk(missing))
    cache_department = Post.department.field.set_cached_value
    for post in posts:
        cache_department(post, departments[post.department_id])
    # The channels of these posts through a subquery (no list of thousands of ids as parameters), each
    # post's in the order of their names: ranked once, not sorted by a Python key per post.
    rank = {channel.id: i for i, channel in enumerate(sorted(channels.values(), key=lambda c: (c.display_name, c.id)))}
    pairs = sorted(
        (
            (post_id, rank[channel_id], channel_id)
            for post_id, channel_id in Post.channels.through.objects.filter(post_id__in=base.values("pk")).values_list(
                "post_id", "channel_id"
            )
            if channel_id in rank
        )
    )
    by_post: dict[int, list[Channel]] = defaultdict(list)
    for post_id, _rank, channel_id in pairs:
        by_post[post_id].append(channels[channel_id])
    for post in posts:
        post.calendar_channels = by_post.get(post.id, [])
    return posts
