"""The Mastodon adapter's inbox calls with the real Mastodon.py client against `responses`, answering with bodies
shaped like docs.joinmastodon.org's Notification and Relationship examples (fixtures/mastodon/): the exact
requests, the cursor, pagination, a deleted status, 429, block / mute, and a reply's in_reply_to_id."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.cache import cache
from django.utils import timezone

from inbox.models import ChannelInboxState, InboxItem
from inbox.services import channel_poll
from scheduler.adapters.base import ChannelAccount, ConversationItem, PostContent, RateLimited, ReplyTarget
from scheduler.adapters.mastodon.adapter import MastodonAdapter, instance_cache_key
from tests.factories import ChannelFactory
from tests.scheduler.adapters.mastodon.test_adapter import fixture as publish_fixture

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "mastodon"
INSTANCE = "http://127.0.0.1:8401"
NOTIFICATIONS_URL = f"{INSTANCE}/api/v1/notifications"
TOKEN = "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0"
OUR_STATUS = "113400000000000001"


def fixture(name: str):  # noqa: ANN201
    return json.loads((FIXTURES / name).read_text())


def make_adapter() -> MastodonAdapter:
    return MastodonAdapter(
        ChannelAccount(
            channel_id=0,
            display_name="Parks on Mastodon",
            credentials={"access_token": TOKEN},
            options={"instance_url": INSTANCE, "max_characters": 500},
        )
    )


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.delete(instance_cache_key(INSTANCE))
    yield
    cache.delete(instance_cache_key(INSTANCE))


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def query(call) -> dict[str, list[str]]:  # noqa: ANN001
    return parse_qs(urlsplit(call.request.url).query)


def test_the_first_read_takes_the_latest_mentions_and_remembers_the_newest_id(fake) -> None:  # noqa: ANN001
    fake.get(NOTIFICATIONS_URL, json=fixture("notifications_page.json"))

    page = make_adapter().fetch_conversation(None, our_remote_ids=[OUR_STATUS])

    (call,) = fake.calls
    assert call.request.method == "GET"
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert query(call) == {"types[]": ["mention"], "limit": ["80"]}
    assert page.next_cursor == "34975861" and page.more is False
    reply, mention = sorted(page.items, key=lambda item: item.remote_id)
    assert reply.kind == "reply" and reply.in_reply_to_remote_id == OUR_STATUS
    assert reply.remote_id == "113600000000000201"
    assert reply.author_handle == "@trwnh" and reply.author_profile_url == "https://social.city.example/@trwnh"
    assert reply.text == "@parks Is the splash pad open on Sundays too?\nAsking for my kids & me."
    assert reply.media == (
        {
            "url": fixture("notifications_page.json")[1]["status"]["media_attachments"][0]["url"],
            "type": "image",
            "alt_text": "A closed gate at the splash pad",
        },
    )
    assert reply.created_at == dt.datetime(2026, 12, 5, 18, 29, 1, tzinfo=dt.UTC)
    assert mention.kind == "mention" and mention.in_reply_to_remote_id == ""
    assert reply.raw["id"] == "34975860"


def test_later_reads_start_after_the_cursor_and_a_full_page_asks_for_more(fake) -> None:  # noqa: ANN001
    many = [{**fixture("notifications_page.json")[1], "id": str(40000000 + n)} for n in range(80)]
    fake.get(NOTIFICATIONS_URL, json=many)

    page = make_adapter().fetch_conversation("34975861", our_remote_ids=[OUR_STATUS])

    assert query(fake.calls[0]) == {"types[]": ["mention"], "min_id": ["34975861"], "limit": ["80"]}
    assert page.more is True and page.next_cursor == "40000079"


def test_a_notification_whose_status_was_deleted_is_reported_deleted(fake) -> None:  # noqa: ANN001
    gone = {**fixture("notifications_page.json")[1], "status": None}
    fake.get(NOTIFICATIONS_URL, json=[gone])

    (item,) = make_adapter().fetch_conversation("1", our_remote_ids=[]).items

    assert item.deleted is True and item.text == ""


def test_429_on_the_read_asks_to_wait_until_the_reset(fake) -> None:  # noqa: ANN001
    reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=200)
    fake.get(
        NOTIFICATIONS_URL,
        status=429,
        json=publish_fixture("error_429.json"),
        headers={"X-RateLimit-Reset": reset.isoformat(timespec="milliseconds").replace("+00:00", "Z")},
    )

    with pytest.raises(RateLimited) as caught:
        make_adapter().fetch_conversation("1", our_remote_ids=[])

    assert 190 <= caught.value.retry_after <= 201


def test_block_and_unmute_call_the_documented_account_endpoints(fake) -> None:  # noqa: ANN001
    fake.post(f"{INSTANCE}/api/v1/accounts/14715/block", json=fixture("relationship.json"))
    fake.post(f"{INSTANCE}/api/v1/accounts/14715/unmute", json=fixture("relationship.json"))
    item = ConversationItem(
        remote_id="113600000000000201",
        kind="reply",
        author_handle="@trwnh",
        text="x",
        created_at=timezone.now(),
        raw=fixture("notifications_page.json")[1],
    )

    result = make_adapter().moderate(item, "block")
    make_adapter().moderate(item, "unmute")

    assert [(c.request.method, c.request.url) for c in fake.calls] == [
        ("POST", f"{INSTANCE}/api/v1/accounts/14715/block"),
        ("POST", f"{INSTANCE}/api/v1/accounts/14715/unmute"),
    ]
    assert result.raw["blocking"] is True


def test_a_reply_is_sent_with_in_reply_to_id(fake) -> None:  # noqa: ANN001
    fake.post(f"{INSTANCE}/api/v1/statuses", json=publish_fixture("status.json"))
    fake.get(f"{INSTANCE}/api/v2/instance", json=publish_fixture("instance_v2.json"))

    make_adapter().publish(
        PostContent(text="Yes, Sundays too.", reply_to=ReplyTarget(remote_id="113600000000000201")),
        idempotency_key="key-1",
    )

    (post,) = [c for c in fake.calls if c.request.method == "POST"]
    body = post.request.body if isinstance(post.request.body, str) else post.request.body.decode()
    sent = json.loads(body) if body.startswith("{") else {k: v[0] for k, v in parse_qs(body).items()}
    assert sent["in_reply_to_id"] == "113600000000000201"
    assert post.request.headers["Idempotency-Key"] == "key-1"


def test_polling_a_mastodon_channel_stores_each_item_once_and_moves_the_cursor(personas, fake) -> None:  # noqa: ANN001
    channel = ChannelFactory(
        department=personas.parks,
        platform="mastodon",
        credentials={"access_token": TOKEN},
        options={"instance_url": INSTANCE, "max_characters": 500},
    )
    fake.get(NOTIFICATIONS_URL, json=fixture("notifications_page.json"))

    channel_poll(channel=channel, now=timezone.now())
    channel_poll(channel=channel, now=timezone.now())

    assert InboxItem.objects.filter(channel=channel).count() == 2
    assert ChannelInboxState.objects.get(channel=channel).cursor == "34975861"
    assert query(fake.calls[1])["min_id"] == ["34975861"]
