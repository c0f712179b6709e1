"""Benchmark: analytics (issue 13). Three parts, each printing its figures:

    .venv/bin/python bench/analytics.py [--deliveries 10000] [--snapshots 100000] [--clicks 3000]

(a) collection: `--deliveries` published deliveries spread over X, Bluesky, Mastodon (4.3, batch reads),
    Facebook, Instagram and Threads (three departments, one channel per platform each, all on the fake
    platform in this process), one collection pass (analytics.services.metrics_collect_pass): platform API
    requests made and wall time, first batched the way each platform allows, then, for a second set of as
    many deliveries, one request per post (each adapter's batch size forced to 1). Per-channel request
    budgets are lifted so that one pass reads everything.
(b) dashboard: one department with `--snapshots` metric snapshots (four ages per delivery): the queries of
    the figures page (they are asserted constant in tests/analytics/test_figures.py) and its server time
    (the whole page through Django's test client, and the report alone), for the last 30 days and a year.
(c) the short-link redirect /l/<code>: `--clicks` requests from a browser through Django's test client
    (the whole middleware stack, in process, no network), requests per second and latency percentiles.

Runs against a fresh PostgreSQL database (default civicpost_bench_analytics on 127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import log, percentile, write_result
from bench.publish_burst import DEFAULT_PG, migrated_database

PLATFORMS = ("x", "bluesky", "mastodon", "facebook", "instagram", "threads")
DEPARTMENTS = (("Parks and Recreation", "parks"), ("Public Library", "library"), ("Transit", "transit"))


def _city(fake_url: str) -> tuple[list[Any], dict[int, list[Any]], Any, Any]:
    from django.contrib.auth import get_user_model

    from departments.models import Department, Membership, Role
    from scheduler.models import Channel
    from tests.fakeplatform.server import _numeric_id

    user_model = get_user_model()
    approver = user_model.objects.create_user("approver", "approver@city.example", "x")
    departments, channels = [], {}
    for n, (name, slug) in enumerate(DEPARTMENTS):
        department = Department.objects.create(name=name, slug=slug)
        editor = user_model.objects.create_user(f"{slug}-editor", f"{slug}@city.example", "x")
        Membership.objects.create(user=editor, department=department, role=Role.ADMIN)
        department.editor = editor  # type: ignore[attr-defined]
        departments.append(department)
        specs = {
            "x": (
                {
                    "access_token": f"{77 + n}-tok",
                    "access_token_secret": "s",
                    "x_user_id": str(77 + n),
                    "username": slug,
                },
                {},
            ),
            "bluesky": (
                {"handle": f"{slug}.city.example", "app_password": "abcd-efgh-ijkl-mnop"},
                {"pds_url": fake_url},
            ),
            "mastodon": (
                {"access_token": f"masto-{slug}"},
                {"instance_url": fake_url, "max_characters": 500, "mastodon_version": "4.3.0"},
            ),
            "facebook": ({"page_access_token": f"pt-{slug}"}, {"page_id": str(555 + n)}),
            "instagram": ({"access_token": f"ig-{slug}"}, {"ig_user_id": str(1784 + n)}),
            "threads": ({"access_token": f"th-{slug}"}, {"threads_user_id": _numeric_id(f"threads:th-{slug}")}),
        }
        channels[department.pk] = []
        for platform in PLATFORMS:
            credentials, options = specs[platform]
            channel = Channel(
                department=department, platform=platform, display_name=f"{name} on {platform}", options=options
            )
            channel.credentials = credentials
            channel.save()
            channels[department.pk].append(channel)
    return departments, channels, approver, user_model


def _account(channel: Any) -> str:
    from tests.fakeplatform.server import _numeric_id, bluesky_did

    credentials, options = channel.credentials, channel.options
    return {
        "x": lambda: credentials["x_user_id"],
        "bluesky": lambda: bluesky_did(credentials["handle"]),
        "mastodon": lambda: _numeric_id(f"mastodon:{credentials['access_token']}"),
        "facebook": lambda: options["page_id"],
        "instagram": lambda: options["ig_user_id"],
        "threads": lambda: options["threads_user_id"],
    }[channel.platform]()


def _remote_id(channel: Any, n: int, tag: str) -> str:
    from tests.fakeplatform.server import bluesky_did

    if channel.platform == "bluesky":
        return f"at://{bluesky_did(channel.credentials['handle'])}/app.bsky.feed.post/3k{tag}{n:06d}"
    if channel.platform == "facebook":
        return f"{channel.options['page_id']}_{tag}{n}"
    return f"{9 if tag == 'a' else 8}{channel.pk:03d}{n:07d}"


def _publish_on_fake(
    fake: Any,
    departments: list[Any],
    channels: dict[int, list[Any]],
    approver: Any,
    count: int,
    tag: str,
    published_at: Any,
) -> int:
    from scheduler.services.history import PublishedItem, history_import_published

    all_channels = [channel for department in departments for channel in channels[department.pk]]
    per_channel = [
        count // len(all_channels) + (1 if i < count % len(all_channels) else 0) for i in range(len(all_channels))
    ]
    made = 0
    for department in departments:
        items = []
        for channel in channels[department.pk]:
            share = per_channel[all_channels.index(channel)]
            account = _account(channel)
            for n in range(share):
                remote_id = _remote_id(channel, n, tag)
                extra: dict[str, Any] = {}
                if channel.platform in ("instagram", "threads"):
                    extra = {
                        "permalink": f"https://www.{channel.platform}.com/p/{remote_id}/",
                        "shortcode": remote_id,
                        "username": channel.department.slug,
                        "media_type": "IMAGE" if channel.platform == "instagram" else "TEXT_POST",
                    }
                if channel.platform == "bluesky":
                    extra = {
                        "cid": "bafyreib2rxk3rh6kzwq",
                        "handle": channel.credentials["handle"],
                        "record": {
                            "$type": "app.bsky.feed.post",
                            "text": "Trail open",
                            "createdAt": "2026-12-01T10:00:00Z",
                        },
                    }
                fake.ledger.add(
                    platform=channel.platform, account=account, remote_id=remote_id, text=f"Post {n}", extra=extra
                )
                fake.set_metrics(channel.platform, remote_id, **_counts(channel.platform, n))
                items.append(
                    PublishedItem(text=f"Post {n}", channel=channel, published_at=published_at, remote_id=remote_id)
                )
        made += len(
            history_import_published(department=department, author=department.editor, approver=approver, items=items)
        )
    return made


def _counts(platform: str, n: int) -> dict[str, int]:
    likes, shares, replies = 5 + n % 40, n % 7, n % 5
    return {
        "x": {
            "like_count": likes,
            "retweet_count": shares,
            "reply_count": replies,
            "quote_count": 1,
            "impression_count": 300 + n % 900,
        },
        "bluesky": {"likeCount": likes, "repostCount": shares, "replyCount": replies, "quoteCount": 1},
        "mastodon": {"favourites_count": likes, "reblogs_count": shares, "replies_count": replies},
        "facebook": {"reactions": likes, "comments": replies, "shares": shares},
        "instagram": {"like_count": likes, "comments_count": replies, "views": 400 + n % 700, "shares": shares},
        "threads": {
            "views": 300 + n % 500,
            "likes": likes,
            "replies": replies,
            "reposts": shares,
            "quotes": 1,
            "shares": 2,
        },
    }[platform]


def collection(args: argparse.Namespace) -> dict[str, Any]:
    import datetime as dt

    from django.test.utils import override_settings
    from django.utils import timezone

    from analytics import services
    from analytics.models import MetricSnapshot
    from scheduler.adapters import graph as graph_module
    from tests.fakeplatform import FakePlatform

    figures: dict[str, Any] = {}
    graph_module._sleep = lambda seconds: None  # noqa: SLF001 - no waits for Instagram containers
    with FakePlatform(seed=13) as fake:
        urls = {
            "x": fake.url,
            "facebook": fake.url,
            "instagram": f"{fake.url}/instagram",
            "threads": f"{fake.url}/threads",
        }
        with override_settings(
            CIVICPOST_PLATFORM_URLS=urls,
            CIVICPOST_ALLOW_LOOPBACK_PLATFORMS=True,
            CIVICPOST_METRICS_REQUESTS_PER_CHANNEL=10**6,
            CIVICPOST_X_MONTHLY_READ_BUDGET=10**6,
        ):
            departments, channels, approver, _users = _city(fake.url)
            published_at = timezone.now() - dt.timedelta(hours=2)
            made = _publish_on_fake(fake, departments, channels, approver, args.deliveries, "a", published_at)
            _analyze()
            log(f"analytics: {made} deliveries on {len(PLATFORMS)} platforms, batched pass")
            for label, tag in (("batched", "a"), ("one_per_post", "b")):
                if tag == "b":
                    _publish_on_fake(fake, departments, channels, approver, args.deliveries, "b", published_at)
                    real = services.adapter_for_channel

                    def one_at_a_time(channel: Any, _real: Any = real) -> Any:
                        adapter = _real(channel)
                        adapter.metrics_batch_size = 1
                        return adapter

                    services.adapter_for_channel = one_at_a_time  # type: ignore[assignment]
                before_snapshots = MetricSnapshot.objects.count()
                fake.request_log.clear()
                started = time.perf_counter()
                report = services.metrics_collect_pass()
                wall = time.perf_counter() - started
                if tag == "b":
                    services.adapter_for_channel = real  # type: ignore[assignment]
                reads = dict(report.requests)
                figures[label] = {
                    "metric_requests": sum(reads.values()),
                    "metric_requests_per_platform": reads,
                    "http_requests_seen_by_fake": len(fake.request_log),
                    "snapshots": MetricSnapshot.objects.count() - before_snapshots,
                    "follower_reads": report.followers,
                    "wall_seconds": round(wall, 2),
                }
                log(f"analytics: {label}: {figures[label]}")
    figures["deliveries"] = args.deliveries
    figures["requests_saved_by_batching"] = (
        figures["one_per_post"]["metric_requests"] - figures["batched"]["metric_requests"]
    )
    return figures


def _analyze() -> None:
    """Fresh statistics, as autovacuum keeps them on a live database (a just-filled table has none)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def dashboard(args: argparse.Namespace) -> dict[str, Any]:
    import datetime as dt
    import random

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from analytics.ages import metric_ages
    from analytics.figures import report_build
    from analytics.models import FollowerSnapshot, MetricSnapshot
    from analytics.services import history_record
    from departments.models import Department, Membership, Role
    from scheduler.models import Channel
    from scheduler.services.history import PublishedItem, history_import_published

    rng = random.Random(7)  # noqa: S311 - benchmark data
    ages = metric_ages()
    deliveries_needed = args.snapshots // len(ages)
    user_model = get_user_model()
    department = Department.objects.create(name="Big Department", slug="big")
    admin = user_model.objects.create_user("big-admin", "big-admin@city.example", "x")
    Membership.objects.create(user=admin, department=department, role=Role.ADMIN)
    channels = [
        Channel.objects.create(
            department=department, platform=platform, display_name=f"Big on {platform}", credentials={}
        )
        for platform in ("sandbox", "mastodon", "x", "bluesky", "facebook")
    ]
    now = timezone.now()
    started = time.monotonic()
    made = 0
    while made < deliveries_needed:
        chunk = min(5000, deliveries_needed - made)
        items = [
            PublishedItem(
                text=f"Post {made + n}",
                channel=channels[(made + n) % len(channels)],
                published_at=now - dt.timedelta(days=31 + rng.random() * 330, hours=rng.randrange(24))
                if (made + n) % 12
                else now - dt.timedelta(days=rng.random() * 29),
                remote_id=f"big-{made + n}",
                link="https://city.example" if (made + n) % 3 == 0 else "",
            )
            for n in range(chunk)
        ]
        deliveries = history_import_published(department=department, author=admin, approver=admin, items=items)
        history_record(
            snapshots=[
                MetricSnapshot(
                    delivery=delivery,
                    age=label,
                    age_seconds=seconds,
                    taken_at=delivery.published_at + dt.timedelta(seconds=seconds),
                    views=rng.randrange(100, 5000),
                    likes=rng.randrange(0, 200),
                    shares=rng.randrange(0, 30),
                    replies=rng.randrange(0, 20),
                    quotes=None,
                    not_reported=["quotes"],
                )
                for delivery in deliveries
                for label, seconds in ages
            ],
            followers=[],
        )
        made += chunk
    history_record(
        snapshots=[],
        followers=[
            FollowerSnapshot(channel=channel, day=now.date(), followers=1000 * (n + 1), taken_at=now)
            for n, channel in enumerate(channels)
        ],
    )
    _analyze()
    snapshots = MetricSnapshot.objects.count()
    log(f"analytics: dashboard data: {made} deliveries, {snapshots} snapshots in {time.monotonic() - started:.0f} s")
    client = Client()
    client.force_login(admin)
    url = reverse("analytics:department_figures", args=[department.pk])
    figures: dict[str, Any] = {
        "deliveries": made,
        "snapshots_in_department": MetricSnapshot.objects.filter(delivery__post__department=department).count(),
    }
    today = now.astimezone(department.zone).date()
    from bench._common import cpu_seconds

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    for label, days in (("last_30_days", 30), ("last_365_days", 365)):
        query = {"start": f"{today - dt.timedelta(days=days - 1):%Y-%m-%d}", "end": f"{today:%Y-%m-%d}"}
        page_times, report_times, report_cpu, report_pg_cpu = [], [], [], []
        queries = 0
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url, query, HTTP_HOST="127.0.0.1")
                page_times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
            queries = len(captured)
            started, cpu_started, pg_started = time.perf_counter(), time.process_time(), cpu_seconds(backend)
            report = report_build(
                department_ids=[department.pk],
                start=now - dt.timedelta(days=days),
                end=now,
                zone=department.zone,
            )
            report_times.append((time.perf_counter() - started) * 1000)
            # CPU (this process, its PostgreSQL backend): what a loaded machine does not inflate.
            report_cpu.append((time.process_time() - cpu_started) * 1000)
            report_pg_cpu.append((cpu_seconds(backend) - pg_started) * 1000)
        figures[label] = {
            "deliveries_in_period": report.totals.deliveries,
            "page_queries": queries,
            "page_ms_median": round(statistics.median(page_times), 1),
            "page_ms_max": round(max(page_times), 1),
            "report_ms_median": round(statistics.median(report_times), 1),
            "report_cpu_ms_median": round(statistics.median(report_cpu), 1),
            "report_postgres_cpu_ms_median": round(statistics.median(report_pg_cpu), 1),
        }
        log(f"analytics: dashboard {label}: {figures[label]}")
    return figures


