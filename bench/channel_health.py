"""Benchmark: the channel health checks' delivery figures (issue 18) on a big delivery table.

    .venv/bin/python bench/channel_health.py [--deliveries 1000000] [--channels 1000] [--repeat 5]

Builds `--deliveries` deliveries over `--channels` channels (20 per department) spread over the last year:
most published, some failed, needing attention, cancelled or still scheduled; the last 5 % of the channels
have never published anything and the 5 % before them nothing in the last 60 days. Then times
`analytics.health.builtin_checks` for every channel (the health e-mail, the API for a city-wide user) and for
one department's channels (the channels page): wall time, queries, CPU of this process and of its PostgreSQL
backend, and the EXPLAIN (ANALYZE, BUFFERS) summary of each statement that reads deliveries (plan nodes,
indexes used, shared buffers touched, execution time). `findings_digest` hashes the findings at the instant
the data was built around: equal digests before and after a change mean the same figures.

Runs against a fresh PostgreSQL database (default civicpost_bench_health on 127.0.0.1:5432), vacuumed and
analysed after loading, as autovacuum keeps a live one.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import cpu_seconds, log, write_result
from bench.publish_burst import DEFAULT_PG, migrated_database

CHANNELS_PER_DEPARTMENT = 20


def _load(deliveries: int, channel_count: int) -> dict[str, Any]:
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from departments.models import Department
    from scheduler.models import Channel, Post, PostApproval, PostStatus

    started = time.monotonic()
    user = get_user_model().objects.create_user("bench-admin", "bench@city.example", "x")
    departments = Department.objects.bulk_create(
        [
            Department(name=f"Department {n:03d}", slug=f"department-{n:03d}")
            for n in range((channel_count + CHANNELS_PER_DEPARTMENT - 1) // CHANNELS_PER_DEPARTMENT)
        ]
    )
    channels = Channel.objects.bulk_create(
        [
            Channel(
                department=departments[n // CHANNELS_PER_DEPARTMENT],
                platform="sandbox",
                display_name=f"Channel {n:04d}",
                credentials={},
            )
            for n in range(channel_count)
        ]
    )
    now = timezone.now()
    post_count = min(1000, deliveries)
    posts = Post.objects.bulk_create(
        [
            Post(
                department=departments[0],
                author=user,
                text=f"Post {n}",
                due_at=now - dt.timedelta(days=n % 365),
                status=PostStatus.PUBLISHED,
            )
            for n in range(post_count)
        ]
    )
    approval = PostApproval.objects.create(
        post=posts[0], content={}, content_hash="0" * 64, approved_by=user, approved_at=now
    )
    first_channel, first_post = channels[0].pk, posts[0].pk
    never_published_from = channel_count - channel_count // 20
    # Channel n % C, post (n / C) % P, part n / (C P) + 1: unique per (post, channel, part). Ages spread over a
    # year (60 days further back on the 5 % of channels before the never-published ones, so they are quiet);
    # status by (n + n / C) % 100, so that each channel has every status: 85 published, 5 failed, 2 needing
    # attention, 3 cancelled, 5 scheduled (in the future); the never-published ones half failed, half cancelled.
    sql = """
        INSERT INTO scheduler_delivery (
            post_id, channel_id, approval_id, language, part, part_count, kind, status, idempotency_key,
            due_at, next_attempt_at, attempts, remote_id, permalink, failure_message, published_at,
            created_at, updated_at
        )
        SELECT
            %(first_post)s + (n / %(channels)s) %% %(posts)s,
            %(first_channel)s + n %% %(channels)s,
            %(approval)s, '', n / (%(channels)s * %(posts)s) + 1, 1, 'post', s.status, gen_random_uuid(),
            s.due_at, s.due_at, 1, '', '', '',
            CASE WHEN s.status = 'published' THEN s.due_at + interval '1 minute' END,
            s.due_at - interval '2 hours',
            CASE WHEN s.status = 'scheduled' THEN %(now)s - interval '1 day' ELSE s.due_at + interval '1 minute' END
        FROM generate_series(0::bigint, %(deliveries)s - 1) AS n
        CROSS JOIN LATERAL (
            SELECT
                CASE
                    WHEN n %% %(channels)s >= %(never_published_from)s AND n / %(channels)s %% 2 = 0 THEN 'cancelled'
                    WHEN n %% %(channels)s >= %(never_published_from)s THEN 'failed'
                    WHEN (n + n / %(channels)s) %% 100 < 85 THEN 'published'
                    WHEN (n + n / %(channels)s) %% 100 < 90 THEN 'failed'
                    WHEN (n + n / %(channels)s) %% 100 < 92 THEN 'needs_attention'
                    WHEN (n + n / %(channels)s) %% 100 < 95 THEN 'cancelled'
                    ELSE 'scheduled'
                END AS status,
                CASE
                    WHEN (n + n / %(channels)s) %% 100 >= 95 AND n %% %(channels)s < %(never_published_from)s
                        THEN %(now)s + (n %% 30) * interval '1 day'
                    WHEN n %% %(channels)s >= %(quiet_from)s
                        THEN %(now)s - (86400 + (n * 7919 + (n / %(channels)s) * 523) %% 525600) * interval '1 minute'
                    ELSE %(now)s - ((n * 7919 + (n / %(channels)s) * 523) %% 525600) * interval '1 minute'
                END AS due_at
        ) AS s
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "first_post": first_post,
                "first_channel": first_channel,
                "channels": channel_count,
                "posts": post_count,
                "approval": approval.pk,
                "deliveries": deliveries,
                "never_published_from": never_published_from,
                "quiet_from": never_published_from - channel_count // 20,
                "now": now,
            },
        )
        # Channels made a year ago, so that those with nothing published lately are "quiet" findings.
        cursor.execute("UPDATE scheduler_channel SET created_at = %s", [now - dt.timedelta(days=365)])
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT count(*) FILTER (WHERE updated_at >= %s), count(*) FROM scheduler_delivery",
            [now - dt.timedelta(days=30)],
        )
        recent, total = cursor.fetchone()
        cursor.execute(
            "SELECT indexname, pg_size_pretty(pg_relation_size(indexname::regclass)) FROM pg_indexes "
            "WHERE tablename = 'scheduler_delivery' ORDER BY indexname"
        )
        indexes = dict(cursor.fetchall())
    log(f"health: {total} deliveries over {channel_count} channels loaded in {time.monotonic() - started:.0f} s")
    return {
        "deliveries": total,
        "updated_in_last_30_days": recent,
        "channels": channel_count,
        "indexes": indexes,
        "now": now,
    }


