"""The calendar's two queries for posts: the channels (once) and the visible posts of a period with their
channels and a failed-delivery flag."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, F, OuterRef, TextField, Value
from django.db.models.functions import Cast

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
# than the query itself, on SQLite above all (each datetime is parsed from text). thread_parts: the chip
# says "Thread of 3 parts" (issue 17).
POST_COLUMNS = (
    "id",
    "department_id",
    "author_id",
    "text",
    "link",
    "due_at",
    "status",
    "current_approval_id",
)

# The per-channel versions and the thread's further parts (JSON), read as their text and decoded only for
# the posts a page draws: a month reads ~2,100 posts and draws ~200 lines (issue 18).
JSON_COLUMNS = {
    "channel_text_json": Cast("channel_text", TextField()),
    "thread_parts_json": Cast("thread_parts", TextField()),
}

# Who approved it, for the month's preview: the current approval's approver's names, joined in the same
# query as three plain columns, not as an approval and a user instance per scheduled post (issue 18).
APPROVER_COLUMNS = {
    "approver_first_name": F("current_approval__approved_by__first_name"),
    "approver_last_name": F("current_approval__approved_by__last_name"),
    "approver_email": F("current_approval__approved_by__email"),
}


DEPARTMENT_COLUMNS = ("id", "name", "time_zone")


class CalendarPost:
    """A post as the calendar reads it: the columns above as plain attributes, with its department and
    `calendar_channels`, `has_failure` (a channel failed or needs attention) and `is_emergency`. A row, not a
    model instance: a month reads ~2,100 posts and only shows them (issue 18); changes go through
    scheduler.services with the Post itself."""

    __slots__ = (
        *POST_COLUMNS,
        *JSON_COLUMNS,
        "_channel_text",
        "_thread_parts",
        "has_failure",
        "is_emergency",
        *APPROVER_COLUMNS,
        "language",
        "department",
        "calendar_channels",
    )
    # The row's columns in the order calendar_posts reads them (language last, when posts have one).
    ROW = (*POST_COLUMNS, *JSON_COLUMNS, "has_failure", "is_emergency", *APPROVER_COLUMNS)

    id: int
    department_id: int
    author_id: int
    text: str
    link: str
    due_at: dt.datetime
    status: str
    current_approval_id: int | None
    channel_text_json: str | None
    thread_parts_json: str | None
    has_failure: bool
    is_emergency: bool
    approver_first_name: str | None
    approver_last_name: str | None
    approver_email: str | None
    language: str | None
    department: Department
    calendar_channels: list[Channel]

    def __init__(self, row: tuple[Any, ...]) -> None:
        """`row`: the columns of ROW, then the language when posts have one."""
        (
            self.id,
            self.department_id,
            self.author_id,
            self.text,
            self.link,
            self.due_at,
            self.status,
            self.current_approval_id,
            self.channel_text_json,
            self.thread_parts_json,
            self.has_failure,
            self.is_emergency,
            self.approver_first_name,
            self.approver_last_name,
            self.approver_email,
            *language,
        ) = row
        self.language = language[0] if language else None
        self._channel_text: dict[str, str] | None = None
        self._thread_parts: list[str] | None = None

    @property
    def channel_text(self) -> dict[str, str]:
        """Each channel's own version of the text {channel id: text}, as Post.channel_text."""
        if self._channel_text is None:
            self._channel_text = json.loads(self.channel_text_json) if self.channel_text_json else {}
        return self._channel_text

    @property
    def thread_parts(self) -> list[str]:
        """The thread's parts after the first, as Post.thread_parts."""
        if self._thread_parts is None:
            self._thread_parts = json.loads(self.thread_parts_json) if self.thread_parts_json else []
        return self._thread_parts

    @property
    def pk(self) -> int:
        return self.id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CalendarPost | Post) and other.pk == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<CalendarPost {self.id}>"


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
) -> list[CalendarPost]:
    """Returns the visible posts due in [start, end) in time order, each with `calendar_channels` (a list)
    and `has_failure` (a channel failed or needs attention). Two queries, whatever the number of posts."""
    base = posts_visible_to(user=user).filter(due_at__gte=start, due_at__lt=end)
    if not with_cancelled:
        base = base.exclude(status=PostStatus.CANCELLED)
    failed = Delivery.objects.filter(
        post_id=OuterRef("pk"), status__in=(DeliveryStatus.FAILED, DeliveryStatus.NEEDS_ATTENTION)
    )
    if "is_emergency" not in base.query.annotations:  # nobody signed in: posts_visible_to is empty
        base = base.annotate(is_emergency=Value(False))
    names = (*CalendarPost.ROW, *(["language"] if post_has_language() else []))
    rows = (
        base.annotate(has_failure=Exists(failed), **JSON_COLUMNS, **APPROVER_COLUMNS)
        .order_by("due_at", "id")
        .values_list(*names)
    )
    # No joined department: a month shows thousands of posts of a handful of departments. Each post gets the
    # one instance of its department, taken from the channels already loaded (one query only for a
    # department with no channel).
    departments: dict[int, Department] = {c.department_id: c.department for c in channels.values()}
    posts = [CalendarPost(row) for row in rows]
    missing = {p.department_id for p in posts} - departments.keys()
    if missing:
        departments.update(Department.objects.only(*DEPARTMENT_COLUMNS).in_bulk(missing))
    for post in posts:
        post.department = departments[post.department_id]
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
