"""The inbox at city scale (issue 15, "Benchmark").

    .venv/bin/python bench/inbox_poll.py [--channels 200] [--per-channel 50] [--items 100000] [--repeat 7]
                                         [--platform mastodon|facebook|x]
                                         [--postgres postgres://postgres@127.0.0.1:5432/postgres]

1. One polling pass (inbox.services.inbox_poll_pass, what the periodic job runs) over `--channels` Mastodon
   channels, each its own account on the fake platform (tests/fakeplatform, in this process, over loopback
   HTTP), each with `--per-channel` new residents' mentions since its stored cursor: requests made, wall time,
   database queries, items stored. A first pass (one mention each) sets every channel's cursor beforehand.
   `--platform facebook`: Facebook Pages instead, each with one published post of ours and `--per-channel` new
   comments on it (read per post, 50 a page); `--platform x`: X accounts with `--per-channel` new mentions (paid
   reads, 100 a page).
2. The inbox page with `--items` items in the database (bulk-inserted beside the polled ones): server time and
   query count of the department inbox and of the city-wide inbox (communications manager), through Django's
   test client, as in bench/calendar_month.py.

Prints one line per figure. A throwaway SQLite file, or with --postgres a new database on that server (dropped
at the end).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def configure(database_url: str | None, sqlite_path: str) -> None:
    from cryptography.fernet import Fernet

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicpost.settings")
    os.environ["CIVICPOST_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # settings refuse to start without one
    os.environ.setdefault("CIVICPOST_LOG_LEVEL", "WARNING")
    os.environ["CIVICPOST_ALLOW_LOOPBACK_PLATFORMS"] = "true"
    os.environ.pop("REDIS_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["CIVICPOST_SQLITE_PATH"] = sqlite_path
    import django

    django.setup()


def line(name: str, times: list[float], queries: int | None = None, extra: str = "") -> None:
    query_text = f"  queries={queries}" if queries is not None else ""
    print(
        f"{name:<44} median={statistics.median(times):8.1f} ms  fastest={min(times):8.1f} ms{query_text}{extra}",
        flush=True,
    )


def run(args: argparse.Namespace) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    from departments.models import CityRole, CityRoleName, Department, Membership, Role
    from inbox.models import InboxItem
    from tests.fakeplatform import FakePlatform

    setup_test_environment()
    call_command("migrate", verbosity=0, interactive=False)
    user_model = get_user_model()
    departments = [
        Department.objects.create(name=f"Department {n}", slug=f"department-{n}", time_zone="America/Chicago")
        for n in range(10)
    ]
    editor = user_model.objects.create_user(username="editor", email="editor@x.example")
    Membership.objects.create(user=editor, department=departments[0], role=Role.EDITOR)
    manager = user_model.objects.create_user(username="manager", email="manager@x.example")
    CityRole.objects.create(user=manager, role=CityRoleName.COMMUNICATIONS_MANAGER)

    with FakePlatform(seed=15) as fake:
        if args.platform != "mastodon":
            channels, log_before, before, seconds, report, captured = _poll_meta_or_x(args, fake, departments, editor)
            stored = InboxItem.objects.count() - before
            http = len(fake.request_log) - log_before
        else:
            channels, stored, http, seconds, report, captured = _poll_mastodon(args, fake, departments)
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    print(
        f"polling pass ({args.platform}): {len(channels)} channels x {args.per_channel} new items: "
        f"{sum(report.requests.values())} requests ({http} seen by the fake), {stored} items stored, "
        f"{seconds:.2f} s wall, {len(captured)} queries, {seconds / len(channels) * 1000:.1f} ms per channel",
        flush=True,
    )
    _pages(args, channels, departments, editor, manager)


def _poll_mastodon(args: argparse.Namespace, fake: Any, departments: list[Any]) -> tuple[Any, ...]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inbox.models import InboxItem
    from inbox.services import inbox_poll_pass
    from scheduler.models import Channel

    tokens = [f"mastodon-bench-token-{n}" for n in range(args.channels)]
    channels = [
        Channel.objects.create(
            department=departments[n % len(departments)],
            platform="mastodon",
            display_name=f"Mastodon {n}",
            credentials={"access_token": token},
            options={"instance_url": fake.url, "max_characters": 500, "mastodon_version": "4.3.0"},
        )
        for n, token in enumerate(tokens)
    ]
    for token in tokens:
        fake.add_mastodon_mentions(token, 1, in_reply_to_id="1")
    inbox_poll_pass()  # every channel's cursor is set
    for token in tokens:
        fake.add_mastodon_mentions(token, args.per_channel, in_reply_to_id="1")
    before = InboxItem.objects.count()
    log_before = len(fake.request_log)
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        report = inbox_poll_pass()
        seconds = time.perf_counter() - started
    stored = InboxItem.objects.count() - before
    http = len(fake.request_log) - log_before
    return channels, stored, http, seconds, report, captured


def _poll_meta_or_x(args: argparse.Namespace, fake: Any, departments: list[Any], editor: Any) -> tuple[Any, ...]:
    """Facebook Pages (one post of ours each, comments on it) or X accounts (mentions), polled like Mastodon."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from inbox.models import InboxItem
    from inbox.services import inbox_poll_pass
    from scheduler.models import Channel, Delivery, DeliveryStatus
    from tests.scheduler.adapters.meta_helpers import approved_post_with_media

    settings.CIVICPOST_PLATFORM_URLS = {"facebook": fake.url, "x": fake.url}
    settings.CIVICPOST_META_APP_SECRET = ""
    settings.CIVICPOST_X_MONTHLY_READ_BUDGET = 10**9
    channels, targets = [], []
    for n in range(args.channels):
        department = departments[n % len(departments)]
        if args.platform == "facebook":
            page_id = str(104400000000000 + n)
            channel = Channel.objects.create(
                department=department,
                platform="facebook",
                display_name=f"Facebook {n}",
                credentials={"page_access_token": f"fb-bench-token-{n}"},
                options={"page_id": page_id},
            )
            remote = f"{page_id}_{122100000000000000 + n}"
        else:
            user_id = str(2244990000 + n)
            channel = Channel.objects.create(
                department=department,
                platform="x",
                display_name=f"X {n}",
                credentials={"access_token": f"{user_id}-bench", "x_user_id": user_id},
            )
            remote = user_id
        post = approved_post_with_media(author=editor, approver=editor, channel=channel, text=f"Post {n}", media=[])
        if args.platform == "facebook":
            Delivery.objects.filter(post=post).update(
                status=DeliveryStatus.PUBLISHED, remote_id=remote, published_at=timezone.now()
            )
        channels.append(channel)
        targets.append(remote)

    def add(count: int) -> None:
        for remote in targets:
            if args.platform == "facebook":
                fake.add_comments("facebook", remote, count)
            else:
                fake.add_x_mentions(remote, count)

    add(1)
    inbox_poll_pass()  # every channel's cursor is set (a first round / the latest page)
    add(args.per_channel)
    before = InboxItem.objects.count()
    log_before = len(fake.request_log)
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        report = inbox_poll_pass()
        seconds = time.perf_counter() - started
    return channels, log_before, before, seconds, report, captured


