"""Reads of posting slots, the queue and evergreen posts, with their permission checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from departments.models import Department
from departments.selectors import memberships_for_user, user_can_edit_for, user_is_department_admin
from postqueue.models import EvergreenPost, PostingSlot, QueueEntry
from scheduler.models import Channel, Post, PostStatus

WAITING_STATUSES = (PostStatus.DRAFT, PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED, PostStatus.APPROVED)


def occupied_instants(
    *, department: Department, start: dt.datetime, end: dt.datetime, exclude_post_id: int | None = None
) -> set[tuple[int, dt.datetime]]:
    """(channel id, instant) of the department's posts between start and end that are not cancelled."""
    rows = Post.channels.through.objects.filter(
        post__department=department, post__due_at__gt=start, post__due_at__lte=end
    ).exclude(post__status=PostStatus.CANCELLED)
    if exclude_post_id is not None:
        rows = rows.exclude(post_id=exclude_post_id)
    return {(channel_id, due_at) for channel_id, due_at in rows.values_list("channel_id", "post__due_at")}


def queue_entries(*, department_id: int) -> QuerySet[QueueEntry]:
    """The department's queue: entries whose post is still to go out, earliest first."""
    return (
        QueueEntry.objects.filter(
            department_id=department_id, post__status__in=WAITING_STATUSES, post__due_at__gt=timezone.now()
        )
        .select_related("post", "slot__channel", "repeats")
        .prefetch_related("post__channels")
        .order_by("post__due_at", "pk")
    )


def queue_departments_for_user(*, user: Any) -> list[Department]:
    """The departments whose queue the person sees: those they are a member of."""
    return [m.department for m in memberships_for_user(user=user)]


def queue_entry_get_for_editing(*, user: Any, entry_id: int) -> QueueEntry:
    """Raises Http404 for an unknown entry or one of a department the person is not a member of."""
    entry = QueueEntry.objects.select_related("post", "department").filter(pk=entry_id).first()
    if entry is None or not user_can_edit_for(user=user, department_id=entry.department_id):
        raise Http404
    return entry


def department_get_for_slots(*, user: Any, department_id: int) -> Department:
    """The department whose slots the person manages: 404 for a stranger, 403 for a member who is no admin."""
    department = Department.objects.filter(pk=department_id).first()
    if department is None or not user_can_edit_for(user=user, department_id=department_id):
        raise Http404
    if not user_is_department_admin(user=user, department_id=department_id):
        raise PermissionDenied
    return department


def slots_for_department(*, department: Department) -> QuerySet[PostingSlot]:
    return PostingSlot.objects.filter(department=department).select_related("channel")


def slot_channels(*, department: Department) -> QuerySet[Channel]:
    return Channel.objects.filter(department=department).order_by("display_name")


def slot_get_for_admin(*, user: Any, slot_id: int) -> PostingSlot:
    slot = PostingSlot.objects.filter(pk=slot_id).first()
    if slot is None or not user_is_department_admin(user=user, department_id=slot.department_id):
        raise Http404
    return slot


def evergreen_for_department(*, department_id: int) -> QuerySet[EvergreenPost]:
    return EvergreenPost.objects.filter(department_id=department_id, is_active=True).select_related("post")


def evergreen_for_post(*, post: Post) -> EvergreenPost | None:
    return EvergreenPost.objects.filter(post=post).first()
