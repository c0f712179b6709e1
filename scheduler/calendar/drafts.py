"""The calendar's side panel: drafts of the viewer's departments that are not on the page, to drag (or move
with the keyboard) onto a day. A draft is not scheduled (nothing goes out until it is approved); placing it on
a day gives it that date through the same reschedule endpoint and service as any move
(scheduler.calendar_services.post_reschedule: department membership, blackouts, a time in the future)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q

from civicpost.timelabels import clock_label, date_label, time_label
from departments.selectors import department_ids_for_user
from scheduler.models import Post, PostStatus

DRAFT_PANEL_LIMIT = 20


@dataclass
class PanelDraft:
    post: Post
    local_due: dt.datetime
    passed: bool  # its time has passed: it needs a new date before it can be sent for approval

    @property
    def input_date(self) -> str:
        return self.local_due.strftime("%Y-%m-%d")

    @property
    def input_time(self) -> str:
        return self.local_due.strftime("%H:%M")

    @property
    def time(self) -> str:
        return clock_label(self.local_due)

    @property
    def full_time(self) -> str:
        return f"{date_label(self.local_due)}, {time_label(self.local_due)}"


@dataclass
class DraftPanel:
    drafts: list[PanelDraft]
    more: bool  # there are more than the panel lists (the dashboard lists them all)


def calendar_drafts(
    *,
    user: User | AnonymousUser,
    start: dt.datetime,
    end: dt.datetime,
    zone: zoneinfo.ZoneInfo,
    now: dt.datetime,
    limit: int = DRAFT_PANEL_LIMIT,
) -> DraftPanel:
    """Returns the drafts of the user's own departments due outside [start, end) (those inside are on the
    grid already) in time order, so the ones whose time has passed come first. One query (memberships are cached)."""
    department_ids = department_ids_for_user(user=user)
    if not department_ids:
        return DraftPanel([], more=False)
    rows = list(
        Post.objects.filter(department_id__in=department_ids, status=PostStatus.DRAFT)
        .filter(Q(due_at__lt=start) | Q(due_at__gte=end))
        .select_related("department")
        .only("id", "text", "due_at", "status", "department_id", "department__id", "department__name")
        .order_by("due_at", "id")[: limit + 1]
    )
    drafts = [PanelDraft(post, post.due_at.astimezone(zone), post.due_at <= now) for post in rows[:limit]]
    return DraftPanel(drafts, more=len(rows) > limit)
