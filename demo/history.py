"""Three months of published history for the demo city, so that the figures pages, the weekly report and the
composer's best time have something to show in `make run`.

Posts are recorded as published (scheduler.services.history, on the sandbox timeline), each with the
snapshots the collector would have taken at the ages already reached, a follower count per channel per day
and short-link clicks for posts with a link. The figures follow a simple, stated model (a seeded random
generator, so every run is the same): mornings and lunchtime do better than evenings, Tuesday to Thursday
better than the weekend, posts with a link a little worse, Spanish versions reach a smaller audience. All in
bulk: a few dozen queries."""

from __future__ import annotations

import datetime as dt
import random
import secrets
import zoneinfo

from django.contrib.auth.models import User

from analytics.ages import metric_ages
from analytics.models import FollowerSnapshot, MetricSnapshot, ShortLink
from analytics.services import history_record
from analytics.shortlinks import with_utm
from departments.models import Department
from scheduler.models import Channel, Delivery, DeliveryStatus
from scheduler.services.history import PublishedItem, history_import_published

DAYS = 90
HOURS = (8, 9, 12, 15, 18, 20)
HOUR_WEIGHT = {8: 1.2, 9: 1.35, 12: 1.25, 15: 0.95, 18: 0.85, 20: 0.6}
WEEKDAY_WEIGHT = (1.0, 1.2, 1.25, 1.15, 0.95, 0.7, 0.65)  # Monday..Sunday
# The share of a post's final figures reached at each age.
AGE_SHARE = {3600: 0.3, 86400: 0.8, 7 * 86400: 0.95, 30 * 86400: 1.0}

TEXTS = {
    "parks": [
        ("Free yoga in Riverside Park this Saturday at 9 a.m. Bring a mat and water.", ""),
        ("The Eastside pool is closed Monday for repairs. Westside pool is open as usual.", ""),
        (
            "Sign up for youth soccer: registration is open until the end of the month.",
            "https://city.example/parks/soccer",
        ),
        ("Trail work on the river path: expect short detours near the boat ramp this week.", ""),
        (
            "Movie night in the park on Friday! Family film at sunset, bring a blanket.",
            "https://city.example/parks/movies",
        ),
        ("Volunteers planted 120 trees in Maple Park today. Thank you, neighbors!", ""),
    ],
    "public-works": [
        ("Street sweeping on the north side Tuesday: please move cars from the curb side.", ""),
        ("Water main repair on Elm Street: the road is closed between 3rd and 5th until 6 p.m.", ""),
        (
            "Recycling pickup moves one day later this week because of the holiday.",
            "https://city.example/works/recycling",
        ),
        ("Report a pothole in two minutes with the city's online form.", "https://city.example/works/potholes"),
        ("Hydrant flushing next week may make tap water cloudy for a short time. It is safe to drink.", ""),
    ],
    "library": [
        ("Story time for toddlers every Wednesday at 10 a.m. at the Central branch.", ""),
        ("New: borrow a telescope with your library card!", "https://city.example/library/telescopes"),
        ("Free help with resumes and job applications on Thursdays from 2 to 4 p.m.", ""),
        ("The library is closed Monday for the holiday. Book drops stay open.", ""),
        ("Teen game night Friday at the Westside branch: board games and snacks.", ""),
    ],
    "police": [
        ("Coffee with a Cop on Saturday at 8 a.m. at the Main Street bakery.", ""),
        ("Lock your car and take your valuables: most car break-ins are of unlocked cars.", ""),
        ("Road closures for the parade on Sunday: see the map before you drive.", "https://city.example/police/parade"),
        ("We're hiring! Learn about careers in public safety.", "https://city.example/police/careers"),
    ],
    "communications": [
        ("City Council meets Tuesday at 6 p.m. Watch live or comment in person.", "https://city.example/council"),
        (
            "Tell us what you think about the new downtown bike lanes: the survey closes Friday.",
            "https://city.example/survey",
        ),
        ("City offices are closed Thursday and Friday for the holiday.", ""),
    ],
}
SPANISH = {
    "parks": "Yoga gratis en el parque Riverside este sábado a las 9 a.m.",
    "library": "Hora del cuento para niños pequeños todos los miércoles a las 10 a.m.",
}
AUTHORS = {
    "parks": "parks-editor",
    "public-works": "works-editor",
    "library": "library-editor",
    "police": "police-editor",
    "communications": "comms-manager",
}
BASE_FOLLOWERS = {"parks": 5200, "public-works": 2100, "library": 3400, "police": 8800, "communications": 12500}