def redirect(args: argparse.Namespace) -> dict[str, Any]:
    from django.test import Client

    from analytics.models import ShortLink

    link = ShortLink.objects.create(
        code="bench01",
        target_url="https://city.example/pools?utm_source=x",
        original_url="https://city.example/pools",
        platform="x",
    )
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36")
    for _ in range(50):
        client.get("/l/bench01", HTTP_HOST="127.0.0.1")
    link.refresh_from_db()
    warm = link.clicks
    times = []
    started = time.perf_counter()
    for _ in range(args.clicks):
        t = time.perf_counter()
        response = client.get("/l/bench01", HTTP_HOST="127.0.0.1")
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 302
    wall = time.perf_counter() - started
    link.refresh_from_db()
    return {
        "requests": args.clicks,
        "requests_per_second": round(args.clicks / wall, 1),
        "ms_p50": round(percentile(times, 50), 2),
        "ms_p99": round(percentile(times, 99), 2),
        "clicks_counted": link.clicks - warm,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--snapshots", type=int, default=100_000)
    parser.add_argument("--clicks", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["collection", "dashboard", "redirect"], default=None)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--database", default="civicpost_bench_analytics")
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args(argv)

    migrated_database(args.postgres, args.database, DJANGO_DEBUG="false", CIVICPOST_REQUIRE_MFA="false")
    figures: dict[str, Any] = {}
    parts = {"collection": collection, "dashboard": dashboard, "redirect": redirect}
    for name, part in parts.items():
        if args.only and name != args.only:
            continue
        figures[name] = part(args)
    print("analytics benchmark (figures; the machine may be shared, so read them as orders of magnitude)")  # noqa: T201
    for name, values in figures.items():
        print(f"{name}:")  # noqa: T201
        for key, value in values.items():
            print(f"  {key}: {value}")  # noqa: T201
    write_result(args.json_out, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
