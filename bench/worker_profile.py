"""Benchmark: where a worker's CPU goes per delivery, without Celery and without the machine's load.

    .venv/bin/python bench/worker_profile.py [--deliveries 600] [--top 25]

Fresh PostgreSQL database (default civicpost_bench_profile), the fake platform with no latency, the
bench city (Mastodon, X and Facebook channels for three departments). Claims every delivery once through
the dispatcher, then publishes them one by one in this process through `scheduler.publishing`, exactly as
a worker task does, under cProfile. Prints: CPU ms per delivery of this process (time.process_time) and of
its PostgreSQL backend (/proc), SQL statements per delivery, and the profile split by where the time goes
(our code, Django's ORM, the database driver, HTTP, JSON / crypto), then the costliest functions.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import FakePlatformProcess, cpu_seconds, log, temp_folder
from bench.publish_burst import DEFAULT_PG, migrated_database

BUCKETS = (
    ("database driver (psycopg2)", ("psycopg2", "{method 'execute' of 'psycopg2")),
    ("Django ORM and transactions", ("django/db/",)),
    ("HTTP client (requests, urllib3, http.client, socket)", ("requests/", "urllib3/", "http/client", "socket", "ssl")),
    ("encryption (credentials) and hashing", ("cryptography", "fernet", "hashlib", "crypto.py")),
    ("JSON", ("json/",)),
    ("logging", ("logging/",)),
    ("CivicPost code", ("/scheduler/", "/audit/", "/analytics/", "/medialibrary/", "/civicpost/", "/departments/")),
)


def split_by_bucket(stats: pstats.Stats) -> dict[str, float]:
    """Own time (tottime) of every function, summed by where it lives."""
    totals: dict[str, float] = {name: 0.0 for name, _ in BUCKETS}
    totals["other (Python, Django core)"] = 0.0
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{filename} {function}"
        for name, needles in BUCKETS:
            if any(needle in where for needle in needles):
                totals[name] += tottime
                break
        else:
            totals["other (Python, Django core)"] += tottime
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=600)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--database", default="civicpost_bench_profile")
    args = parser.parse_args(argv)
    with temp_folder("civicpost-profile-") as folder:
        fake = FakePlatformProcess(folder, latency_ms=0).start()
        try:
            migrated_database(
                args.postgres,
                args.database,
                CIVICPOST_PLATFORM_URLS=f"x={fake.url},facebook={fake.url}",
                CIVICPOST_DISPATCH_BATCH_SIZE="5000",
                CIVICPOST_HTTP_TIMEOUT_SECONDS="10",
                CIVICPOST_LOG_LEVEL="WARNING",
            )
            from django.db import connection
            from django.test.utils import CaptureQueriesContext
            from django.utils import timezone

            from bench._city import bulk_approved_deliveries, create_city
            from scheduler import publishing
            from scheduler.models import Delivery, DeliveryStatus

            city = create_city(fake_url=fake.url)
            made = bulk_approved_deliveries(
                city=city, count=args.deliveries, due_at=timezone.now() + dt.timedelta(hours=1), tag="profile"
            )
            now = timezone.now()
            Delivery.objects.update(due_at=now, next_attempt_at=now)
            ids = publishing.deliveries_claim_due(batch_size=made)
            log(f"worker_profile: {len(ids)} deliveries claimed; publishing them in this process")
            # Warm-up: the first delivery of each channel imports its adapter and opens connections.
            warm, ids = ids[:9], ids[9:]
            for delivery_id in warm:
                publishing.delivery_publish(delivery_id=delivery_id)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend = cursor.fetchone()[0]
            profiler = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared
            with CaptureQueriesContext(connection) as captured:
                cpu_started, pg_started, wall_started = time.process_time(), cpu_seconds(backend), time.perf_counter()
                profiler.enable()
                for delivery_id in ids:
                    publishing.delivery_publish(delivery_id=delivery_id)
                profiler.disable()
                cpu = time.process_time() - cpu_started
                pg_cpu = cpu_seconds(backend) - pg_started
                wall = time.perf_counter() - wall_started
            published = Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PUBLISHED).count()
            # The profiled run is slower than a plain one; the CPU figure below is of the profiled run too,
            # so time a second, unprofiled round on fresh rows for the plain figure.
            plain = plain_round(city, made=len(ids))
        finally:
            fake.stop()
    statements = [q["sql"].split(None, 1)[0].upper() for q in captured.captured_queries]
    counted = {kind: statements.count(kind) for kind in sorted(set(statements))}
    n = len(ids)
    print("worker_profile")
    print(f"deliveries: {n} published: {published}")
    print(f"worker_cpu_ms_per_delivery (plain run, no profiler): {plain['cpu_ms']:.2f}")
    print(f"postgres_backend_cpu_ms_per_delivery (plain run): {plain['pg_ms']:.2f}")
    print(
        f"profiled run: cpu_ms_per_delivery={1000 * cpu / n:.2f} postgres_cpu_ms_per_delivery={1000 * pg_cpu / n:.2f}"
    )
    print(f"statements_per_delivery: {len(statements) / n:.1f} {counted}")
    print(f"wall_ms_per_delivery (serial, fake latency 0): {1000 * wall / n:.2f}  load_1m={os.getloadavg()[0]:.2f}")
    stats = pstats.Stats(profiler)
    total = sum(split_by_bucket(stats).values()) or 1.0
    print("profile split (own CPU time, share of the profiled run):")
    for name, seconds in sorted(split_by_bucket(stats).items(), key=lambda item: -item[1]):
        print(f"  {name:<55} {100 * seconds / total:5.1f}%  {1000 * seconds / n:6.2f} ms/delivery")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    return 0


def plain_round(city, *, made: int) -> dict[str, float]:  # noqa: ANN001
    """Publishes `made` fresh deliveries without the profiler; returns CPU ms per delivery (this process and
    its PostgreSQL backend)."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from bench._city import bulk_approved_deliveries
    from scheduler import publishing
    from scheduler.models import Delivery, DeliveryStatus

    bulk_approved_deliveries(city=city, count=made, due_at=timezone.now() + dt.timedelta(hours=1), tag="plain", seed=2)
    now = timezone.now()
    Delivery.objects.filter(status=DeliveryStatus.SCHEDULED).update(due_at=now, next_attempt_at=now)
    ids = publishing.deliveries_claim_due(batch_size=made)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    cpu_started, pg_started = time.process_time(), cpu_seconds(backend)
    for delivery_id in ids:
        publishing.delivery_publish(delivery_id=delivery_id)
    return {
        "cpu_ms": 1000 * (time.process_time() - cpu_started) / len(ids),
        "pg_ms": 1000 * (cpu_seconds(backend) - pg_started) / len(ids),
    }


if __name__ == "__main__":
    sys.exit(main())
