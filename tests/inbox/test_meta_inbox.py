"""The Facebook Page, Instagram and Threads adapters' inbox calls against `responses` on Meta's hosts, answering with
bodies shaped like the Graph references' examples (fixtures/facebook, instagram, threads): the exact requests, the
round cursor (one post per request, pages followed with `after`, a post done once a page holds nothing new), our own
comments left out, nested replies, a post deleted since, 429-style Graph limits, hide / unhide / delete."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import responses
import time_machine

from scheduler.adapters.base import ChannelAccount, ConversationItem, PublishError, RateLimited, ReplyTarget
from scheduler.adapters.facebook.adapter import FacebookPageAdapter
from scheduler.adapters.graph import COMMENTS_CLOCK_MARGIN
from scheduler.adapters.instagram.adapter import InstagramAdapter
from scheduler.adapters.threads.adapter import ThreadsAdapter
from tests.scheduler.adapters.meta_helpers import form, query

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
GRAPH = "https://graph.facebook.com/v27.0"
THREADS = "https://graph.threads.net/v1.0"
PAGE_ID = "104412345678901"
FB_POST = f"{PAGE_ID}_122100000000000001"
FB_OTHER_POST = f"{PAGE_ID}_122100000000000002"
IG_MEDIA = "17895695668004550"
TH_POST = "17890000000000001"
NOW = "2026-12-05T16:00:00Z"
NOW_EPOCH = 1796486400  # 2026-12-05T16:00:00Z


def fixture(platform: str, name: str):  # noqa: ANN201
    return json.loads((FIXTURES / platform / f"{name}.json").read_text())


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def facebook() -> FacebookPageAdapter:
    return FacebookPageAdapter(
        ChannelAccount(
            channel_id=1,
            display_name="City Parks and Recreation",
            credentials={"page_access_token": "EAAGPageToken"},
            options={"page_id": PAGE_ID},
        )
    )


def instagram() -> InstagramAdapter:
    return InstagramAdapter(
        ChannelAccount(
            channel_id=2,
            display_name="Parks on Instagram",
            credentials={"access_token": "EAAGPageToken"},
            options={"ig_user_id": "17841400008460056", "username": "cityparks", "flavour": "facebook_login"},
        )
    )


def threads() -> ThreadsAdapter:
    return ThreadsAdapter(
        ChannelAccount(
            channel_id=3,
            display_name="Parks on Threads",
            credentials={"access_token": "THQVJParksToken"},
            options={"threads_user_id": "17841400008460999", "username": "cityparks"},
        )
    )


# --- Facebook ------------------------------------------------------------------------------------------------

FB_FIELDS = (
    "id,message,created_time,from{id,name},permalink_url,is_hidden,parent{id},attachment{type,url,media,description}"
)


def test_facebook_reads_a_posts_comments_page_by_page_then_the_next_post(fake, settings) -> None:  # noqa: ANN001
    settings.CIVICPOST_META_APP_SECRET = ""
    fake.get(f"{GRAPH}/{FB_POST}/comments", json=fixture("facebook", "comments_page1"))
    fake.get(f"{GRAPH}/{FB_POST}/comments", json=fixture("facebook", "comments_page2"))
    fake.get(f"{GRAPH}/{FB_OTHER_POST}/comments", json={"data": [], "paging": {}})
    ours = [FB_OTHER_POST, FB_POST]

    first = facebook().fetch_conversation(None, our_remote_ids=ours)
    second = facebook().fetch_conversation(first.next_cursor, our_remote_ids=ours)
    third = facebook().fetch_conversation(second.next_cursor, our_remote_ids=ours)

    one, two, three = fake.calls
    assert one.request.headers["Authorization"] == "Bearer EAAGPageToken"
    assert query(one) == {"filter": "stream", "order": "reverse_chronological", "fields": FB_FIELDS, "limit": "50"}
    assert query(two) == {**query(one), "after": "QVFIUkZAlNWNQbzR2T0l"}
    assert three.request.url.startswith(f"{GRAPH}/{FB_OTHER_POST}/comments?")
    assert (first.more, second.more, third.more) == (True, True, False)
    assert [c.requests for c in (first, second, third)] == [1, 1, 1]
    (comment,) = first.items  # the Page's own comment is left out
    assert comment.remote_id == "122100000000000001_998877665544332" and comment.kind == "comment"
    assert comment.in_reply_to_remote_id == FB_POST and comment.root_remote_id == FB_POST
    assert comment.author_handle == "Ana Resident" and comment.author_name == "Ana Resident"
    assert comment.permalink.endswith("?comment_id=998877665544332")
    assert comment.media == ({"url": "https://scontent.xx.fbcdn.net/v/pool.jpg", "type": "photo", "alt_text": ""},)
    assert [item.text for item in second.items] == ["What are the pool hours?"]
    state = json.loads(third.next_cursor)
    assert state == {"a": "", "l": FB_OTHER_POST, "r": NOW_EPOCH, "s": NOW_EPOCH - 2 * 86400}


def test_facebook_next_round_reads_only_what_came_after_the_last_round_began(fake, settings) -> None:  # noqa: ANN001
    settings.CIVICPOST_META_APP_SECRET = ""
    fake.get(f"{GRAPH}/{FB_POST}/comments", json=fixture("facebook", "comments_page1"))
    started = NOW_EPOCH - 3600
    cursor = json.dumps({"s": started - 7200, "r": started, "l": FB_POST, "a": ""})

    page = facebook().fetch_conversation(cursor, our_remote_ids=[FB_POST])

    state = json.loads(page.next_cursor)
    assert state["s"] == started - int(COMMENTS_CLOCK_MARGIN.total_seconds()) and state["r"] == NOW_EPOCH
    # Page 1 holds comments newer than `since`, page 2 does not: the post is done after one more request.
    assert page.more is True and state["a"] == "QVFIUkZAlNWNQbzR2T0l"


def test_facebook_passes_over_a_post_deleted_since(fake, settings) -> None:  # noqa: ANN001
    settings.CIVICPOST_META_APP_SECRET = ""
    fake.get(f"{GRAPH}/{FB_POST}/comments", json=fixture("facebook", "object_gone"), status=400)

    page = facebook().fetch_conversation(None, our_remote_ids=[FB_POST])

    assert page.items == () and page.more is False and json.loads(page.next_cursor)["l"] == FB_POST


def test_facebook_page_limit_is_a_pause(fake, settings) -> None:  # noqa: ANN001
    settings.CIVICPOST_META_APP_SECRET = ""
    usage = {PAGE_ID: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    fake.get(
        f"{GRAPH}/{FB_POST}/comments",
        json=fixture("facebook", "rate_limited"),
        status=400,
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
    )

    with pytest.raises(RateLimited) as caught:
        facebook().fetch_conversation(None, our_remote_ids=[FB_POST])

    assert caught.value.retry_after == 420


def fb_item() -> ConversationItem:
    return ConversationItem(
        remote_id="122100000000000001_998877665544332",
        kind="comment",
        author_handle="Ana",
        text="",
        created_at=None,  # type: ignore[arg-type]
    )


def test_facebook_hide_unhide_and_delete_a_comment(fake, settings) -> None:  # noqa: ANN001
    settings.CIVICPOST_META_APP_SECRET = ""
    url = f"{GRAPH}/122100000000000001_998877665544332"
    fake.post(url, json=fixture("facebook", "success"))
    fake.delete(url, json=fixture("facebook", "success"))

    facebook().moderate(fb_item(), "hide")
    facebook().moderate(fb_item(), "unhide")
    facebook().moderate(fb_item(), "delete")

    hide, unhide, delete = fake.calls
    assert form(hide) == {"is_hidden": "true"} and form(unhide) == {"is_hidden": "false"}
    assert delete.request.method == "DELETE"


def test_facebook_deleting_a_comment_already_gone_counts_as_done(fake, settings) -> None:  # noqa: ANN001
    settings.CIVICPOST_META_APP_SECRET = ""
    fake.delete(f"{GRAPH}/122100000000000001_998877665544332", json=fixture("facebook", "object_gone"), status=400)

    result = facebook().moderate(fb_item(), "delete")

    assert result.done and result.raw["already_gone"] is True


def test_facebook_blocks_and_unblocks_the_comments_author_from_the_page(fake, settings) -> None:  # noqa: ANN001
    settings.CIVICPOST_META_APP_SECRET = ""
    fake.post(f"{GRAPH}/{PAGE_ID}/blocked", json={"6543210987654321": True})
    fake.delete(f"{GRAPH}/{PAGE_ID}/blocked", json={"success": True})
    item = replace(fb_item(), raw={"id": fb_item().remote_id, "from": {"id": "6543210987654321", "name": "Ana"}})

    blocked = facebook().moderate(item, "block")
    unblocked = facebook().moderate(item, "unblock")

    block, unblock = fake.calls
    assert block.request.method == "POST" and form(block) == {"user": '["6543210987654321"]'}
    assert unblock.request.method == "DELETE" and query(unblock)["user"] == "6543210987654321"
    assert urlsplit(unblock.request.url).path == f"/v27.0/{PAGE_ID}/blocked"
    assert blocked.raw == {"6543210987654321": True} and unblocked.raw == {"success": True}
    assert {"block"} <= FacebookPageAdapter.moderation_actions and "unblock" in FacebookPageAdapter.undo_actions


def test_facebook_block_needs_the_comments_author_and_a_confirmation(fake, settings) -> None:  # noqa: ANN001
    settings.CIVICPOST_META_APP_SECRET = ""
    with pytest.raises(PublishError):
        facebook().moderate(fb_item(), "block")  # no `from` in what was read: nobody to block
    assert len(fake.calls) == 0
    fake.post(f"{GRAPH}/{PAGE_ID}/blocked", json={"6543210987654321": False})
    item = replace(fb_item(), raw={"from": {"id": "6543210987654321"}})
    with pytest.raises(PublishError):
        facebook().moderate(item, "block")


def test_facebook_refuses_mute(fake) -> None:  # noqa: ANN001
    with pytest.raises(PublishError):
        facebook().moderate(fb_item(), "mute")
    assert len(fake.calls) == 0


# --- Instagram -----------------------------------------------------------------------------------------------


def test_instagram_reads_comments_with_their_replies_and_leaves_ours_out(fake, settings) -> None:  # noqa: ANN001
    settings.CIVICPOST_META_APP_SECRET = ""
    fake.get(f"{GRAPH}/{IG_MEDIA}/comments", json=fixture("instagram", "comments_page"))

    page = instagram().fetch_conversation(None, our_remote_ids=[IG_MEDIA])

    (call,) = fake.calls
    inner = "id,text,timestamp,username,from{id,username},hidden,parent_id"
    assert query(call) == {"fields": f"{inner},replies{{{inner}}}", "limit": "50"}
    comment, reply = page.items
    assert (
        comment.kind == "comment" and comment.in_reply_to_remote_id == IG_MEDIA and comment.root_remote_id == IG_MEDIA
    )
    assert comment.author_handle == "@ana.resident"
    assert comment.author_profile_url == "https://www.instagram.com/ana.resident/"
    assert reply.kind == "reply" and reply.in_reply_to_remote_id == "17873440459141021"
    assert reply.reply_details == {"comment_id": "17873440459141021"}
    assert page.more is False  # no next page


def test_instagram_answers_a_comment_under_its_top_level_comment(fake, settings) -> None:  # noqa: ANN001
    from scheduler.adapters.base import PostContent

    settings.CIVICPOST_META_APP_SECRET = ""
    fake.post(f"{GRAPH}/17873440459141021/replies", json={"id": "17870913679156999"})
    content = PostContent(
        text="Until 10 pm.",
        reply_to=ReplyTarget(
            remote_id="17870913679156915", root_remote_id=IG_MEDIA, details={"comment_id": "17873440459141021"}
        ),
    )

    result = instagram().publish(content, idempotency_key="k1")

    (call,) = fake.calls
    assert form(call) == {"message": "Until 10 pm."} and result.remote_id == "17870913679156999"


def test_instagram_hide_and_delete_a_comment(fake, settings) -> None:  # noqa: ANN001
    settings.CIVICPOST_META_APP_SECRET = ""
    fake.post(f"{GRAPH}/17873440459141021", json={"success": True})
    fake.delete(f"{GRAPH}/17873440459141021", json={"success": True})
    item = ConversationItem(remote_id="17873440459141021", kind="comment", author_handle="@a", text="", created_at=None)  # type: ignore[arg-type]

    instagram().moderate(item, "hide")
    instagram().moderate(item, "unhide")
    instagram().moderate(item, "delete")

    hide, unhide, delete = fake.calls
    assert form(hide) == {"hide": "true"} and form(unhide) == {"hide": "false"} and delete.request.method == "DELETE"


# --- Threads -------------------------------------------------------------------------------------------------


def test_threads_reads_the_conversation_newest_first_and_leaves_our_replies_out(fake) -> None:  # noqa: ANN001
    fake.get(f"{THREADS}/{TH_POST}/conversation", json=fixture("threads", "conversation_page"))

    page = threads().fetch_conversation(None, our_remote_ids=[TH_POST])

    (call,) = fake.calls
    assert call.request.headers["Authorization"] == "Bearer THQVJParksToken"
    assert query(call) == {
        "fields": "id,text,username,permalink,timestamp,media_type,media_url,hide_status,is_reply_owned_by_me,"
        "replied_to,root_post",
        "reverse": "true",
        "limit": "50",
    }
    top, nested = page.items
    assert top.kind == "reply" and top.in_reply_to_remote_id == TH_POST and top.root_remote_id == TH_POST
    assert top.author_handle == "@ana_resident" and top.author_profile_url == "https://www.threads.net/@ana_resident"
    assert top.permalink == "https://www.threads.net/@ana_resident/post/DAbc123"
    assert nested.in_reply_to_remote_id == "18050206876707110"
    assert nested.media == ({"url": "https://scontent.cdninstagram.com/trail.jpg", "type": "IMAGE", "alt_text": ""},)


def test_threads_hides_with_manage_reply_and_offers_nothing_else(fake) -> None:  # noqa: ANN001
    fake.post(f"{THREADS}/18050206876707110/manage_reply", json={"success": True})
    item = ConversationItem(remote_id="18050206876707110", kind="reply", author_handle="@a", text="", created_at=None)  # type: ignore[arg-type]

    threads().moderate(item, "hide")
    threads().moderate(item, "unhide")
    with pytest.raises(PublishError):
        threads().moderate(item, "delete")

    hide, unhide = fake.calls
    assert form(hide) == {"hide": "true"} and form(unhide) == {"hide": "false"}
    assert ThreadsAdapter.moderation_actions == frozenset({"hide"})
