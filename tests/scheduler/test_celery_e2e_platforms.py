"""One post per platform end to end, on Redis and PostgreSQL: an approved post becomes due, the dispatcher in
this process claims its delivery and sends the task through the broker, and a real `celery worker` subprocess
publishes it with the platform's real adapter to the fake platform server (tests/fakeplatform), which keeps a
ledger of what it accepted. The city feed, which has no server of its own, is read back from the app's RSS
and Atom views.

One worker and one fake serve the whole module (starting a worker takes seconds)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from medialibrary.services import media_upload
from scheduler import publishing, services
from scheduler.adapters.bluesky.adapter import record_key_for
from scheduler.adapters.feed.adapter import feed_entry_id
from scheduler.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, Post, PostStatus
from scheduler.tasks import publish_delivery
from tests.factories import ChannelFactory
from tests.fakeplatform import FakePlatform, LedgerEntry
from tests.fakeplatform.server import _numeric_id, bluesky_did
from tests.scheduler import approved_post, make_due
from tests.scheduler.celery_worker import (
    new_queue_name,
    queue_delete,
    queue_purge,
    running_worker,
    tasks_through_the_broker,
    wait_until_settled,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

WEBHOOK_RECEIVER = "parks-cms"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"civicpost end-to-end webhook key").decode()
BLUESKY_HANDLE = "parks.city.example"
IG_USER_ID = "17841400000000001"
THREADS_USER_ID = "26123456789012345"
PAGE_ID = "104412345678901"
MASTODON_TOKEN = "mastodon-token-parks"  # noqa: S105 - the fake accepts any token
ALT_TEXT = "Children running through the splash pad at Lincoln Park"
# Instagram and Threads fetch media from a public https address; the approval snapshot carries it.
SITE_URL = "https://city.example"


def platform_urls(fake_url: str) -> dict[str, str]:
    """CIVICPOST_PLATFORM_URLS for the worker: Mastodon and the webhook take their address from the channel."""
    return {
        "x": fake_url,
        "facebook": fake_url,
        "instagram": f"{fake_url}/instagram",
        "threads": f"{fake_url}/threads",
        "bluesky": f"{fake_url}/bluesky",
    }


@dataclass(frozen=True)
class PlatformCase:
    platform: str
    credentials: dict[str, Any]
    # What the fake files the posts under, and the permalink CivicPost must store for a ledger entry.
    account: str
    permalink: Callable[[LedgerEntry, str], str]
    options: Callable[[str], dict[str, Any]] = lambda fake_url: {}
    handle: str = ""
    with_image: bool = False
    # The idempotency key the platform saw, from the delivery's key ("" for platforms that take none).
    ledger_key: Callable[[str], str] = lambda key: ""
    # Instagram and Threads download the photo: the fake records the address they were given.
    records_image_url: bool = False
    # Bluesky signs in once and keeps the session (sign-ins are rate limited): the worker must save it.
    keeps_session: bool = False


CASES = [
    PlatformCase(
        platform="bluesky",
        handle=f"@{BLUESKY_HANDLE}",
        credentials={"handle": BLUESKY_HANDLE, "app_password": "abcd-efgh-ijkl-mnop"},
        account=bluesky_did(BLUESKY_HANDLE),
        permalink=lambda entry, url: f"https://bsky.app/profile/{BLUESKY_HANDLE}/post/{entry.extra['rkey']}",
        with_image=True,
        ledger_key=record_key_for,
        keeps_session=True,
    ),
    PlatformCase(
        platform="instagram",
        handle="cityparks",
        credentials={"access_token": "ig-token-parks"},
        options=lambda url: {"ig_user_id": IG_USER_ID, "flavour": "facebook_login", "username": "cityparks"},
        account=IG_USER_ID,
        permalink=lambda entry, url: entry.extra["permalink"],
        with_image=True,
        records_image_url=True,
    ),
    PlatformCase(
        platform="threads",
        handle="cityparks",
        credentials={"access_token": "threads-token-parks"},
        options=lambda url: {"threads_user_id": THREADS_USER_ID, "username": "cityparks"},
        account=THREADS_USER_ID,
        permalink=lambda entry, url: entry.extra["permalink"],
        with_image=True,
        records_image_url=True,
    ),
    PlatformCase(
        platform="webhook",
        credentials={"secret": WEBHOOK_SECRET},
        options=lambda url: {"url": f"{url}/hooks/{WEBHOOK_RECEIVER}"},
        account=WEBHOOK_RECEIVER,
        permalink=lambda entry, url: entry.extra["permalink"],
        with_image=True,
        ledger_key=str,
    ),
    PlatformCase(
        platform="mastodon",
        credentials={"access_token": MASTODON_TOKEN},
        options=lambda url: {"instance_url": url, "max_characters": 500},
        account=_numeric_id(f"mastodon:{MASTODON_TOKEN}"),
        permalink=lambda entry, url: f"{url}/@user{entry.account}/{entry.remote_id}",
        ledger_key=str,
    ),
    PlatformCase(
        platform="x",
        credentials={
            "access_token": "4242-access-token",
            "access_token_secret": "fake-secret",
            "x_user_id": "4242",
            "username": "cityparks",
        },
        account="4242",
        permalink=lambda entry, url: f"https://x.com/cityparks/status/{entry.remote_id}",
    ),
    PlatformCase(
        platform="facebook",
        credentials={"page_access_token": "page-token-parks"},
        options=lambda url: {"page_id": PAGE_ID, "page_name": "City Parks"},
        account=PAGE_ID,
        permalink=lambda entry, url: f"https://www.facebook.com/{PAGE_ID}/posts/{entry.remote_id.split('_', 1)[1]}",
    ),
]


# --- One fake platform and one worker for the module --------------------------------------------------


@pytest.fixture(scope="module")
def fake() -> FakePlatform:
    with FakePlatform(webhook_receivers={WEBHOOK_RECEIVER: WEBHOOK_SECRET}) as server:
        yield server


@pytest.fixture(scope="module")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def queue_name() -> str:
    name = new_queue_name()
    yield name
    queue_delete(name)


@pytest.fixture(scope="module")
def platform_worker(django_db_setup, fake, queue_name, media_root, tmp_path_factory):  # noqa: ANN001, ANN201
    """`celery -A civicpost worker` on the test database, with every adapter pointed at the fake."""
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    urls = ",".join(f"{name}={url}" for name, url in platform_urls(fake.url).items())
    extra_env = {
        "CIVICPOST_PLATFORM_URLS": urls,
        "CIVICPOST_MEDIA_ROOT": str(media_root),
        "CIVICPOST_HTTP_TIMEOUT_SECONDS": "5",
        "CIVICPOST_X_CONSUMER_KEY": "fake-consumer-key",
        "CIVICPOST_X_CONSUMER_SECRET": "fake-consumer-secret",
    }
    with running_worker(queue_name, log_path, extra_env) as worker:
        yield worker, log_path


@pytest.fixture
def e2e(platform_worker, fake, queue_name, media_root, settings):  # noqa: ANN001, ANN201
    """Per test: an empty ledger and queue, this process's settings matching the worker's, tasks via Redis."""
    fake.reset()
    queue_purge(queue_name)
    settings.CIVICPOST_PLATFORM_URLS = platform_urls(fake.url)
    settings.MEDIA_ROOT = str(media_root)
    with tasks_through_the_broker():
        yield platform_worker


def dispatch_and_wait(delivery: Delivery, queue_name: str, worker_and_log) -> float:  # noqa: ANN001
    """Runs one dispatcher tick here and waits for the worker; returns the seconds from tick to outcome."""
    worker, log_path = worker_and_log
    report = publishing.dispatch_tick(
        enqueue=lambda delivery_id: publish_delivery.apply_async((delivery_id,), queue=queue_name)
    )
    assert report.claimed == [delivery.pk]
    elapsed = wait_until_settled(delivery, worker, log_path)
    assert delivery.status == DeliveryStatus.PUBLISHED, (
        f"{delivery.status} after {elapsed:.1f} s: {delivery.failure_message}\n{log_path.read_text()[-6000:]}"
    )
    return elapsed


def jpeg_upload(size: tuple[int, int] = (640, 480)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, format="JPEG")
    return SimpleUploadedFile("splash-pad.jpg", out.getvalue(), content_type="image/jpeg")


def approved_post_with_photo(personas, channel: Channel, text: str) -> Post:  # noqa: ANN001
    """Writes, submits and approves a post with one uploaded photo through the real services."""
    asset = media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload())
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text=text,
        link="",
        channels=[channel],
        due_at=timezone.now() + dt.timedelta(hours=2),
        media=[(asset, ALT_TEXT)],
    )
    services.post_submit(post=post, user=personas.alice)
    services.post_approve(post=post, user=personas.bob)
    post.refresh_from_db()
    return post


# --- The tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.platform for case in CASES])
def test_a_due_post_is_published_once_to_the_platform_by_a_real_worker(
    case: PlatformCase, personas, e2e, fake, queue_name, settings
) -> None:  # noqa: ANN001
    settings.SITE_URL = SITE_URL
    channel = ChannelFactory(
        department=personas.parks,
        platform=case.platform,
        display_name=f"Parks on {case.platform}",
        account_handle=case.handle,
        credentials=case.credentials,
        options=case.options(fake.url),
    )
    text = f"Splash pads open Saturday at 10 a.m. at every city park ({case.platform})."
    if case.with_image:
        post = approved_post_with_photo(personas, channel, text)
    else:
        post = approved_post(author=personas.alice, approver=personas.bob, channels=[channel], text=text)
    make_due(post)
    delivery = post.deliveries.get()

    elapsed = dispatch_and_wait(delivery, queue_name, e2e)

    [entry] = fake.ledger.find(platform=case.platform)
    assert len(fake.ledger) == 1
    assert (entry.account, entry.text) == (case.account, text)
    assert entry.idempotency_key == case.ledger_key(str(delivery.idempotency_key))
    if case.with_image:
        assert entry.extra["alt_texts"] == [ALT_TEXT]
    if case.records_image_url:
        photo_url = delivery.approval.content["media"][0]["url"]
        assert photo_url.startswith(f"{SITE_URL}/")
        assert entry.extra["media"] == [{"image_url": photo_url, "alt_text": ALT_TEXT}]
    assert (delivery.remote_id, delivery.permalink) == (entry.remote_id, case.permalink(entry, fake.url))
    assert delivery.published_at is not None
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 1
    if case.keeps_session:
        # The worker saves the renewed session just after it records the outcome (publishing.py: `finally`).
        channel = wait_for_saved_credentials(channel, "session_string")
        assert channel.credentials["session_string"].split(":::")[1] == case.account
        assert fake.stats["bluesky:sessions_created"] == 1
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED
    print(f"\n{case.platform}: published {elapsed:.2f} s after the dispatcher tick")


def wait_for_saved_credentials(channel: Channel, key: str, timeout: float = 10.0) -> Channel:
    deadline = time.monotonic() + timeout
    while True:
        channel.refresh_from_db()
        if key in channel.credentials or time.monotonic() > deadline:
            return channel
        time.sleep(0.05)


def feed_entries(client: Client, department_slug: str) -> dict[str, list[Any]]:
    """The department's RSS and Atom feeds, parsed."""
    entries = {}
    for variant in ("rss", "atom"):
        response = client.get(reverse(f"feeds:department_{variant}", kwargs={"department_slug": department_slug}))
        assert response.status_code == 200
        entries[variant] = feedparser.parse(response.content).entries
    return entries


