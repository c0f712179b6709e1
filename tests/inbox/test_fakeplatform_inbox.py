"""The inbox against the fake platform server over real HTTP: a Mastodon channel's residents' mentions read page
after page within the request budget, from the stored cursor, nothing twice; a reply answered from the inbox goes
out once through publishing with the resident's status as in_reply_to_id."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from inbox.models import ChannelInboxState, InboxItem
from inbox.services import channel_poll, item_reply
from scheduler.adapters.mastodon.adapter import instance_cache_key
from scheduler.models import Channel, Delivery
from tests.factories import ChannelFactory
from tests.fakeplatform import FakePlatform
from tests.fakeplatform.server import _numeric_id
from tests.scheduler import tick

pytestmark = pytest.mark.django_db

TOKEN = "mastodon-token-parks-inbox"


@pytest.fixture
def fake():
    with FakePlatform(seed=15) as server:
        yield server


@pytest.fixture
def channel(personas, fake: FakePlatform, settings) -> Channel:  # noqa: ANN001
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 2
    from django.core.cache import cache  # the instance limits are cached per instance URL

    cache.delete(instance_cache_key(fake.url))
    return ChannelFactory(
        department=personas.parks,
        platform="mastodon",
        credentials={"access_token": TOKEN},
        options={"instance_url": fake.url, "max_characters": 500},
    )


def test_mentions_are_read_page_by_page_within_the_budget_and_never_twice(
    channel: Channel, fake: FakePlatform, settings
) -> None:  # noqa: ANN001
    settings.CIVICPOST_INBOX_REQUESTS_PER_CHANNEL = 2
    fake.add_mastodon_mentions(TOKEN, 200, in_reply_to_id="1")  # our "first read" takes only the latest page
    channel_poll(channel=channel, now=timezone.now())
    assert InboxItem.objects.filter(channel=channel).count() == 80
    fake.add_mastodon_mentions(TOKEN, 170, in_reply_to_id="1")

    channel_poll(channel=channel, now=timezone.now())  # two requests: 160 of the 170

    assert InboxItem.objects.filter(channel=channel).count() == 240
    channel_poll(channel=channel, now=timezone.now())  # the last 10, then nothing

    assert InboxItem.objects.filter(channel=channel).count() == 250
    assert InboxItem.objects.filter(channel=channel).values("remote_id").distinct().count() == 250
    reads = [path for method, path in fake.request_log if path.startswith("/api/v1/notifications")]
    assert len(reads) == 4
    state = ChannelInboxState.objects.get(channel=channel)
    newest = fake.mastodon_notifications[_numeric_id(f"mastodon:{TOKEN}")][-1]["id"]
    assert state.cursor == newest and state.requests_total == 4


def test_a_reply_from_the_inbox_reaches_the_platform_once_as_a_reply(
    channel: Channel, fake: FakePlatform, personas
) -> None:  # noqa: ANN001
    fake.add_mastodon_mentions(TOKEN, 1, in_reply_to_id="1")
    channel_poll(channel=channel, now=timezone.now())
    item = InboxItem.objects.get(channel=channel)

    reply = item_reply(item=item, user=personas.alice, text="The pool opens at 10.")
    Delivery.objects.filter(post=reply.post).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    tick(2)

    (entry,) = [e for e in fake.ledger.entries() if e["text"] == "The pool opens at 10."]
    assert entry["extra"]["in_reply_to_id"] == item.remote_id
    assert Delivery.objects.get(post=reply.post).status == "published"
