"""Published history for the analytics tests: posts recorded as published (scheduler.services.history) with
snapshots and follower counts, in bulk."""

from __future__ import annotations

import datetime as dt
from typing import Any

from analytics.models import FollowerSnapshot, MetricSnapshot
from analytics.services import history_record
from scheduler.models import Channel, Delivery
from scheduler.services.history import PublishedItem, history_import_published


def published_history(
    personas: Any,
    channel: Channel,
    rows: list[dict[str, Any]],
    *,
    followers: int | None = 1000,
    day: dt.date | None = None,
) -> list[Delivery]:
    """Each row: published_at, and optionally text, link, language, likes, shares, replies, quotes, views.
    Each delivery gets one "24h" snapshot; the channel gets one follower count (None: not reported)."""
    department = channel.department
    author = personas.alice if department == personas.parks else personas.carol
    deliveries = history_import_published(
        department=department,
        author=author,
        approver=personas.dana,
        items=[
            PublishedItem(
                text=row.get("text", f"Post {n}"),
                channel=channel,
                published_at=row["published_at"],
                remote_id=f"r-{channel.pk}-{n}-{row['published_at'].timestamp()}",
                link=row.get("link", ""),
                language=row.get("language", "en"),
            )
            for n, row in enumerate(rows)
        ],
    )
    snapshots = [
        MetricSnapshot(
            delivery=delivery,
            age="24h",
            age_seconds=86400,
            taken_at=row["published_at"] + dt.timedelta(hours=24),
            views=row.get("views"),
            likes=row.get("likes", 0),
            shares=row.get("shares", 0),
            replies=row.get("replies", 0),
            quotes=row.get("quotes"),
            not_reported=[name for name in ("views", "quotes") if row.get(name) is None],
        )
        for delivery, row in zip(deliveries, rows, strict=True)
    ]
    follower_rows = []
    if not FollowerSnapshot.objects.filter(channel=channel).exists():
        follower_rows = [
            FollowerSnapshot(
                channel=channel,
                day=day or dt.date(2026, 11, 1),
                followers=followers,
                taken_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            )
        ]
    history_record(snapshots=snapshots, followers=follower_rows)
    return deliveries