def test_a_post_published_by_the_worker_to_the_city_feed_appears_once_in_rss_and_atom_with_a_stable_id(
    personas, e2e, queue_name, settings
) -> None:  # noqa: ANN001
    channel = ChannelFactory(
        department=personas.parks, platform="feed", display_name="Parks on the city website", credentials={}
    )
    first = approved_post(
        author=personas.alice, approver=personas.bob, channels=[channel], text="Pool opens at noon on Saturday."
    )
    make_due(first)
    first_delivery = first.deliveries.get()
    dispatch_and_wait(first_delivery, queue_name, e2e)
    client = Client()

    before = feed_entries(client, "parks")

    # The id the worker's adapter published with is the entry id, in both formats.
    expected_id = feed_entry_id(str(first_delivery.idempotency_key))
    assert first_delivery.remote_id == expected_id
    for variant, entries in before.items():
        [entry] = entries
        assert (entry.id, entry.title, entry.link) == (
            expected_id,
            "Pool opens at noon on Saturday.",
            first_delivery.permalink,
        ), variant
    assert before["rss"][0].guidislink is False

    # The site moves to another address and a second post goes out: the first entry keeps its id.
    settings.SITE_URL = "https://news.city.example"
    second = approved_post(
        author=personas.alice, approver=personas.bob, channels=[channel], text="Pool closes early on Sunday."
    )
    make_due(second)
    second_delivery = second.deliveries.get()
    dispatch_and_wait(second_delivery, queue_name, e2e)

    after = feed_entries(client, "parks")
    for variant, entries in after.items():
        ids = Counter(entry.id for entry in entries)
        assert ids == Counter({expected_id: 1, second_delivery.remote_id: 1}), variant
        assert [entry.title for entry in entries] == ["Pool closes early on Sunday.", "Pool opens at noon on Saturday."]
    assert Delivery.objects.filter(channel=channel, status=DeliveryStatus.PUBLISHED).count() == 2
    assert DeliveryAttempt.objects.filter(delivery__channel=channel).count() == 2
