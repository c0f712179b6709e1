"""How the calendar names a post's state: its status, or "failed" when a channel failed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy

from scheduler.models import (
    Post,
    PostStatus,
)

if TYPE_CHECKING:
    from scheduler.calendar.posts import CalendarPost

FAILED = "failed"


CALENDAR_STATUSES: tuple[tuple[str, Any], ...] = (
    (PostStatus.DRAFT, gettext_lazy("Draft")),
    (PostStatus.SUBMITTED, gettext_lazy("Waiting for approval")),
    (PostStatus.CHANGES_REQUESTED, gettext_lazy("Changes requested")),
    (PostStatus.APPROVED, gettext_lazy("Approved and scheduled")),
    (PostStatus.PUBLISHED, gettext_lazy("Published")),
    (FAILED, gettext_lazy("Failed on a channel")),
    (PostStatus.CANCELLED, gettext_lazy("Cancelled")),
)


STATUS_LABELS = dict(CALENDAR_STATUSES)


EDITABLE_STATUSES = (PostStatus.DRAFT, PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED, PostStatus.APPROVED)


def calendar_status(post: Post | CalendarPost) -> str:
    """Returns the calendar status key: the post's status, or "failed" when a channel failed."""
    if post.status in (PostStatus.APPROVED, PostStatus.PUBLISHED) and getattr(post, "has_failure", False):
        return FAILED
    return post.status