def _plan_summary(plan: dict[str, Any]) -> dict[str, Any]:
    nodes: list[str] = []
    indexes: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        name = node["Node Type"]
        if "Index Name" in node:
            indexes.add(node["Index Name"])
            name += f" {node['Index Name']}"
        elif "Relation Name" in node:
            name += f" {node['Relation Name']}"
        if name not in nodes:
            nodes.append(name)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    return {
        "nodes": nodes,
        "indexes": sorted(indexes),
        "shared_buffers": plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0),
        "execution_ms": round(plan["Execution Time"], 1),
    }


def _explain(sql: str) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
        raw = cursor.fetchone()[0]
    return _plan_summary(raw[0] if isinstance(raw, list) else json.loads(raw)[0])


def _measure(label: str, channels: list[Any], now: Any, repeat: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from analytics.health import builtin_checks

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    builtin_checks(channels, now)  # warm: caches, compiled templates of reverse()
    walls, cpus, pg_cpus = [], [], []
    findings: list[Any] = []
    queries: list[dict[str, str]] = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started, cpu_started, pg_started = time.perf_counter(), time.process_time(), cpu_seconds(backend)
            findings = builtin_checks(channels, now)
            walls.append((time.perf_counter() - started) * 1000)
            cpus.append((time.process_time() - cpu_started) * 1000)
            pg_cpus.append((cpu_seconds(backend) - pg_started) * 1000)
        queries = list(captured.captured_queries)
    delivery_sql = [q["sql"] for q in queries if "scheduler_delivery" in q["sql"]]
    figures = {
        "channels": len(channels),
        "queries": len(queries),
        "ms_median": round(statistics.median(walls), 1),
        "ms_max": round(max(walls), 1),
        "cpu_ms_median": round(statistics.median(cpus), 1),
        "postgres_cpu_ms_median": round(statistics.median(pg_cpus), 1),
        "findings": len(findings),
        "findings_by_code": {
            code: sum(1 for f in findings if f.code == code) for code in sorted({f.code for f in findings})
        },
        "delivery_statements": [_explain(sql) for sql in delivery_sql],
    }
    log(f"health: {label}: {figures}")
    return figures


def _digest(channels: list[Any], now: Any) -> str:
    """The findings themselves, at the instant the data was built around: the same in runs before and after
    a change to how the figures are read."""
    import hashlib

    from django.test.utils import override_settings

    from analytics.health import builtin_checks

    with override_settings(CIVICPOST_HEALTH_FAILURE_RATE=0.0):  # every channel's failed and finished counts
        findings = builtin_checks(channels, now)
    text = "\n".join(sorted(re.sub(r"\s+", " ", f"{f.channel_id} {f.code} {f.message}") for f in findings))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--database", default="civicpost_bench_health")
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args(argv)

    migrated_database(args.postgres, args.database, DJANGO_DEBUG="false", CIVICPOST_REQUIRE_MFA="false")
    from scheduler.models import Channel

    figures: dict[str, Any] = {"data": _load(args.deliveries, args.channels)}
    every = list(Channel.objects.select_related("department").order_by("pk"))
    one_department = [c for c in every if c.department_id == every[len(every) // 2].department_id]
    now = figures["data"].pop("now")
    figures["every_channel"] = _measure("every channel", every, now, args.repeat)
    figures["one_department"] = _measure("one department", one_department, now, args.repeat)
    figures["findings_digest"] = _digest(every, now)
    with open("/proc/loadavg") as loadavg:
        figures["load_average"] = loadavg.read().split()[:3]
    print("channel health benchmark (figures; the machine may be shared, so read them as orders of magnitude)")  # noqa: T201
    for name, values in figures.items():
        if isinstance(values, dict):
            print(f"{name}:")  # noqa: T201
            for key, value in values.items():
                print(f"  {key}: {value}")  # noqa: T201
        else:
            print(f"{name}: {values}")  # noqa: T201
    write_result(args.json_out, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
