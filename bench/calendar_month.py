"""How long the shared calendar's month takes to build (issue 5, "Performance").

    .venv/bin/python bench/calendar_month.py [--posts 10000] [--in-month 2000] [--repeat 7]
                                             [--postgres postgres://postgres@127.0.0.1:5432/postgres]

Fills a throwaway database (a temporary SQLite file, or with --postgres a new PostgreSQL database on that
server, dropped at the end) with a city of five departments, 10,000 posts of which 2,000 fall in the
measured month (every status, some failed deliveries, a blackout, shared links), then times in one run:

- the month data alone (scheduler.calendar.month.calendar_month), for the communications manager (sees all
  2,000) and for a department editor, with the number of queries;
- the whole month page through Django's test client (middleware, session, template), with its queries;
- a minimal Django view through the same test client, as the yardstick.

Prints one line per figure (median and fastest of --repeat runs, in milliseconds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.http import HttpRequest, HttpResponse

# The bench's own URLs (filled in once Django is set up): the minimal view next to the real site.
urlpatterns: list = []


def minimal_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def configure(database_url: str | None, sqlite_path: str) -> None:
    from cryptography.fernet import Fernet

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicpost.settings")
    os.environ["CIVICPOST_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # settings refuse to start without one
    os.environ.setdefault("CIVICPOST_LOG_LEVEL", "WARNING")
    os.environ.pop("REDIS_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["CIVICPOST_SQLITE_PATH"] = sqlite_path
    import django

    django.setup()


def build_city(*, total: int, in_month: int, month_start: dt.datetime, month_end: dt.datetime) -> dict:
    from django.contrib.auth import get_user_model

    from departments.models import Department, Membership, Role
    from scheduler.models import BlackoutPeriod, Channel, Delivery, DeliveryStatus, Post, PostApproval, PostStatus

    rng = random.Random(5)
    user_model = get_user_model()
    departments = [
        Department.objects.create(name=name, slug=slug, time_zone=zone, is_communications_team=slug == "comms")
        for name, slug, zone in (
            ("Parks and Recreation", "parks", "America/Chicago"),
            ("Public Library", "library", "America/New_York"),
            ("Public Works", "works", "America/Chicago"),
            ("Police", "police", "America/Chicago"),
            ("Communications", "comms", "America/Chicago"),
        )
    ]
    editors = []
    for department in departments:
        editor = user_model.objects.create_user(
            username=f"{department.slug}-editor", email=f"{department.slug}@x.example"
        )
        Membership.objects.create(user=editor, department=department, role=Role.EDITOR)
        editors.append(editor)
    manager = user_model.objects.create_user(username="manager", email="manager@x.example")
    Membership.objects.create(user=manager, department=departments[-1], role=Role.APPROVER)
    platforms = ["sandbox", "mastodon", "bluesky", "facebook", "x"]
    channels = {
        department.pk: [
            Channel.objects.create(
                department=department, platform=platforms[(i + j) % 5], display_name=f"{department.name} {j}"
            )
            for j in range(3)
        ]
        for i, department in enumerate(departments)
    }

    span = month_end - month_start
    statuses = [PostStatus.DRAFT, PostStatus.SUBMITTED, PostStatus.APPROVED, PostStatus.PUBLISHED, PostStatus.CANCELLED]
    posts = []
    for i in range(total):
        if i < in_month:
            due = month_start + dt.timedelta(seconds=rng.randrange(int(span.total_seconds())))
        else:
            # The rest spread over the year around the month.
            offset = rng.choice([-1, 1]) * (span + dt.timedelta(days=rng.randrange(1, 330)))
            due = month_start + offset + dt.timedelta(minutes=rng.randrange(1440))
        k = rng.randrange(len(departments))
        posts.append(
            Post(
                department=departments[k],
                author=editors[k],
                text=f"Post {i}: {rng.choice(['pool', 'library', 'snow', 'bus', 'park', 'vote'])} news for the city",
                link=f"https://city.example/news/{rng.randrange(300)}" if rng.random() < 0.6 else "",
                due_at=due,
                # The measured month shows all its posts (cancelled ones are hidden unless asked for).
                status=rng.choice(statuses[:-1] if i < in_month else statuses),
            )
        )
    posts = Post.objects.bulk_create(posts, batch_size=2000)
    through = Post.channels.through
    links = []
    for post in posts:
        for channel in rng.sample(channels[post.department_id], rng.choice([1, 1, 2])):
            links.append(through(post_id=post.pk, channel_id=channel.pk))
    through.objects.bulk_create(links, batch_size=5000)
    scheduled = [p for p in posts if p.status in (PostStatus.APPROVED, PostStatus.PUBLISHED)]
    approvals = PostApproval.objects.bulk_create(
        [
            PostApproval(
                post=p,
                content={"due_at": p.due_at.isoformat()},
                content_hash="0" * 64,
                approved_by=manager,
                approved_at=p.due_at,
            )
            for p in scheduled
        ],
        batch_size=2000,
    )
    post_channels: dict[int, list[int]] = {}
    for link in links:
        post_channels.setdefault(link.post_id, []).append(link.channel_id)
    deliveries = []
    for post, approval in zip(scheduled, approvals, strict=True):
        for channel_id in post_channels[post.pk]:
            if post.status == PostStatus.PUBLISHED:
                status = DeliveryStatus.FAILED if rng.random() < 0.05 else DeliveryStatus.PUBLISHED
            else:
                status = DeliveryStatus.SCHEDULED
            deliveries.append(
                Delivery(
                    post=post,
                    channel_id=channel_id,
                    approval=approval,
                    status=status,
                    due_at=post.due_at,
                    next_attempt_at=post.due_at,
                )
            )
    Delivery.objects.bulk_create(deliveries, batch_size=5000)
    BlackoutPeriod.objects.create(
        starts_at=month_start + dt.timedelta(days=2), ends_at=month_start + dt.timedelta(days=3), reason="Election day"
    )
    BlackoutPeriod.objects.create(
        department=departments[1],
        starts_at=month_start + dt.timedelta(days=10),
        ends_at=month_start + dt.timedelta(days=11),
        reason="Inventory",
    )
    return {"manager": manager, "editor": editors[0], "departments": departments}


class GcWatch:
    """Counts the garbage collector's passes (by generation) and the wall time they take, via gc.callbacks."""

    def __init__(self) -> None:
        self.passes = [0, 0, 0]
        self.ms = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.passes[info["generation"]] += 1
            self.ms += (time.perf_counter() - self._started) * 1000

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


