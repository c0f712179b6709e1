"""Benchmark: a burst of deliveries all due at the same instant, through the real publish path.

    .venv/bin/python bench/publish_burst.py [--deliveries 5000] [--latency-ms 100] [--concurrency 16]
                                            [--workers 1] [--pool threads]

Runs against the local PostgreSQL (a fresh database, default civicpost_bench on 127.0.0.1:5432) and
Redis (a dedicated database number, default 12, flushed first). The fake platform
(tests/fakeplatform) answers every request after `--latency-ms`. Channels: Mastodon, X and Facebook
for three departments, all on the fake. Worker processes run `celery worker --pool threads
--concurrency C`; one dispatcher (`publish_due --loop --interval 1`, batch 500) claims and enqueues;
a gunicorn web process answers /health/ every second meanwhile.

Prints: deliveries/s (from the due instant to the last publish), the ideal workers x C / latency, their
ratio, CPU ms per delivery (workers + dispatcher), where the whole machine's CPU went per delivery
(`cpu_split_ms_per_delivery`: worker, dispatcher, fake platform, web, PostgreSQL — every database — and the
bench database's own backends, Redis, this harness, the rest) and the rate that CPU allows on this machine
(`cpu_bound_per_s`), p50/p99 due -> published lag, peak RSS of the worker and web processes.
Goals (issue 7): ratio >= 0.8, CPU <= 5 ms, p99 lag <= 30 s, worker RSS <= 200 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    PYTHON,
    ROOT,
    BackendSampler,
    FakePlatformProcess,
    Managed,
    Supervisor,
    TreeSampler,
    base_env,
    celery_worker,
    dispatcher,
    free_port,
    log,
    machine_cpu_seconds,
    manage,
    named_cpu_seconds,
    percentile,
    postgres_cpu_seconds,
    setup_django,
    temp_folder,
    wait_for_dispatcher,
    wait_for_workers,
    wait_until,
    write_result,
)

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432"
DEFAULT_REDIS = "redis://127.0.0.1:6379"


def add_common_arguments(parser: argparse.ArgumentParser, *, deliveries: int) -> None:
    parser.add_argument("--deliveries", type=int, default=deliveries)
    parser.add_argument("--latency-ms", type=float, default=100.0, help="fake platform latency per request")
    parser.add_argument("--concurrency", type=int, default=16, help="threads (or children) per worker process")
    parser.add_argument("--pool", default="threads", choices=["threads", "prefork"])
    parser.add_argument("--postgres", default=DEFAULT_PG, help="server URL without database name")
    parser.add_argument("--database", default="civicpost_bench", help="dropped and re-created")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="server URL without database number")
    parser.add_argument("--redis-db", type=int, default=12, help="flushed first")
    parser.add_argument("--timeout", type=float, default=900, help="give up after this many seconds")
    parser.add_argument("--json", dest="json_out", default=None)


def psql(server_url: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", f"{server_url}/postgres", "-v", "ON_ERROR_STOP=1", "-qtA", "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def fresh_database(server_url: str, name: str) -> str:
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()
    psql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(server_url, f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


def migrated_database(server_url: str, name: str, **extra_env: str) -> dict[str, str]:
    """A new, migrated database `name` without Redis (tasks run in this process), and Django set up on it here;
    returns the environment, for any child process."""
    env = base_env(DATABASE_URL=f"{server_url}/{name}", **extra_env)
    env.pop("REDIS_URL", None)
    fresh_database(server_url, name)
    manage(env, "migrate", "--noinput")
    setup_django(env)
    return env


def flush_redis(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


_django_ready = False


def prepare(args: argparse.Namespace, folder: Path, fake_url: str) -> dict[str, str]:
    """Creates the database, migrates and returns the environment for the worker/web/dispatcher processes."""
    global _django_ready
    database_url = f"{args.postgres}/{args.database}"
    redis_url = f"{args.redis}/{args.redis_db}"
    env = base_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CIVICPOST_PLATFORM_URLS=f"x={fake_url},facebook={fake_url}",
        CIVICPOST_DISPATCH_INTERVAL_SECONDS="1",
        CIVICPOST_DISPATCH_BATCH_SIZE="500",
        CIVICPOST_CACHE_PREFIX="bench",
        CIVICPOST_HTTP_TIMEOUT_SECONDS="10",
        CIVICPOST_CHAOS_DIR=str(folder),
    )
    if _django_ready:
        from django.db import connections

        connections.close_all()
    fresh_database(args.postgres, args.database)
    flush_redis(redis_url)
    manage(env, "migrate", "--noinput")
    if not _django_ready:
        setup_django(env)
        _django_ready = True
    return env


def poll_health(url: str, stop: threading.Event, results: list[int]) -> None:
    while not stop.wait(1.0):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                results.append(response.status)
        except urllib.error.HTTPError as error:
            results.append(error.code)
        except OSError:
            results.append(0)


class LockWaitSampler(threading.Thread):
    """Samples pg_stat_activity every `interval` s: how many backends of the bench database wait for a lock
    (wait_event_type 'Lock': a row or transaction lock another backend holds), and what they run."""

    def __init__(self, database_url: str, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.database_url = database_url
        self.interval = interval
        self.stop_event = threading.Event()
        self.samples = 0
        self.waiting_samples = 0
        self.waiting_backends = 0
        self.max_waiting = 0
        self.queries: dict[str, int] = {}

    def run(self) -> None:
        import psycopg2

        connection = psycopg2.connect(self.database_url)
        connection.autocommit = True
        name = self.database_url.rsplit("/", 1)[-1]
        with connection.cursor() as cursor:
            while not self.stop_event.wait(self.interval):
                cursor.execute(
                    "SELECT left(query, 60) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                    [name],
                )
                rows = cursor.fetchall()
                self.samples += 1
                self.waiting_backends += len(rows)
                self.waiting_samples += bool(rows)
                self.max_waiting = max(self.max_waiting, len(rows))
                for (query,) in rows:
                    self.queries[query] = self.queries.get(query, 0) + 1
        connection.close()

    def stop(self) -> dict[str, Any]:
        self.stop_event.set()
        self.join(timeout=5)
        return {
            "lock_wait_samples": self.samples,
            "samples_with_a_lock_wait": self.waiting_samples,
            "mean_backends_waiting_for_a_lock": round(self.waiting_backends / max(1, self.samples), 3),
            "max_backends_waiting_for_a_lock": self.max_waiting,
            "lock_waits_by_statement": self.queries,
        }


def shared_servers_cpu_seconds() -> dict[str, float]:
    """CPU so far of the servers the bench shares with anything else on the machine (all their databases)
    and of this harness process (its samplers and polls)."""
    return {
        "postgres": postgres_cpu_seconds(),
        "redis": named_cpu_seconds("redis-server"),
        "bench_harness": time.process_time(),
    }


def cpu_split(*, published: int, machine_busy_seconds: float, by_process: dict[str, float]) -> dict[str, float]:
    """Where the machine's CPU went during the burst, in ms per published delivery: each process, and `rest`
    (anything else running on the machine: other users' work, the kernel's own threads)."""
    per = 1000 / max(1, published)
    split = {"machine": round(machine_busy_seconds * per, 2)}
    split.update({name: round(seconds * per, 2) for name, seconds in by_process.items()})
    split["rest"] = round((machine_busy_seconds - sum(by_process.values())) * per, 2)
    return split


def run_burst(args: argparse.Namespace, *, workers: int, dispatchers: int = 1) -> dict[str, Any]:
    """One burst; returns its figures."""
    with temp_folder("civicpost-burst-") as folder:
        fake = FakePlatformProcess(folder, latency_ms=args.latency_ms).start()
        supervisor = Supervisor()
        try:
            env = prepare(args, folder, fake.url)
            from django.utils import timezone

            from bench._city import bulk_approved_deliveries, create_city
            from scheduler.models import Delivery, DeliveryStatus

            city = create_city(fake_url=fake.url)
            # Due once every process is up: workers, dispatcher and web need a few seconds to start.
            due_at = timezone.now() + dt.timedelta(seconds=3600)
            made = bulk_approved_deliveries(city=city, count=args.deliveries, due_at=due_at, tag="burst")
            log(f"burst: {made} deliveries ready; starting {workers} worker(s) x {args.concurrency} {args.pool}")

            web_port = free_port()
            web = Managed(
                name="web",
                args=[
                    PYTHON,
                    "-m",
                    "gunicorn",
                    "civicpost.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{web_port}",
                    "--workers",
                    "2",
                    "--log-level",
                    "warning",
                ],  # fmt: skip
                env=env,
                logfile=folder / "web.log",
            )
            supervisor.add(web)
            for index in range(workers):
                supervisor.add(
                    celery_worker(f"worker{index + 1}", env, folder, pool=args.pool, concurrency=args.concurrency)
                )
            supervisor.add(dispatcher("dispatcher", env, folder, interval=1.0))
            for index in range(1, dispatchers):
                # More dispatchers claim side by side (SKIP LOCKED splits the due rows between them).
                supervisor.add(dispatcher(f"dispatcher{index + 1}", env, folder, interval=1.0))
            health_url = f"http://127.0.0.1:{web_port}/health/"
            wait_until(lambda: urllib.request.urlopen(health_url, timeout=2) and True, 60, "web")  # noqa: S310
            wait_for_workers(folder, [f"worker{index + 1}" for index in range(workers)])
            wait_for_dispatcher("dispatcher")

            roots = {name: m.process.pid for name, m in supervisor.managed.items()}
            roots["fakeplatform"] = fake.process.pid
            sampler = TreeSampler(roots)
            sampler.sample()
            cpu_start = {name: sampler.cpu_seconds(name) for name in roots}
            shared_start = shared_servers_cpu_seconds()
            backends = BackendSampler(args.database)
            backends.start()
            busy_start, total_start = machine_cpu_seconds()
            # Everything is due now, at one instant.
            now = timezone.now()
            Delivery.objects.update(due_at=now, next_attempt_at=now)
            due_instant = now
            sampler.start()
            locks = LockWaitSampler(env["DATABASE_URL"])
            locks.start()
            stop_polling, statuses = threading.Event(), []
            poller = threading.Thread(target=poll_health, args=(health_url, stop_polling, statuses), daemon=True)
            poller.start()

            deadline = time.monotonic() + args.timeout
            done = 0
            while time.monotonic() < deadline:
                done = Delivery.objects.filter(status=DeliveryStatus.PUBLISHED).count()
                if done >= made:
                    break
                time.sleep(0.5)
            elapsed_wall = (timezone.now() - due_instant).total_seconds()
            stop_polling.set()
            sampler.stop()
            bench_backends_cpu = backends.stop()
            lock_figures = locks.stop()
            from django.db.models import Count, Max

            from scheduler.models import DeliveryAttempt

            # Disjoint work: no delivery was started twice (one attempt each) by the worker processes.
            attempts = DeliveryAttempt.objects.values("delivery_id").annotate(n=Count("id")).aggregate(most=Max("n"))
            busy_end, total_end = machine_cpu_seconds()
            shared_end = shared_servers_cpu_seconds()
            rows = list(Delivery.objects.filter(status=DeliveryStatus.PUBLISHED).values_list("published_at", flat=True))
            others = Delivery.objects.exclude(status=DeliveryStatus.PUBLISHED).count()
        finally:
            supervisor.stop_all()
            fake.stop()

    lags = [(p - due_instant).total_seconds() for p in rows]
    last = max(lags) if lags else float("nan")
    rate = len(rows) / last if lags else 0.0
    ideal = workers * args.concurrency / (args.latency_ms / 1000.0)
    worker_cpu = sum(
        sampler.cpu_seconds(n) - cpu_start.get(n, 0.0) for n in sampler.roots if n.startswith("worker")
    )  # fmt: skip
    dispatcher_cpu = sum(
        sampler.cpu_seconds(n) - cpu_start.get(n, 0.0) for n in sampler.roots if n.startswith("dispatcher")
    )
    machine_busy = (busy_end - busy_start) / max(1e-9, total_end - total_start)
    split = cpu_split(
        published=len(rows),
        machine_busy_seconds=busy_end - busy_start,
        by_process={
            "worker": worker_cpu,
            "dispatcher": dispatcher_cpu,
            "fakeplatform": sampler.cpu_seconds("fakeplatform") - cpu_start["fakeplatform"],
            "web": sampler.cpu_seconds("web") - cpu_start["web"],
            **{name: shared_end[name] - shared_start[name] for name in shared_start},
        },
    )
    # Part of `postgres` above: the backends of the bench's own database (sampled, so a backend that lived
    # less than the sampling interval is missed); the rest of `postgres` is other databases and the server's
    # own processes.
    split["postgres_bench_database"] = round(1000 * bench_backends_cpu / max(1, len(rows)), 2)
    cores = os.cpu_count() or 1
    return {
        "deliveries": made,
        "published": len(rows),
        "not_published": others,
        "workers": workers,
        "concurrency": args.concurrency,
        "pool": args.pool,
        "latency_ms": args.latency_ms,
        "deliveries_per_s": round(rate, 1),
        "ideal_per_s": round(ideal, 1),
        "ratio": round(rate / ideal, 3) if ideal else None,
        "cpu_ms_per_delivery": round(1000 * (worker_cpu + dispatcher_cpu) / max(1, len(rows)), 2),
        "worker_cpu_ms_per_delivery": round(1000 * worker_cpu / max(1, len(rows)), 2),
        "dispatcher_cpu_ms_per_delivery": round(1000 * dispatcher_cpu / max(1, len(rows)), 2),
        "p50_lag_s": round(percentile(lags, 50), 2),
        "p99_lag_s": round(percentile(lags, 99), 2),
        "burst_seconds": round(elapsed_wall, 1),
        "peak_worker_rss_mb": round(max(v for k, v in sampler.peak_rss_mb.items() if k.startswith("worker")), 1),
        "peak_web_rss_mb": round(sampler.peak_rss_mb["web"], 1),
        "peak_web_tree_rss_mb": round(sampler.peak_tree_rss_mb["web"], 1),
        "peak_dispatcher_rss_mb": round(sampler.peak_rss_mb["dispatcher"], 1),
        "machine_cpu_busy": round(machine_busy, 3),
        "cpu_split_ms_per_delivery": split,
        # What the machine's CPU allows: every core busy, at the machine CPU one delivery costs.
        "cpu_bound_per_s": round(cores * 1000 / split["machine"], 1) if split["machine"] else None,
        "load_average_1m": round(os.getloadavg()[0], 1),
        "health_statuses": {str(code): statuses.count(code) for code in sorted(set(statuses))},
        "dispatchers": dispatchers,
        "most_attempts_of_one_delivery": attempts["most"],
        **lock_figures,
    }


ORDER = (
    "deliveries",
    "workers",
    "concurrency",
    "latency_ms",
    "deliveries_per_s",
    "ideal_per_s",
    "ratio",
    "cpu_ms_per_delivery",
    "cpu_split_ms_per_delivery",
    "cpu_bound_per_s",
    "p50_lag_s",
    "p99_lag_s",
    "peak_worker_rss_mb",
    "peak_web_rss_mb",
    "most_attempts_of_one_delivery",
    "samples_with_a_lock_wait",
    "lock_wait_samples",
)


def print_figures(figures: dict[str, Any], prefix: str = "") -> None:
    for key in ORDER:
        print(f"{prefix}{key}: {figures[key]}")
    rest = {k: v for k, v in figures.items() if k not in ORDER}
    print(f"{prefix}details: {json.dumps(rest, sort_keys=True)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, deliveries=5000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    args = parser.parse_args(argv)
    figures = run_burst(args, workers=args.workers)
    print("publish_burst")
    print_figures(figures)
    write_result(args.json_out, figures)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
