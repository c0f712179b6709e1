"""Quiet channels: channels the viewer looks after with nothing approved or waiting in the next days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from departments.selectors import (
    department_ids_for_user,
    user_approves_everywhere,
)
from scheduler.models import (
    Channel,
    ChannelStatus,
    Delivery,
    DeliveryStatus,
    Post,
    PostStatus,
)

if TYPE_CHECKING:
    from scheduler.calendar.filters import CalendarFilters


def default_quiet_days() -> int:
    return int(getattr(settings, "CIVICPOST_CALENDAR_QUIET_DAYS", 7))


MAX_QUIET_DAYS = 90


@dataclass
class QuietChannel:
    channel: Channel
    last_published_at: dt.datetime | None


def quiet_channels(
    *,
    user: User | AnonymousUser,
    days: int | None = None,
    filters: CalendarFilters | None = None,
    now: dt.datetime | None = None,
) -> list[QuietChannel]:
    """Channels the viewer looks after (their departments'; every one for the communications team) with
    nothing approved or waiting for approval in the next `days` days. One query."""
    now = now or timezone.now()
    days = min(max(days or default_quiet_days(), 1), MAX_QUIET_DAYS)
    channels = Channel.objects.exclude(status=ChannelStatus.DISABLED).defer("credentials", "options")
    if not user_approves_everywhere(user=user):
        channels = channels.filter(department_id__in=department_ids_for_user(user=user))
    if filters is not None:
        if filters.departments:
            channels = channels.filter(department_id__in=filters.departments)
        if filters.channels:
            channels = channels.filter(pk__in=filters.channels)
        if filters.platforms:
            channels = channels.filter(platform__in=filters.platforms)
    upcoming = Post.channels.through.objects.filter(
        channel_id=OuterRef("pk"),
        post__status__in=(PostStatus.SUBMITTED, PostStatus.APPROVED),
        post__due_at__gte=now,
        post__due_at__lt=now + dt.timedelta(days=days),
    )
    last_published = (
        Delivery.objects.filter(channel_id=OuterRef("pk"), status=DeliveryStatus.PUBLISHED)
        .order_by("-published_at")
        .values("published_at")[:1]
    )
    rows = (
        channels.annotate(has_upcoming=Exists(upcoming), last_published_at=Subquery(last_published))
        .filter(has_upcoming=False)
        .select_related("department")
        .order_by("department__name", "display_name", "id")
    )
    return [QuietChannel(channel=row, last_published_at=row.last_published_at) for row in rows]
