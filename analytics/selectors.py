"""Reads of analytics, with the permission check of the post or department they belong to."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.models import METRIC_FIELDS, FollowerSnapshot, MetricSnapshot, PaidReadUsage, RemoteRemoval, ShortLink
from analytics.services import month_start
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