def history_seed(
    *,
    departments: dict[str, Department],
    users: dict[str, User],
    channels: dict[str, list[Channel]],
    zone: zoneinfo.ZoneInfo,
    now: dt.datetime,
) -> int:
    """Seeds the history of each department that has none yet (its channels have no published delivery older
    than a day). Returns how many deliveries it recorded."""
    rng = random.Random(13)  # noqa: S311 - demo figures, not security
    recorded = 0
    for slug, department in departments.items():
        department_channels = channels.get(slug, [])
        if not department_channels or slug not in TEXTS:
            continue
        if Delivery.objects.filter(
            channel__in=department_channels,
            status=DeliveryStatus.PUBLISHED,
            published_at__lt=now - dt.timedelta(days=1),
        ).exists():
            continue
        items, meta = _items(slug, department_channels, zone=zone, now=now, rng=rng)
        deliveries = history_import_published(
            department=department, author=users[AUTHORS[slug]], approver=users["comms-manager"], items=items
        )
        _figures(slug, deliveries, meta, department_channels, now=now, rng=rng)
        recorded += len(deliveries)
    return recorded


def _items(
    slug: str, channels: list[Channel], *, zone: zoneinfo.ZoneInfo, now: dt.datetime, rng: random.Random
) -> tuple[list[PublishedItem], list[float]]:
    items: list[PublishedItem] = []
    weights: list[float] = []
    today = now.astimezone(zone).date()
    for days_ago in range(DAYS, 0, -1):
        day = today - dt.timedelta(days=days_ago)
        if rng.random() > (0.8 if day.weekday() < 5 else 0.35):
            continue
        hour = rng.choice(HOURS)
        published_at = dt.datetime.combine(day, dt.time(hour, rng.randrange(0, 50)), tzinfo=zone).astimezone(dt.UTC)
        text, link = rng.choice(TEXTS[slug])
        language = "en"
        if slug in SPANISH and rng.random() < 0.15:
            text, language = SPANISH[slug], "es"
        weight = (
            HOUR_WEIGHT[hour]
            * WEEKDAY_WEIGHT[day.weekday()]
            * (0.85 if link else 1.0)
            * (0.6 if language == "es" else 1.0)
        )
        for channel in channels if rng.random() < 0.7 else channels[:1]:
            items.append(
                PublishedItem(text=text, channel=channel, published_at=published_at, link=link, language=language)
            )
            weights.append(weight * rng.uniform(0.6, 1.4))
    return items, weights


def _figures(
    slug: str,
    deliveries: list[Delivery],
    weights: list[float],
    channels: list[Channel],
    *,
    now: dt.datetime,
    rng: random.Random,
) -> None:
    followers_now = {channel.pk: int(BASE_FOLLOWERS[slug] / (1 + n * 2.5)) for n, channel in enumerate(channels)}
    snapshots: list[MetricSnapshot] = []
    links: list[ShortLink] = []
    ages = metric_ages()
    for delivery, weight in zip(deliveries, weights, strict=True):
        assert delivery.published_at is not None  # noqa: S101 - recorded as published just now
        followers = followers_now[delivery.channel_id]
        final_views = int(followers * 0.35 * weight)
        final_likes = int(final_views * 0.045 * weight)
        final_shares = int(final_views * 0.008 * weight)
        final_replies = int(final_views * 0.004 * weight)
        final_link_clicks = int(final_views * 0.03) if delivery.post.link else None
        for label, seconds in ages:
            taken_at = delivery.published_at + dt.timedelta(seconds=seconds)
            if taken_at > now:
                break
            share = AGE_SHARE.get(seconds, 1.0)
            snapshots.append(
                MetricSnapshot(
                    delivery=delivery,
                    age=label,
                    age_seconds=seconds,
                    taken_at=taken_at,
                    views=int(final_views * share),
                    likes=int(final_likes * share),
                    shares=int(final_shares * share),
                    replies=int(final_replies * share),
                    quotes=None,
                    clicks=int(final_views * 0.02 * share),
                    link_clicks=None if final_link_clicks is None else int(final_link_clicks * share),
                    not_reported=["quotes"],
                    raw={"demo": True},
                )
            )
        if final_link_clicks is not None:
            links.append(
                ShortLink(
                    code=secrets.token_urlsafe(6)[:8],
                    target_url=with_utm(
                        delivery.post.link, platform=delivery.channel.platform, campaign=f"{slug}-{delivery.post_id}"
                    ),
                    original_url=delivery.post.link,
                    delivery=delivery,
                    platform=delivery.channel.platform,
                    clicks=final_link_clicks,
                )
            )
    follower_rows = [
        FollowerSnapshot(
            channel_id=channel_id,
            day=(now - dt.timedelta(days=days_ago)).date(),
            followers=int(count * (1 - days_ago * 0.0015)) + rng.randrange(0, 5),
            taken_at=now - dt.timedelta(days=days_ago),
        )
        for channel_id, count in followers_now.items()
        for days_ago in range(DAYS, 0, -1)
    ]
    ShortLink.objects.bulk_create(links, ignore_conflicts=True)
    history_record(snapshots=snapshots, followers=follower_rows)
