"""The department and city analytics: what went out over a period and how it did, aggregated in SQL.

Each published delivery counts with its latest snapshot (the oldest age read so far). Engagement is the sum
of the interactions the platform reports (likes, reposts/shares, replies, quotes; a metric the platform does
not report adds nothing, it is never taken for 0 in an average of its own). Engagement per 1,000 followers
divides a delivery's engagement by its channel's latest follower count, so that a large Facebook page and
a small Bluesky account compare fairly; deliveries of channels whose platform reports no follower count are
left out of that figure, and every figure says how many deliveries it rests on.

A fixed number of queries whatever the number of deliveries and snapshots (tests/analytics/test_figures.py)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, ExtractHour, ExtractIsoWeekDay, NullIf
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.models import FollowerSnapshot, MetricSnapshot
from civicpost.languages import language_name
from medialibrary.models import MediaKind, PostMedia
from scheduler.adapters.registry import get_adapter_class
from scheduler.models import Channel, Delivery, DeliveryStatus

WEEKDAYS = (
    gettext_lazy("Monday"),
    gettext_lazy("Tuesday"),
    gettext_lazy("Wednesday"),
    gettext_lazy("Thursday"),
    gettext_lazy("Friday"),
    gettext_lazy("Saturday"),
    gettext_lazy("Sunday"),
)

# Posts that did this much better (or worse) than the average are named as a finding.
NOTABLE_RATIO = 1.2


def min_sample() -> int:
    return max(1, settings.CIVICPOST_ANALYTICS_MIN_SAMPLE)


def platform_label(platform: str) -> str:
    try:
        return str(get_adapter_class(platform).label)
    except Exception:  # noqa: BLE001 - a platform no longer installed keeps its name
        return platform


# --- SQL expressions --------------------------------------------------------------------------------

ENGAGEMENT = Coalesce(F("likes"), 0) + Coalesce(F("shares"), 0) + Coalesce(F("replies"), 0) + Coalesce(F("quotes"), 0)


def _latest_followers(channel_ref: str) -> Subquery:
    return Subquery(
        FollowerSnapshot.objects.filter(channel_id=OuterRef(channel_ref), followers__isnull=False)
        .order_by("-day")
        .values("followers")[:1],
        output_field=IntegerField(),
    )


def latest_snapshots(
    *, department_ids: list[int] | None, start: dt.datetime, end: dt.datetime
) -> QuerySet[MetricSnapshot]:
    """The latest snapshot of each delivery published in [start, end) (of these departments; None: all),
    annotated with `engagement`, `followers` (the channel's latest count) and `rate` (engagement per 1,000
    followers, null without a follower count)."""
    # The latest snapshot of each delivery is the one its LatestMetricSnapshot points at (kept by the
    # collector): a join, not a correlated "latest per delivery" subquery over every snapshot (issue 18).
    snapshots = MetricSnapshot.objects.filter(
        delivery__status=DeliveryStatus.PUBLISHED,
        delivery__published_at__gte=start,
        delivery__published_at__lt=end,
        latest_of__delivery_id=F("delivery_id"),  # the same row; lets PostgreSQL go delivery -> latest -> snapshot
    )
    if department_ids is not None:
        snapshots = snapshots.filter(delivery__post__department_id__in=department_ids)
    return snapshots.annotate(
        engagement=ENGAGEMENT,
        followers=_latest_followers("delivery__channel_id"),
    ).annotate(
        rate=Cast(F("engagement"), FloatField()) * 1000.0 / Cast(NullIf(F("followers"), 0), FloatField()),
    )


def _published(*, department_ids: list[int] | None, start: dt.datetime, end: dt.datetime) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.filter(status=DeliveryStatus.PUBLISHED, published_at__gte=start, published_at__lt=end)
    if department_ids is not None:
        deliveries = deliveries.filter(post__department_id__in=department_ids)
    return deliveries


# Aggregate aliases differ from the annotations they read (Django refuses an aggregate named like its input).
_FIGURES = {
    "agg_with_figures": Count("pk"),
    "agg_posts": Count("delivery__post_id", distinct=True),
    "agg_views": Sum("views"),
    "agg_views_n": Count("views"),
    "agg_engagement": Sum("engagement"),
    "agg_average_engagement": Avg("engagement"),
    "agg_rate": Avg("rate"),
    "agg_rate_n": Count("rate"),
    "agg_link_clicks": Sum("link_clicks"),
}


# --- What the pages show ----------------------------------------------------------------------------


@dataclass
class Figures:
    """Aggregates over some deliveries. `with_figures`: deliveries with at least one snapshot; `rate_n`: those
    whose channel reports followers (the sample of `rate`); `views_n`: those whose platform reports views."""

    label: str = ""
    key: Any = None
    deliveries: int = 0
    posts: int = 0  # distinct posts (of all published deliveries where known, else of those with figures)
    with_figures: int = 0
    views: int | None = None
    views_n: int = 0
    engagement: int = 0
    average_engagement: float | None = None
    rate: float | None = None
    rate_n: int = 0
    link_clicks: int | None = None
    followers: int | None = None
    platform: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any], **extra: Any) -> Figures:
        values: dict[str, Any] = {name.removeprefix("agg_"): row.get(name) for name in _FIGURES}
        for name in ("with_figures", "posts", "views_n", "engagement", "rate_n"):
            values[name] = values[name] or 0
        values["deliveries"] = values["with_figures"]
        values.update(extra)  # counts of all published deliveries (with figures or not) where known
        return cls(**values)

    @property
    def enough(self) -> bool:
        return self.rate_n >= min_sample()


@dataclass
class FactorGroup:
    """Deliveries sharing one value of a factor (with an image, on a Tuesday...), compared with the average."""

    label: str
    figures: Figures
    ratio: float | None = None  # its engagement per follower over the average of all deliveries
    phrase: str = ""  # "Posts with an image", "Posts on Tuesday"...

    @property
    def enough(self) -> bool:
        return self.figures.enough

    @property
    def verdict(self) -> str:
        if not self.enough:
            return _("Too few posts to tell (fewer than %(minimum)s with follower counts).") % {"minimum": min_sample()}
        if self.ratio is None:
            return ""
        percent = round(abs(self.ratio - 1) * 100)
        if percent == 0:
            return _("About average.")
        if self.ratio > 1:
            return _("%(percent)s%% more engagement per follower than the average.") % {"percent": percent}
        return _("%(percent)s%% less engagement per follower than the average.") % {"percent": percent}


@dataclass
class Factor:
    key: str
    label: str
    groups: list[FactorGroup]


@dataclass
class TopPost:
    post_id: int
    text: str
    channel: str
    platform: str
    published_at: dt.datetime
    engagement: int
    views: int | None
    rate: float | None
    permalink: str


@dataclass
class Report:
    start: dt.datetime
    end: dt.datetime
    zone: zoneinfo.ZoneInfo
    minimum: int
    totals: Figures
    platforms: list[Figures]
    channels: list[Figures]
    top_posts: list[TopPost]
    factors: list[Factor]
    departments: list[Figures] = field(default_factory=list)

    @property
    def findings(self) -> list[str]:
        """Plain sentences about what worked, only from groups with enough posts."""
        found = []
        for factor in self.factors:
            for group in factor.groups:
                if (
                    group.enough
                    and group.ratio is not None
                    and (group.ratio >= NOTABLE_RATIO or group.ratio <= 1 / NOTABLE_RATIO)
                ):
                    found.append(
                        _("%(posts)s: %(verdict)s (n=%(n)s)")
                        % {"posts": group.phrase, "verdict": group.verdict, "n": group.figures.rate_n}
                    )
        return found


def _factor_expressions(zone: zoneinfo.ZoneInfo) -> list[tuple[str, str, Any]]:
    has_image = Exists(PostMedia.objects.filter(post_id=OuterRef("delivery__post_id"), asset__kind=MediaKind.IMAGE))
    has_link = Case(
        When(Q(delivery__post__link__gt="") | Q(delivery__post__text__contains="http"), then=Value(True)),  # noqa: S608
        default=Value(False),
        output_field=BooleanField(),
    )
    language = Coalesce(
        NullIf(F("delivery__language"), Value("")), F("delivery__post__language"), output_field=CharField()
    )
    return [
        ("image", _("Image"), has_image),
        ("link", _("Link"), has_link),
        ("language", _("Language"), language),
        ("weekday", _("Day of the week"), ExtractIsoWeekDay("delivery__published_at", tzinfo=zone)),
        ("hour", _("Hour"), ExtractHour("delivery__published_at", tzinfo=zone)),
    ]


def _factor_label(key: str, value: Any) -> str:
    if key in ("image", "link"):
        word = _("with an image") if key == "image" else _("with a link")
        return word if value else (_("without an image") if key == "image" else _("without a link"))
    if key == "language":
        return language_name(value or "")
    if key == "weekday":
        return str(WEEKDAYS[int(value) - 1])
    return f"{int(value):02d}:00"


def _factor_phrase(key: str, label: str) -> str:
    if key == "language":
        return _("Posts in %(language)s") % {"language": label}
    if key == "weekday":
        return _("Posts on %(day)s") % {"day": label}
    if key == "hour":
        return _("Posts at %(hour)s") % {"hour": label}
    return _("Posts %(what)s") % {"what": label}


def report_build(
    *,
    department_ids: list[int] | None,
    start: dt.datetime,
    end: dt.datetime,
    zone: zoneinfo.ZoneInfo,
    by_department: bool = False,
    top: int = 10,
) -> Report:
    """The figures of deliveries published in [start, end) by these departments (None: the whole city), each
    figure with its sample size. Weekday and hour are in `zone`. A fixed number of queries: 10, or 11 with
    `by_department`."""
    snapshots = latest_snapshots(department_ids=department_ids, start=start, end=end)
    published = _published(department_ids=department_ids, start=start, end=end)

    counts = published.aggregate(deliveries=Count("pk"), posts=Count("post_id", distinct=True))
    totals = Figures.from_row(snapshots.aggregate(**_FIGURES), label=_("All channels"), **counts)
    average = totals.rate

    per_channel_posts = {
        row["channel_id"]: row
        for row in published.values("channel_id").annotate(
            deliveries=Count("pk"), posts=Count("post_id", distinct=True)
        )
    }
    channel_rows = {
        row["delivery__channel_id"]: row
        for row in snapshots.values("delivery__channel_id").annotate(**_FIGURES).order_by("delivery__channel_id")
    }
    channel_ids = set(per_channel_posts) | set(channel_rows)
    channel_objects = (
        Channel.objects.filter(pk__in=channel_ids)
        .defer("credentials")  # a figures page never needs (or decrypts) a channel's secrets
        .select_related("department")
        .annotate(latest_followers=_latest_followers("pk"))
        .order_by("department__name", "display_name")
    )
    channels = []
    platform_posts: dict[str, dict[str, int]] = {}
    for channel in channel_objects:
        posted: Mapping[str, Any] = per_channel_posts.get(channel.pk, {})
        figures = Figures.from_row(
            channel_rows.get(channel.pk, {}),
            label=channel.display_name
            if department_ids and len(department_ids) == 1
            else f"{channel.display_name} ({channel.department.name})",
            key=channel.pk,
            deliveries=posted.get("deliveries", 0),
            posts=posted.get("posts", 0),
            followers=channel.latest_followers,
            platform=platform_label(channel.platform),
        )
        channels.append(figures)
        sums = platform_posts.setdefault(channel.platform, {"deliveries": 0})
        sums["deliveries"] += figures.deliveries

    platform_rows = (
        snapshots.values("delivery__channel__platform").annotate(**_FIGURES).order_by("delivery__channel__platform")
    )
    platform_post_counts = {
        row["channel__platform"]: row["posts"]
        for row in published.values("channel__platform").annotate(posts=Count("post_id", distinct=True))
    }
    platforms_seen = {row["delivery__channel__platform"]: row for row in platform_rows}
    platforms = [
        Figures.from_row(
            platforms_seen.get(platform, {}),
            label=platform_label(platform),
            key=platform,
            platform=platform_label(platform),
            deliveries=sums["deliveries"],
            posts=platform_post_counts.get(platform, 0),
        )
        for platform, sums in sorted(platform_posts.items(), key=lambda item: platform_label(item[0]))
    ]

    top_rows = (
        snapshots.select_related("delivery__post", "delivery__channel")
        .defer("delivery__channel__credentials")
        .order_by(F("rate").desc(nulls_last=True), F("engagement").desc(), "pk")[:top]
    )
    top_posts = [
        TopPost(
            post_id=row.delivery.post_id,
            text=row.delivery.post.text,
            channel=row.delivery.channel.display_name,
            platform=platform_label(row.delivery.channel.platform),
            published_at=row.delivery.published_at,  # type: ignore[arg-type]  # published deliveries have it
            engagement=row.engagement,  # type: ignore[attr-defined]  # annotated
            views=row.views,
            rate=row.rate,  # type: ignore[attr-defined]  # annotated
            permalink=row.delivery.permalink,
        )
        for row in top_rows
    ]

    factors = []
    for key, label, expression in _factor_expressions(zone):
        rows = snapshots.annotate(factor=expression).values("factor").annotate(**_FIGURES).order_by("factor")
        groups = []
        for row in rows:
            if row["factor"] is None:
                continue
            figures = Figures.from_row(row, key=row["factor"], label=_factor_label(key, row["factor"]))
            ratio = figures.rate / average if figures.rate is not None and average else None
            groups.append(
                FactorGroup(
                    label=figures.label, figures=figures, ratio=ratio, phrase=_factor_phrase(key, figures.label)
                )
            )
        factors.append(Factor(key=key, label=label, groups=groups))

    departments = []
    if by_department:
        for department_row in (
            snapshots.values("delivery__post__department_id", "delivery__post__department__name")
            .annotate(**_FIGURES)
            .order_by("delivery__post__department__name")
        ):
            departments.append(
                Figures.from_row(
                    department_row,
                    label=department_row["delivery__post__department__name"],
                    key=department_row["delivery__post__department_id"],
                )
            )

    return Report(
        start=start,
        end=end,
        zone=zone,
        minimum=min_sample(),
        totals=totals,
        platforms=platforms,
        channels=channels,
        top_posts=top_posts,
        factors=factors,
        departments=departments,
    )


# --- CSV --------------------------------------------------------------------------------------------

CSV_TABLES = ("platforms", "channels", "top-posts", "factors", "departments")


def _figure_cells(figures: Figures) -> list[Any]:
    return [
        figures.deliveries,
        figures.with_figures,
        figures.views if figures.views_n else "",
        figures.views_n,
        figures.engagement,
        "" if figures.rate is None else round(figures.rate, 2),
        figures.rate_n,
        "" if figures.link_clicks is None else figures.link_clicks,
    ]


FIGURE_HEADERS = [
    "deliveries",
    "deliveries_with_figures",
    "views",
    "deliveries_reporting_views",
    "engagement",
    "engagement_per_1000_followers",
    "deliveries_with_follower_counts",
    "short_link_clicks",
]


def report_csv_rows(report: Report, table: str) -> list[list[Any]]:
    """The rows (header first) of one table of the report as CSV. Raises KeyError for an unknown table."""
    if table == "platforms":
        return [["platform", "posts", *FIGURE_HEADERS]] + [
            [f.label, f.posts, *_figure_cells(f)] for f in report.platforms
        ]
    if table == "channels":
        return [["channel", "platform", "followers", "posts", *FIGURE_HEADERS]] + [
            [f.label, f.platform, "" if f.followers is None else f.followers, f.posts, *_figure_cells(f)]
            for f in report.channels
        ]
    if table == "top-posts":
        return [
            [
                "post_id",
                "published_at_utc",
                "channel",
                "platform",
                "engagement",
                "views",
                "engagement_per_1000_followers",
                "permalink",
                "text",
            ]
        ] + [
            [
                p.post_id,
                p.published_at.astimezone(dt.UTC).isoformat(),
                p.channel,
                p.platform,
                p.engagement,
                "" if p.views is None else p.views,
                "" if p.rate is None else round(p.rate, 2),
                p.permalink,
                p.text,
            ]
            for p in report.top_posts
        ]
    if table == "factors":
        return [["factor", "value", "ratio_to_average", "enough_posts", *FIGURE_HEADERS]] + [
            [
                factor.label,
                group.label,
                "" if group.ratio is None else round(group.ratio, 3),
                group.enough,
                *_figure_cells(group.figures),
            ]
            for factor in report.factors
            for group in factor.groups
        ]
    if table == "departments":
        return [["department", *FIGURE_HEADERS]] + [[f.label, *_figure_cells(f)] for f in report.departments]
    raise KeyError(table)
