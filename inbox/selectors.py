"""Reads of the inbox, with the permission check where a person reads (inbox.rules), and the feed the records
archive pulls (`archive_items_after`, `moderation_actions_after`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from departments.models import Department
from inbox.models import (
    OPEN_STATUSES,
    InboxItem,
    InboxSettings,
    ItemStatus,
    ModerationAction,
    PolicyClause,
    SavedReply,
)
from inbox.rules import can_manage_inbox_settings, inbox_department_ids
from scheduler.selectors import post_get_for_user

AnyUser = User | AnonymousUser

PAGE_SIZE = 50
DEFAULT_RESPONSE_TARGET_HOURS = 24


def inbox_settings_for(department: Department) -> InboxSettings:
    """The department's settings, or unsaved defaults when it has none yet."""
    found = InboxSettings.objects.filter(department=department).first()
    return found if found is not None else InboxSettings(department=department)


def _visible_items(user: AnyUser) -> QuerySet[InboxItem]:
    ids = inbox_department_ids(user)
    items = InboxItem.objects.all()
    return items if ids is None else items.filter(department_id__in=ids)


@dataclass
class InboxFilters:
    status: str = ""  # "" : open (new + assigned); or an ItemStatus; "all"
    department_id: int | None = None
    channel_id: int | None = None
    assigned_to_me: bool = False
    urgent: bool = False
    overdue: bool = False
    search: str = ""


@dataclass
class InboxPage:
    items: list[InboxItem]
    counts: dict[str, int]
    has_next: bool
    page: int


def _overdue_q(now: dt.datetime) -> Q:
    """Open items older than their department's response target (departments without settings: 24 hours)."""
    default_cutoff = now - dt.timedelta(hours=DEFAULT_RESPONSE_TARGET_HOURS)
    q = Q(department__inbox_settings__isnull=True, created_at__lt=default_cutoff)
    for hours in InboxSettings.objects.values_list("response_target_hours", flat=True).distinct():
        q |= Q(department__inbox_settings__response_target_hours=hours, created_at__lt=now - dt.timedelta(hours=hours))
    return Q(status__in=OPEN_STATUSES) & q


def inbox_page(*, user: AnyUser, filters: InboxFilters, page: int = 1, now: dt.datetime | None = None) -> InboxPage:
    """One page of the inbox as the user may see it (their departments; communications managers: all), newest
    first, with the counts per status of the same scope and filters (but any status). A fixed number of queries,
    whatever the number of items. Raises Http404 for a department filter the user may not see."""
    now = now or timezone.now()
    scope = _visible_items(user)
    if filters.department_id is not None:
        ids = inbox_department_ids(user)
        if ids is not None and filters.department_id not in ids:
            raise Http404("No such inbox.")
        scope = scope.filter(department_id=filters.department_id)
    if filters.channel_id is not None:
        scope = scope.filter(channel_id=filters.channel_id)
    if filters.assigned_to_me and user.is_authenticated:
        scope = scope.filter(assigned_to=user)
    if filters.urgent:
        scope = scope.filter(urgent=True)
    if filters.overdue:
        scope = scope.filter(_overdue_q(now))
    if filters.search:
        scope = scope.filter(Q(text__icontains=filters.search) | Q(author_handle__icontains=filters.search))
    counts = dict.fromkeys(ItemStatus.values, 0)
    for row in scope.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    if filters.status == "all":
        shown = scope
    elif filters.status in ItemStatus.values:
        shown = scope.filter(status=filters.status)
    else:
        shown = scope.filter(status__in=OPEN_STATUSES)
    page = max(1, page)
    start = (page - 1) * PAGE_SIZE
    rows = list(
        shown.select_related(
            "channel", "department", "department__inbox_settings", "assigned_to", "delivery__post"
        ).order_by("-created_at", "-id")[start : start + PAGE_SIZE + 1]
    )
    for item in rows:
        item.is_overdue = _is_overdue(item, now)  # type: ignore[attr-defined]
    return InboxPage(items=rows[:PAGE_SIZE], counts=counts, has_next=len(rows) > PAGE_SIZE, page=page)


def _is_overdue(item: InboxItem, now: dt.datetime) -> bool:
    if item.status not in OPEN_STATUSES:
        return False
    settings_row = getattr(item.department, "inbox_settings", None)
    hours = settings_row.response_target_hours if settings_row else DEFAULT_RESPONSE_TARGET_HOURS
    return item.created_at < now - dt.timedelta(hours=hours)


