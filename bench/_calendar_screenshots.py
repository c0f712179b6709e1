"""Takes the calendar's screenshots for the README (issue 19):

- docs/screenshots/calendar-month.png: the month at 1280 px with 2,000 posts in it, seen by the
  communications manager (every department), one post's preview open;
- docs/screenshots/phone-agenda.png: the calendar opened at 390 px (a phone), which shows the agenda.

    .venv/bin/python bench/_calendar_screenshots.py [--posts 2000] [--out docs/screenshots]

Seeds a throwaway SQLite database with bench/calendar_month.py's city (five departments, the month's posts in
every status, blackouts, shared links), serves the site on 127.0.0.1 in a thread and drives /usr/bin/chromium
with Playwright (CIVICPOST_CHROMIUM to use another). Nothing leaves the machine. Its name starts with "_" so
`make bench` does not run it (it rewrites committed files); run it by hand after changing the calendar.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("CIVICPOST_CHROMIUM", "/usr/bin/chromium")


def configure(sqlite_path: str) -> None:
    from cryptography.fernet import Fernet

    os.environ["DJANGO_SETTINGS_MODULE"] = "civicpost.settings"
    os.environ["CIVICPOST_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    # DEBUG: static files straight from the source folders, cookies over plain http on 127.0.0.1.
    os.environ["DJANGO_DEBUG"] = "true"
    os.environ["CIVICPOST_REQUIRE_MFA"] = "false"  # the manager is signed in directly; MFA is not what is shown
    os.environ["CIVICPOST_LOG_LEVEL"] = "WARNING"
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ["CIVICPOST_SQLITE_PATH"] = sqlite_path
    import django

    django.setup()


def seed(posts: int) -> tuple[object, object, dt.date]:
    """The city of bench/calendar_month.py with `posts` posts in next month (Chicago time); returns the
    communications manager, the Parks editor and the month's first day."""
    from zoneinfo import ZoneInfo

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from bench.calendar_month import build_city
    from civicpost.zones import local_midnight
    from scheduler.models import Post, PostApproval

    call_command("migrate", verbosity=0, interactive=False)
    chicago = ZoneInfo("America/Chicago")
    today = timezone.now().astimezone(chicago).date()
    first = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    city = build_city(
        total=posts + 40,
        in_month=posts,
        month_start=local_midnight(first, chicago),
        month_end=local_midnight(after, chicago),
    )
    # Names people read, approvals the preview names, a few per-channel versions.
    user_model = get_user_model()
    user_model.objects.filter(pk=city["manager"].pk).update(first_name="Dana", last_name="Ruiz")
    user_model.objects.filter(pk=city["editor"].pk).update(first_name="Alice", last_name="Moreno")
    for approval in PostApproval.objects.all():
        Post.objects.filter(pk=approval.post_id).update(current_approval=approval)
    # The phone opens on the agenda of the coming two weeks: a few Parks posts there.
    from scheduler.models import Channel, PostStatus

    parks = city["departments"][0]
    parks_channels = list(Channel.objects.filter(department=parks).order_by("pk"))
    texts = [
        "Splash pads open Saturday at 10 a.m. at every city park.",
        "Leaf pickup starts Monday: bag your leaves by the curb.",
        "Volunteers wanted for the river cleanup, gloves provided.",
        "The skating rink at Lincoln Park opens this weekend.",
        "Trail 4 is closed for repairs until Friday.",
        "Winter camp sign-ups are open for ages 6 to 12.",
    ]
    statuses = [PostStatus.APPROVED, PostStatus.SUBMITTED, PostStatus.DRAFT]
    for i, text in enumerate(texts * 2):
        due = local_midnight(today + dt.timedelta(days=1 + i // 2), chicago) + dt.timedelta(hours=9 + 3 * (i % 2))
        # bulk_create, as the bench's city: a seeded row, not a state change through the services.
        (post,) = Post.objects.bulk_create(
            [Post(department=parks, author=city["editor"], text=text, due_at=due, status=statuses[i % 3])]
        )
        post.channels.set(parks_channels[: 1 + i % 3])
    rng = random.Random(19)
    for post in Post.objects.prefetch_related("channels").order_by("?")[:200]:
        channels = list(post.channels.all())
        if channels:
            version = post.text + " #" + rng.choice(["parks", "library", "city"])
            Post.objects.filter(pk=post.pk).update(channel_text={str(channels[0].pk): version})
    return user_model.objects.get(pk=city["manager"].pk), user_model.objects.get(pk=city["editor"].pk), first


def serve() -> tuple[object, str]:
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def session_cookie(user: object, base: str) -> dict:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": base,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="civicpost-shots-") as folder:
        configure(str(Path(folder) / "shots.sqlite3"))
        manager, editor, first = seed(args.posts)
        server, base = serve()
        # Made before Playwright starts: its sync API runs an event loop in this thread.
        manager_cookie, editor_cookie = session_cookie(manager, base), session_cookie(editor, base)
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                wide = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
                wide.add_cookies([manager_cookie])
                page = wide.new_page()
                page.set_default_timeout(180_000)  # 2,000 posts on SQLite in a shared machine: be patient
                page.goto(f"{base}/calendar/?month={first:%Y-%m}&filtered=1")
                caption = page.locator("table.civic-cal-month caption").inner_text()
                lines = page.locator(".civic-cal-line").count()
                # One post's preview open, as a person pointing at it sees it.
                target = page.locator(f'td[data-drop-date="{first + dt.timedelta(days=9)}"] .civic-cal-line').first
                target.hover()
                page.screenshot(path=str(out / "calendar-month.png"), full_page=True)
                height = page.evaluate("document.body.scrollHeight")
                print(f"calendar-month.png: {caption}; {lines} lines drawn; page {height} px tall")  # noqa: T201
                wide.close()

                phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US", is_mobile=True)
                phone.add_cookies([editor_cookie])
                page = phone.new_page()
                page.set_default_timeout(180_000)
                page.goto(f"{base}/calendar/")
                page.wait_for_url("**/calendar/agenda/**")
                # Two screens of it: the header, then the first days of the agenda.
                clip = {"x": 0, "y": 0, "width": 390, "height": 1500}
                page.screenshot(path=str(out / "phone-agenda.png"), full_page=True, clip=clip)
                print(f"phone-agenda.png: {page.url.removeprefix(base)}")  # noqa: T201
                phone.close()
                browser.close()
        finally:
            server.shutdown()
            from django.db import connections

            connections.close_all()


if __name__ == "__main__":
    main()