CPU_TIMES: dict[int, list[float]] = {}
GC_WATCHES: dict[int, GcWatch] = {}


def timed(fn, repeat: int) -> tuple[list[float], int, object]:  # noqa: ANN001
    """Runs fn `repeat` times; returns the wall times in ms, the queries of the last run and its result.
    The CPU time of this process for each run (not distorted by other processes on the machine) is kept in
    CPU_TIMES[id(times)], and the gc passes of the runs in GC_WATCHES[id(times)], for `line`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times: list[float] = []
    cpu: list[float] = []
    result = None
    queries = 0
    with GcWatch() as watch:
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as captured:
                started, cpu_started = time.perf_counter(), time.process_time()
                result = fn()
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
            queries = len(captured)
    CPU_TIMES[id(times)] = cpu
    GC_WATCHES[id(times)] = watch
    return times, queries, result


def line(name: str, times: list[float], queries: int | None = None, extra: str = "") -> None:
    query_text = f"  queries={queries}" if queries is not None else ""
    cpu = CPU_TIMES.get(id(times))
    cpu_text = f"  cpu_median={statistics.median(cpu):7.1f} ms  cpu_fastest={min(cpu):7.1f} ms" if cpu else ""
    watch = GC_WATCHES.get(id(times))
    gc_text = ""
    if watch is not None:
        gc_text = (
            f"  gc_passes/run(gen0,1,2)={','.join(f'{n / len(times):.1f}' for n in watch.passes)}"
            f"  gc_ms/run={watch.ms / len(times):.1f}"
        )
    print(
        f"{name:<42} median={statistics.median(times):8.1f} ms  fastest={min(times):8.1f} ms{cpu_text}{query_text}"
        f"{gc_text}{extra}  load_1m={os.getloadavg()[0]:.2f}",
        flush=True,
    )


def run(args: argparse.Namespace) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import include, path

    from scheduler.calendar.month import calendar_month
    from scheduler.models import Post

    urlpatterns[:] = [path("bench/minimal/", minimal_view), path("", include("civicpost.urls"))]
    # No setup_test_environment(): it replaces Template._render with an instrumented one that sends a
    # signal and copies the context on every template rendered (each of the month's ~200 chips is an
    # include), which the web process never does; it inflated the measured request by ~20 %.
    call_command("migrate", verbosity=0, interactive=False)
    month_first = dt.date(2027, 3, 1)  # includes the spring-forward night, for good measure
    zone_start = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    started = time.perf_counter()
    city = build_city(
        total=args.posts,
        in_month=args.in_month,
        month_start=zone_start + dt.timedelta(hours=6),
        month_end=dt.datetime(2027, 4, 1, tzinfo=dt.UTC) + dt.timedelta(hours=5),
    )
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    print(f"setup: {time.perf_counter() - started:.1f} s")
    print(f"posts in the database: {Post.objects.count()}")
    in_month = Post.objects.filter(
        due_at__gte=dt.datetime(2027, 3, 1, 6, tzinfo=dt.UTC), due_at__lt=dt.datetime(2027, 4, 1, 5, tzinfo=dt.UTC)
    ).count()
    print(f"posts in the visible month ({month_first:%B %Y}, America/Chicago): {in_month}")

    user_model = get_user_model()

    for label, user in (("communications manager", city["manager"]), ("Parks editor", city["editor"])):

        def build(user=user):  # noqa: ANN001, ANN202
            viewer = user_model.objects.get(pk=user.pk)  # fresh: memberships not cached
            return calendar_month(user=viewer, year=month_first.year, month=month_first.month)

        build()  # warm-up
        times, queries, data = timed(build, args.repeat)
        line(f"month data, {label}", times, queries, f"  posts shown={len(data.entries)}")

    # The page is measured for a signed-in session; two-step verification is not what is measured here.
    with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"], CIVICPOST_REQUIRE_MFA=False):
        client = Client()
        minimal_times, minimal_queries, _ = timed(lambda: client.get("/bench/minimal/"), max(args.repeat, 20))
        client.force_login(city["manager"])
        url = f"/calendar/?month={month_first:%Y-%m}&filtered=1"
        warm = client.get(url)  # warm-up
        assert warm.status_code == 200, (warm.status_code, warm.get("Location"))
        page_times, page_queries, response = timed(lambda: client.get(url), args.repeat)
        assert response.status_code == 200
        line("month page (whole request), manager", page_times, page_queries, f"  bytes={len(response.content)}")
        if args.profile:  # before the gc settings change
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(client.get, url)
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(args.profile)
            stats.sort_stats("tottime").print_stats(args.profile)
        from civicpost.gc_tuning import tune_gc_for_web

        thresholds = tune_gc_for_web()
        tuned_times, tuned_queries, _ = timed(lambda: client.get(url), args.repeat)
        line(f"month page, gc as the web process {thresholds}", tuned_times, tuned_queries)
        from bench._common import instructions, under_callgrind

        if under_callgrind():
            # Instructions are what a loaded machine cannot inflate (see bench/README.md, "instructions").
            manager = user_model.objects.get(pk=city["manager"].pk)
            data_ir = instructions(lambda: calendar_month(user=manager, year=month_first.year, month=month_first.month))
            page_ir = instructions(lambda: client.get(url))
            print(
                f"instructions (callgrind): month data {data_ir / 1e6:,.0f} M, month page (whole request) "
                f"{page_ir / 1e6:,.0f} M",
                flush=True,
            )
        week_url = f"/calendar/week/?week={month_first + dt.timedelta(days=10):%Y-%m-%d}&filtered=1"
        week_times, week_queries, _ = timed(lambda: client.get(week_url), args.repeat)
        line("week page (whole request), manager", week_times, week_queries)
        line("minimal Django view (whole request)", minimal_times, minimal_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--in-month", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="print the N costliest functions of a month page"
    )
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL server URL; the bench creates and drops its own database there"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="civicpost-calbench-") as folder:
        if not args.postgres:
            configure(None, str(Path(folder) / "bench.sqlite3"))
            run(args)
            return
        import psycopg2

        parts = urlsplit(args.postgres)
        name = f"civicpost_calbench_{os.getpid()}"
        admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        try:
            configure(urlunsplit(parts._replace(path=f"/{name}")), "")
            try:
                run(args)
            finally:
                from django.db import connections

                connections.close_all()
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.close()


if __name__ == "__main__":
    main()