def item_get_for_user(*, user: AnyUser, item_id: int) -> InboxItem:
    """The item, if the user works its department's inbox. Raises Http404 otherwise (not theirs to know)."""
    item = (
        _visible_items(user)
        .select_related("channel", "department", "assigned_to", "delivery__post")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise Http404("No such item.")
    item.is_overdue = _is_overdue(item, timezone.now())  # type: ignore[attr-defined]
    return item


def item_thread(item: InboxItem) -> dict[str, Any]:
    """What the item page shows besides the item: notes, replies (with their publishing status), moderation."""
    return {
        "notes": list(item.notes.select_related("author")),
        "replies": list(item.replies.select_related("post", "author").prefetch_related("post__deliveries")),
        "moderation": list(item.moderation_actions.select_related("actor", "clause")),
    }


def department_get_for_inbox_settings(*, user: AnyUser, department_id: int) -> Department:
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        raise Http404("No such department.")
    ids = inbox_department_ids(user)
    if ids is not None and department_id not in ids:
        raise Http404("No such department.")
    if not can_manage_inbox_settings(user, department_id):
        raise PermissionDenied("Only the department's admins or a communications manager change its inbox settings.")
    return department


def active_clauses() -> list[PolicyClause]:
    return list(PolicyClause.objects.filter(active=True))


def saved_replies_for(department_id: int) -> list[SavedReply]:
    return list(SavedReply.objects.filter(department_id=department_id))


def post_conversation_for_user(*, user: AnyUser, post_id: int) -> dict[str, Any]:
    """What residents said under one post and what was done about it, for the post page. Raises Http404 when the
    user may not see the post."""
    post = post_get_for_user(user=user, post_id=post_id)
    items = list(
        InboxItem.objects.filter(delivery__post=post)
        .select_related("channel")
        .prefetch_related("replies__post", "moderation_actions__actor")
        .order_by("created_at", "id")
    )
    return {"post": post, "items": items}


# --- The records archive (app `archive`, above this one) pulls from here -------------------------------------


def archive_items_after(after_id: int, limit: int) -> list[dict[str, Any]]:
    """Captured items with an id above `after_id`, in id order, at most `limit`: each as a plain dict (ids, channel
    and department ids, the delivery and post it answers, author handle and profile, text, media, the platform's
    time, when it was captured, and the platform's raw answer). The archive keeps the last id it stored and asks
    again from there; items are never deleted, so nothing is skipped."""
    rows = (
        InboxItem.objects.filter(pk__gt=after_id).select_related("channel", "delivery").order_by("pk")[: max(0, limit)]
    )
    return [
        {
            "id": item.pk,
            "channel_id": item.channel_id,
            "platform": item.channel.platform,
            "department_id": item.department_id,
            "remote_id": item.remote_id,
            "kind": item.kind,
            "delivery_id": item.delivery_id,
            "post_id": item.delivery.post_id if item.delivery else None,
            "in_reply_to_remote_id": item.in_reply_to_remote_id,
            "author_handle": item.author_handle,
            "author_name": item.author_name,
            "author_profile_url": item.author_profile_url,
            "permalink": item.permalink,
            "text": item.text,
            "media": item.media,
            "created_at": item.created_at.isoformat(),
            "captured_at": item.captured_at.isoformat(),
            "raw": item.raw,
        }
        for item in rows
    ]


def moderation_actions_after(after_id: int, limit: int) -> list[dict[str, Any]]:
    """Moderation actions with an id above `after_id`, in id order, at most `limit`, each as a plain dict: the
    item, action, the policy clause cited (number and words as they were), the note, who and when, the outcome,
    and `snapshot`, the item exactly as it was before the action. Actions still `pending` (the platform not yet
    answered) are included with that outcome; their outcome is final once it is `done` or `failed`."""
    rows = ModerationAction.objects.filter(pk__gt=after_id).select_related("actor").order_by("pk")[: max(0, limit)]
    return [
        {
            "id": action.pk,
            "item_id": action.item_id,
            "action": action.action,
            "clause_id": action.clause_id,
            "clause_number": action.clause_number,
            "clause_text": action.clause_text,
            "note": action.note,
            "actor": action.actor.get_username(),
            "created_at": action.created_at.isoformat(),
            "outcome": action.outcome,
            "failure_message": action.failure_message,
            "undoes_id": action.undoes_id,
            "snapshot": action.snapshot,
        }
        for action in rows
    ]
