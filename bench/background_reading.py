"""Benchmark: one pass of the background readers over many channels against the fake platform (issue 18, goal 4).

    .venv/bin/python bench/background_reading.py [--channels 1000] [--posts-per-channel 3] [--budget 2]
                                                 [--latency-ms 20]

Fresh PostgreSQL database (default civicpost_bench_reading), the fake platform in this process (its request
log is read directly), `--channels` Mastodon channels across three departments, each with
`--posts-per-channel` posts published on the fake an hour ago (so the first metric age is due), one status
read per request (an instance older than 4.3) and a request budget of `--budget` per channel per pass.

Runs each reader pass in READERS once and prints, per reader: platform requests, requests per second
(wall), CPU ms per request of the reading thread (time.thread_time: the fake's threads and the machine's
other processes are not counted) and of the PostgreSQL backend, and whether the per-channel budget was
honoured (the most requests one channel received for its posts, from the fake's log; each channel also gets one
follower-count read a day, counted in `requests`). A second pass with the fake
answering 429 to every read shows that a rate-limited channel is paused: no request to it until its
retry-after.

Adding a reader (the inbox poller) is one entry in READERS: a name and a function that runs one pass (and,
if its requests are not status reads, a function mapping a logged request path to its channel).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import cpu_seconds, log
from bench.publish_burst import DEFAULT_PG, migrated_database


def metrics_pass() -> Any:
    from analytics.services import metrics_collect_pass

    return metrics_collect_pass()


# name -> one pass. The inbox poller: ("inbox poller", lambda: inbox.services.inbox_poll_pass()).
READERS: list[tuple[str, Callable[[], Any]]] = [("analytics collector", metrics_pass)]


def seed(fake_url: str, channels: list[Any], posts_per_channel: int) -> dict[str, int]:
    """Publishes posts straight to the fake (one per request, with each channel's token); returns
    {remote id: channel id}."""
    owner: dict[str, int] = {}
    for channel in channels:
        token = channel.credentials["access_token"]
        for n in range(posts_per_channel):
            request = urllib.request.Request(  # noqa: S310 - loopback
                f"{fake_url}/api/v1/statuses",
                data=json.dumps({"status": f"Post {n} of {channel.display_name}"}).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                owner[json.loads(response.read())["id"]] = channel.pk
    return owner


def build(args: argparse.Namespace, fake_url: str) -> tuple[list[Any], dict[str, int]]:
    from django.utils import timezone

    from bench._city import create_city
    from scheduler.models import Delivery, DeliveryStatus, Post, PostApproval, PostStatus

    per_platform = -(-args.channels // 3)
    city = create_city(fake_url=fake_url, platforms=("mastodon",), per_platform=per_platform)
    channels = [c for d in city.departments for c in city.channels[d.pk]][: args.channels]
    owner = seed(fake_url, channels, args.posts_per_channel)
    published = timezone.now() - dt.timedelta(hours=1, minutes=5)
    by_channel: dict[int, list[str]] = {}
    for remote_id, channel_id in owner.items():
        by_channel.setdefault(channel_id, []).append(remote_id)
    deliveries = []
    for channel in channels:
        for remote_id in by_channel[channel.pk]:
            post = Post.objects.create(
                department=channel.department,
                author=city.editors[channel.department_id],
                text=f"Read back {remote_id}",
                due_at=published,
                status=PostStatus.PUBLISHED,
            )
            approval = PostApproval.objects.create(
                post=post,
                content={"text": post.text},
                content_hash="0" * 64,
                approved_by=city.approvers[channel.department_id],
                approved_at=published,
            )
            deliveries.append(
                Delivery(
                    post=post,
                    channel=channel,
                    approval=approval,
                    status=DeliveryStatus.PUBLISHED,
                    due_at=published,
                    next_attempt_at=published,
                    remote_id=remote_id,
                    published_at=published,
                )
            )
    Delivery.objects.bulk_create(deliveries, batch_size=2000)
    return channels, owner


def run_pass(name: str, reader: Callable[[], Any], fake: Any, owner: dict[str, int], backend: int) -> dict[str, Any]:
    with fake._lock:  # noqa: SLF001 - the fake runs in this process
        fake.request_log.clear()
    wall, cpu, pg = time.perf_counter(), time.thread_time(), cpu_seconds(backend)
    reader()
    wall, cpu, pg = time.perf_counter() - wall, time.thread_time() - cpu, cpu_seconds(backend) - pg
    with fake._lock:  # noqa: SLF001
        log_lines = list(fake.request_log)
    per_channel: Counter[int] = Counter()
    for _method, path in log_lines:
        remote_id = path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        if remote_id in owner:
            per_channel[owner[remote_id]] += 1
    requests = len(log_lines)
    return {
        "reader": name,
        "requests": requests,
        "requests_per_s": round(requests / wall, 1) if wall else None,
        "cpu_ms_per_request": round(1000 * cpu / max(1, requests), 2),
        "postgres_cpu_ms_per_request": round(1000 * pg / max(1, requests), 2),
        "channels_read": len(per_channel),
        "max_requests_to_one_channel": max(per_channel.values(), default=0),
        "wall_s": round(wall, 1),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--posts-per-channel", type=int, default=3)
    parser.add_argument("--budget", type=int, default=2, help="requests per channel per pass")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--database", default="civicpost_bench_reading")
    args = parser.parse_args(argv)
    migrated_database(
        args.postgres,
        args.database,
        CIVICPOST_METRICS_REQUESTS_PER_CHANNEL=str(args.budget),
        CIVICPOST_HTTP_TIMEOUT_SECONDS="10",
        CIVICPOST_LOG_LEVEL="ERROR",
    )
    from django.db import connection

    from tests.fakeplatform.server import FakePlatform

    fake = FakePlatform(latency_ms=args.latency_ms).start()
    try:
        log(f"background_reading: {args.channels} channels x {args.posts_per_channel} posts")
        channels, owner = build(args, fake.url)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        print("background_reading")
        print(
            f"channels: {len(channels)} posts_per_channel: {args.posts_per_channel} budget_per_channel: "
            f"{args.budget} fake_latency_ms: {args.latency_ms}"
        )
        for name, reader in READERS:
            figures = run_pass(name, reader, fake, owner, backend)
            figures["budget_honoured"] = figures["max_requests_to_one_channel"] <= args.budget
            print(" ".join(f"{key}={value}" for key, value in figures.items()))
            # Every read answers 429: each channel is paused at its first request, the next pass asks nobody.
            fake.configure(p_rate_limit=1.0, faults_on_reads=True, rate_limit_reset_seconds=600)
            limited = run_pass(f"{name}, every read rate-limited", reader, fake, owner, backend)
            again = run_pass(f"{name}, next pass (channels paused)", reader, fake, owner, backend)
            fake.configure(p_rate_limit=0.0, faults_on_reads=False)
            print(" ".join(f"{key}={value}" for key, value in limited.items()))
            print(" ".join(f"{key}={value}" for key, value in again.items()))
            print(f"rate_limit_pause_honoured={again['requests'] == 0 and limited['max_requests_to_one_channel'] <= 1}")
    finally:
        fake.stop()
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