def _pages(args: argparse.Namespace, channels: list[Any], departments: list[Any], editor: Any, manager: Any) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.utils import timezone

    from inbox.models import InboxItem

    # The inbox page at `--items` items: bulk rows beside the polled ones, spread over the departments.
    missing = max(0, args.items - InboxItem.objects.count())
    now = timezone.now()
    rows = []
    for n in range(missing):
        channel = channels[n % len(channels)]
        rows.append(
            InboxItem(
                channel=channel,
                department_id=channel.department_id,
                remote_id=f"bulk-{n}",
                author_handle=f"@resident{n % 5000}",
                text=f"Question {n} about the {('pool', 'library', 'snow', 'bus')[n % 4]} schedule",
                created_at=now - dt.timedelta(minutes=n % 40000),
                status=("new", "assigned", "answered", "closed")[n % 4],
                urgent=n % 97 == 0,
            )
        )
    InboxItem.objects.bulk_create(rows, batch_size=5000)
    print(f"inbox items in the database: {InboxItem.objects.count()}")
    with override_settings(ALLOWED_HOSTS=["testserver"], CIVICPOST_REQUIRE_MFA=False, CIVICPOST_REQUIRE_REAUTH=False):
        for label, user, url in (
            ("department inbox page, editor", editor, f"/inbox/departments/{departments[0].pk}/"),
            ("city-wide inbox page, manager", manager, "/inbox/"),
            ("city-wide search 'pool', manager", manager, "/inbox/?q=pool&status=all"),
        ):
            client = Client()
            client.force_login(user)
            assert client.get(url).status_code == 200  # warm-up
            times, queries = [], 0
            for _ in range(args.repeat):
                with CaptureQueriesContext(connection) as page_queries:
                    started = time.perf_counter()
                    response = client.get(url)
                    times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
                queries = len(page_queries)
            line(label, times, queries, f"  bytes={len(response.content)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--per-channel", type=int, default=50)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--platform", choices=("mastodon", "facebook", "x"), default="mastodon")
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL server URL; the bench creates and drops its own database there"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="civicpost-inboxbench-") as folder:
        if not args.postgres:
            configure(None, str(Path(folder) / "bench.sqlite3"))
            run(args)
            return
        import psycopg2

        parts = urlsplit(args.postgres)
        name = f"civicpost_inboxbench_{os.getpid()}"
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
