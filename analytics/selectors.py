"""Reads of analytics, with the permission check of the post or department they belong to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, Prefetch, QuerySet
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.figures import WEEKDAYS, latest_snapshots, min_sample
from analytics.models import METRIC_FIELDS, FollowerSnapshot, MetricSnapshot, PaidReadUsage, RemoteRemoval, ShortLink
from analytics.services import month_start
from departments.models import Department
from departments.selectors import department_ids_for_user, memberships_for_user, user_sees_every_department
from scheduler.adapters.registry import get_adapter_class
from scheduler.models import Delivery, DeliveryStatus, Post
from scheduler.selectors import post_get_for_user

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


METRIC_LABELS = {
    "views": _("Views"),
    "likes": _("Likes"),
    "shares": _("Shares"),
    "replies": _("Replies"),
    "quotes": _("Quotes"),
    "clicks": _("Clicks (platform)"),
}


@dataclass
class FigureRow:
    """One snapshot as shown: each metric's value, or None for "not reported"."""

    age: str
    taken_at: dt.datetime
    # (label, value) per metric; value None: the platform does not report it.
    cells: list[tuple[str, int | None]]
    link_clicks: int | None


@dataclass
class ChannelFigures:
    delivery: Delivery
    rows: list[FigureRow] = field(default_factory=list)
    removal: RemoteRemoval | None = None
    link_clicks_now: int | None = None
    # The channel's latest follower count (None: none read yet, or the platform reports none).
    followers: int | None = None


@dataclass
class PaidBudget:
    platform_label: str
    used: int
    limit: int

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)


@dataclass
class PostFigures:
    post: Post
    metric_labels: list[str]
    channels: list[ChannelFigures]
    budgets: list[PaidBudget]


def post_figures_for_user(*, user: User | AnonymousUser, post_id: int, now: dt.datetime | None = None) -> PostFigures:
    """Each published delivery's snapshots (youngest age first), its removal and short-link clicks, and the
    department's paid-read budgets of the platforms involved. Raises Http404 when the user may not see the
    post. A fixed number of queries whatever the number of deliveries and snapshots."""
    post = post_get_for_user(user=user, post_id=post_id)
    now = now or timezone.now()
    deliveries = list(
        Delivery.objects.filter(post=post, status=DeliveryStatus.PUBLISHED)
        .select_related("channel", "remote_removal")
        .prefetch_related(
            Prefetch("metric_snapshots", queryset=MetricSnapshot.objects.order_by("age_seconds")),
            Prefetch("short_links", queryset=ShortLink.objects.only("delivery_id", "clicks")),
        )
        .order_by("channel__display_name", "pk")
    )
    followers = _latest_followers(channel_ids={delivery.channel_id for delivery in deliveries})
    channels = []
    for delivery in deliveries:
        links = list(delivery.short_links.all())
        channels.append(
            ChannelFigures(
                delivery=delivery,
                rows=[
                    FigureRow(
                        age=snapshot.age,
                        taken_at=snapshot.taken_at,
                        cells=[(str(METRIC_LABELS[name]), getattr(snapshot, name)) for name in METRIC_FIELDS],
                        link_clicks=snapshot.link_clicks,
                    )
                    for snapshot in delivery.metric_snapshots.all()
                ],
                removal=getattr(delivery, "remote_removal", None),
                link_clicks_now=sum(link.clicks for link in links) if links else None,
                followers=followers.get(delivery.channel_id),
            )
        )
    paid_platforms = sorted({d.channel.platform for d in deliveries if _reads_are_paid(d.channel.platform)})
    budgets = []
    if paid_platforms:
        used = dict(
            PaidReadUsage.objects.filter(
                department_id=post.department_id, platform__in=paid_platforms, month=month_start(now)
            ).values_list("platform", "requests")
        )
        budgets = [
            PaidBudget(
                platform_label=get_adapter_class(platform).label,
                used=used.get(platform, 0),
                limit=settings.CIVICPOST_X_MONTHLY_READ_BUDGET,
            )
            for platform in paid_platforms
        ]
    return PostFigures(
        post=post,
        metric_labels=[str(METRIC_LABELS[name]) for name in METRIC_FIELDS],
        channels=channels,
        budgets=budgets,
    )


