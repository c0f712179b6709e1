"""The X adapter's inbox calls with the real tweepy client against `responses` on api.twitter.com, answering with
bodies shaped like docs.x.com's mentions timeline, hide-replies and mutes examples (fixtures/x/): the exact requests,
the cursor across pages (since_id and pagination_token), 429, hide / unhide, mute / unmute; and the paid reads
counted against the department's X budget, switched off per channel."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import time_machine
from django.utils import timezone

from analytics.services import paid_reads_used
from inbox.models import ChannelInboxState, InboxItem
from inbox.services import channel_poll
from scheduler.adapters.base import ChannelAccount, ConversationItem, RateLimited
from scheduler.adapters.x.adapter import XAdapter
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "x"
USER_ID = "2244994945"
MENTIONS_URL = f"https://api.twitter.com/2/users/{USER_ID}/mentions"
OUR_POST = "1850000000000000100"
CREDENTIALS = {
    "access_token": "b2F1dGgyLXVzZXItdG9rZW4",
    "refresh_token": "b2xkLXJlZnJlc2gtdG9rZW4",
    "expires_at": "2099-01-01T00:00:00+00:00",
    "x_user_id": USER_ID,
    "username": "CityParks",
}
NOW = "2026-12-05T16:00:00Z"


def fixture(name: str):  # noqa: ANN201
    return json.loads((FIXTURES / name).read_text())


def adapter() -> XAdapter:
    return XAdapter(ChannelAccount(channel_id=1, display_name="Parks on X", credentials=dict(CREDENTIALS)))


def query(call) -> dict[str, list[str]]:  # noqa: ANN001
    return parse_qs(urlsplit(call.request.url).query)


FIELDS = {
    "max_results": ["100"],
    "tweet.fields": ["created_at,conversation_id,referenced_tweets,author_id,attachments"],
    "expansions": ["author_id,attachments.media_keys"],
    "user.fields": ["username,name"],
    "media.fields": ["url,type,alt_text,preview_image_url"],
}


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def test_the_first_read_takes_the_latest_page_and_keeps_its_newest_id(fake) -> None:  # noqa: ANN001
    fake.get(MENTIONS_URL, json=fixture("mentions_page1.json"))

    page = adapter().fetch_conversation(None, our_remote_ids=[OUR_POST])

    (call,) = fake.calls
    assert call.request.method == "GET"
    assert call.request.headers["Authorization"] == f"Bearer {CREDENTIALS['access_token']}"
    assert query(call) == FIELDS
    assert json.loads(page.next_cursor) == {"since": "1850000000000000302"} and page.more is False
    reply, quote = page.items  # our own post in the timeline is left out
    assert reply.kind == "reply" and reply.in_reply_to_remote_id == OUR_POST and reply.root_remote_id == OUR_POST
    assert reply.text == "@CityParks Is the Elm St pool heated? & open late?"
    assert reply.author_handle == "@ana_res" and reply.author_name == "Ana Resident"
    assert reply.author_profile_url == "https://x.com/ana_res"
    assert reply.permalink == "https://x.com/ana_res/status/1850000000000000302"
    assert reply.media == (
        {"url": "https://pbs.twimg.com/media/pool.jpg", "type": "photo", "alt_text": "The pool at dusk"},
    )
    assert reply.created_at.isoformat() == "2026-12-05T15:02:10+00:00"
    assert quote.kind == "quote" and quote.in_reply_to_remote_id == OUR_POST


def test_later_reads_page_back_to_since_id_and_move_the_cursor_only_after_the_last_page(fake) -> None:  # noqa: ANN001
    fake.get(MENTIONS_URL, json=fixture("mentions_page1.json"))
    fake.get(MENTIONS_URL, json=fixture("mentions_page2.json"))

    first = adapter().fetch_conversation(json.dumps({"since": "1850000000000000200"}), our_remote_ids=[OUR_POST])
    second = adapter().fetch_conversation(first.next_cursor, our_remote_ids=[OUR_POST])

    one, two = fake.calls
    assert query(one) == {**FIELDS, "since_id": ["1850000000000000200"]}
    assert query(two) == {
        **FIELDS,
        "since_id": ["1850000000000000200"],
        "pagination_token": ["7140dibdnow9c7btw481s8m561gat797rboud5r80xvzm"],
    }
    assert first.more is True
    assert json.loads(first.next_cursor)["since"] == "1850000000000000200"  # not moved while pages remain
    assert second.more is False and json.loads(second.next_cursor) == {"since": "1850000000000000302"}
    (mention,) = second.items
    assert mention.kind == "mention" and mention.in_reply_to_remote_id == ""


def test_an_empty_read_keeps_the_cursor(fake) -> None:  # noqa: ANN001
    fake.get(MENTIONS_URL, json=fixture("mentions_empty.json"))

    page = adapter().fetch_conversation('{"since":"1850000000000000302"}', our_remote_ids=[])

    assert page.items == () and json.loads(page.next_cursor) == {"since": "1850000000000000302"}


def test_429_is_a_pause_until_xs_reset_time(fake) -> None:  # noqa: ANN001
    reset = int(timezone.now().timestamp()) + 600
    fake.get(
        MENTIONS_URL, json=fixture("rate_limited_429.json"), status=429, headers={"x-rate-limit-reset": str(reset)}
    )

    with pytest.raises(RateLimited) as caught:
        adapter().fetch_conversation(None, our_remote_ids=[])

    assert 590 <= caught.value.retry_after <= 600


def item(raw: dict) -> ConversationItem:
    return ConversationItem(
        remote_id="1850000000000000302",
        kind="reply",
        author_handle="@ana_res",
        text="",
        created_at=timezone.now(),
        raw=raw,
    )


def test_hide_and_unhide_put_the_documented_body(fake) -> None:  # noqa: ANN001
    url = "https://api.twitter.com/2/tweets/1850000000000000302/hidden"
    fake.put(url, json=fixture("hidden_200.json"))

    adapter().moderate(item({"author_id": "9001"}), "hide")
    adapter().moderate(item({"author_id": "9001"}), "unhide")

    hide, unhide = fake.calls
    assert hide.request.method == "PUT" and json.loads(hide.request.body) == {"hidden": True}
    assert json.loads(unhide.request.body) == {"hidden": False}


def test_mute_and_unmute_name_the_author(fake) -> None:  # noqa: ANN001
    fake.post(f"https://api.twitter.com/2/users/{USER_ID}/muting", json=fixture("muting_200.json"))
    fake.delete(f"https://api.twitter.com/2/users/{USER_ID}/muting/9001", json={"data": {"muting": False}})

    result = adapter().moderate(item({"author_id": "9001"}), "mute")
    adapter().moderate(item({"author_id": "9001"}), "unmute")

    mute, unmute = fake.calls
    assert json.loads(mute.request.body) == {"target_user_id": "9001"}
    assert unmute.request.method == "DELETE"
    assert result.raw == {"data": {"muting": True}}


@time_machine.travel(NOW, tick=False)
def test_every_mentions_read_counts_against_the_departments_x_budget(fake, personas, settings) -> None:  # noqa: ANN001
    settings.CIVICPOST_X_MONTHLY_READ_BUDGET = 1
    channel = ChannelFactory(department=personas.parks, platform="x", credentials=dict(CREDENTIALS))
    fake.get(MENTIONS_URL, json=fixture("mentions_page1.json"))

    channel_poll(channel=channel, now=timezone.now())
    channel_poll(channel=channel, now=timezone.now())  # the budget is used up: no second request

    assert len(fake.calls) == 1
    assert paid_reads_used(department_id=personas.parks.pk, platform="x", now=timezone.now()) == 1
    assert InboxItem.objects.filter(channel=channel).count() == 2
    state = ChannelInboxState.objects.get(channel=channel)
    assert "budget" in state.last_problem


def test_a_channel_switched_off_is_never_read(fake, personas) -> None:  # noqa: ANN001
    channel = ChannelFactory(department=personas.parks, platform="x", credentials=dict(CREDENTIALS))
    ChannelInboxState.objects.create(channel=channel, enabled=False)

    channel_poll(channel=channel, now=timezone.now())

    assert len(fake.calls) == 0


def test_a_department_that_switched_off_paid_reads_reads_no_x_channel(fake, personas) -> None:  # noqa: ANN001
    from inbox.services import inbox_settings_save

    channel = ChannelFactory(department=personas.parks, platform="x", credentials=dict(CREDENTIALS))
    inbox_settings_save(
        department=personas.parks,
        user=personas.dana,
        replies_need_approval=False,
        response_target_hours=24,
        urgency_keywords=[],
        watcher_ids=[],
        paid_reads_enabled=False,
    )

    channel_poll(channel=channel, now=timezone.now())

    assert len(fake.calls) == 0
    assert "switched off" in ChannelInboxState.objects.get(channel=channel).last_problem
