"""Takes docs/screenshots/approval-queue.png: the approval queue at 1280 px with several posts waiting.

    .venv/bin/python docs/screenshots/take_approval_queue.py

A throw-away installation in a temporary folder (SQLite, no Redis, a fresh secret and encryption key): the
demo city (`seed_demo`), four more posts sent for approval (one with an image and its alt text, one with its
own text for a channel, two twenty minutes apart on one channel, so the queue shows a conflict), `runserver`
on a free port, and Debian's Chromium through Playwright signed in as the communications manager, who
approves for every department. Nothing outside the temporary folder is touched but the PNG."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
OUT = ROOT / "docs" / "screenshots" / "approval-queue.png"
CHROMIUM = os.environ.get("CIVICPOST_CHROMIUM", "/usr/bin/chromium")

MORE_POSTS = """
import datetime as dt, io
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from django.contrib.auth import get_user_model
from departments.models import Department
from medialibrary.models import PostMedia
from medialibrary.services import media_upload
from scheduler import services
from scheduler.models import Channel, Post

User = get_user_model()
now = timezone.now().replace(minute=0, second=0, microsecond=0)
def post(email, slug, text, hours, *, channel_text=None, image_alt=None):
    author = User.objects.get(email=email)
    department = Department.objects.get(slug=slug)
    channels = list(Channel.objects.filter(department=department).order_by("id"))
    made = services.post_create(
        author=author, department=department, text=text, link="", channels=channels,
        due_at=now + dt.timedelta(hours=hours),
    )
    if channel_text:
        Post.objects.filter(pk=made.pk).update(channel_text={str(channels[0].pk): channel_text})
    if image_alt:
        data = io.BytesIO()
        Image.new("RGB", (320, 200), (30, 110, 160)).save(data, "PNG")
        upload = SimpleUploadedFile("pool.png", data.getvalue(), "image/png")
        asset = media_upload(user=author, department=department, upload=upload)
        PostMedia.objects.create(post=made, asset=asset, position=0, alt_text=image_alt)
    services.post_submit(post=made, user=author)

post("parks-editor@city.example", "parks",
     "Splash pads at every city park open Saturday at 10 a.m. Bring water and sunscreen!", 46,
     image_alt="Children running through the fountains of the Riverside splash pad")
post("parks-editor@city.example", "parks",
     "Reminder: the Oak Street pool closes early on Saturday for a swim meet.", 46.33)
post("works-editor@city.example", "public-works",
     "Lane closures on Main Street Monday 9 a.m. to 3 p.m. for water main repairs. Use 5th Avenue instead.", 70,
     channel_text="Main St lane closures Mon 9-3 for water main repairs. Detour: 5th Ave.")
post("library-editor@city.example", "library", "Story time moves to Friday mornings at 10:30 starting next week.", 94)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    from cryptography.fernet import Fernet
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="civicpost-shot-") as folder:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
        env.update(
            DJANGO_DEBUG="true",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            CIVICPOST_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
            CIVICPOST_SQLITE_PATH=str(Path(folder) / "db.sqlite3"),
            CIVICPOST_REQUIRE_MFA="false",
            CIVICPOST_ARCHIVE_ROOT=str(Path(folder) / "archive"),
            CIVICPOST_MEDIA_ROOT=str(Path(folder) / "media"),
        )

        def manage(*args: str) -> None:
            command = [PYTHON, "manage.py", *args]
            subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - ours

        manage("migrate", "--noinput")
        manage("seed_demo", "--publish-in", "600")
        manage("shell", "-c", MORE_POSTS)
        port = free_port()
        server = subprocess.Popen(  # noqa: S603 - our own manage.py
            [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{base}/accounts/login/", timeout=2)  # noqa: S310  # nosec B310 - local server
                    break
                except OSError:
                    time.sleep(0.3)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
                page.goto(f"{base}/accounts/login/")
                page.fill("input[name=login]", "comms-manager@city.example")
                page.fill("input[name=password]", "civicpost-demo")
                page.locator("form button[type=submit]").last.click()
                page.wait_for_load_state("load")
                page.goto(f"{base}/approvals/")
                page.wait_for_selector("[data-queue-item]")
                page.screenshot(path=str(OUT), full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"Wrote {OUT.relative_to(ROOT)}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