def _latest_followers(*, channel_ids: set[int]) -> dict[int, int]:
    """Each channel's latest reported follower count, in one query."""
    if not channel_ids:
        return {}
    rows = (
        FollowerSnapshot.objects.filter(channel_id__in=channel_ids, followers__isnull=False)
        .order_by("channel_id", "-day")
        .values_list("channel_id", "followers")
    )
    latest: dict[int, int] = {}
    for channel_id, count in rows:
        if count is not None:
            latest.setdefault(channel_id, count)
    return latest


def _reads_are_paid(platform: str) -> bool:
    try:
        return get_adapter_class(platform).metrics_reads_are_paid
    except Exception:  # noqa: BLE001 - a platform no longer installed has no budget to show
        return False


def short_link_target(*, code: str) -> str | None:
    """The target of a short link (one indexed query), or None."""
    return ShortLink.objects.filter(code=code).values_list("target_url", flat=True).first()


# --- Department and city figures ------------------------------------------------------------------


def department_get_for_figures(*, user: User | AnonymousUser, department_id: int) -> Department:
    """Returns the department whose figures the user may read: its members, communications managers and
    viewers. Raises Http404 for anyone else (they may not learn of it)."""
    department = Department.objects.filter(pk=department_id).first()
    if department is None or not (
        department_id in department_ids_for_user(user=user) or user_sees_every_department(user=user)
    ):
        raise Http404("No such department.")
    return department


def city_figures_check(*, user: User | AnonymousUser) -> None:
    """The city-wide figures are for communications managers and viewers. Raises PermissionDenied."""
    if not user_sees_every_department(user=user):
        raise PermissionDenied("Only communications managers and viewers read the city's figures.")


def departments_with_figures_for_user(*, user: User | AnonymousUser) -> list[Department]:
    """The departments whose figures the user may open (for the navigation)."""
    if user_sees_every_department(user=user):
        return list(Department.objects.order_by("name"))
    return [m.department for m in memberships_for_user(user=user)]


# --- Best time to post -------------------------------------------------------------------------------

BEST_TIME_HISTORY = dt.timedelta(days=180)


@dataclass
class TimeSlot:
    label: str
    rate: float
    n: int


@dataclass
class BestTimes:
    """The hours (and days) whose posts drew the most engagement per follower, from `source`: "department" (its
    own history), "city" (too little of its own: the whole city's), or "" (too little history anywhere)."""

    source: str
    hours: list[TimeSlot]
    weekdays: list[TimeSlot]
    sample: int
    minimum: int
    zone_name: str

    @property
    def suggested(self) -> TimeSlot | None:
        return self.hours[0] if self.hours else None


def _slots(snapshots: QuerySet[Any], expression: Any, label: Callable[[int], str], minimum: int) -> list[TimeSlot]:
    rows = (
        snapshots.filter(rate__isnull=False)
        .annotate(slot=expression)
        .values("slot")
        .annotate(rate_avg=Avg("rate"), n=Count("pk"))
        .filter(n__gte=minimum)
        .order_by("-rate_avg", "slot")
    )
    return [TimeSlot(label=label(row["slot"]), rate=row["rate_avg"], n=row["n"]) for row in rows[:3]]


def best_times_for_department(*, department: Department, now: dt.datetime | None = None) -> BestTimes:
    """The best hours and weekdays to post for this department, in its time zone: from its own last 180 days
    when at least one hour has the minimum sample (CIVICPOST_ANALYTICS_MIN_SAMPLE) of posts with follower
    counts, else from the whole city's, saying so. Four queries at most."""
    now = now or timezone.now()
    minimum = min_sample()
    zone = department.zone
    hour = ExtractHour("delivery__published_at", tzinfo=zone)
    weekday = ExtractIsoWeekDay("delivery__published_at", tzinfo=zone)
    for source, ids in (("department", [department.pk]), ("city", None)):
        snapshots = latest_snapshots(department_ids=ids, start=now - BEST_TIME_HISTORY, end=now)
        hours = _slots(snapshots, hour, lambda value: f"{int(value):02d}:00", minimum)
        if hours:
            weekdays = _slots(snapshots, weekday, lambda value: str(WEEKDAYS[int(value) - 1]), minimum)
            return BestTimes(
                source=source,
                hours=hours,
                weekdays=weekdays,
                sample=sum(slot.n for slot in hours),
                minimum=minimum,
                zone_name=department.time_zone,
            )
    return BestTimes(source="", hours=[], weekdays=[], sample=0, minimum=minimum, zone_name=department.time_zone)
