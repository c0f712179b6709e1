"""The Bluesky adapter's inbox calls with the real atproto client against `respx`, answering with bodies shaped
like the lexicons (app.bsky.notification.listNotifications, app.bsky.feed.threadgate) and docs.bsky.app's
examples: the exact requests, the sweep cursor, pagination back in time, 429, hiding a reply with the threadgate,
muting, and a reply's root / parent."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx
from django.utils import timezone

from scheduler.adapters.base import ConversationItem, PostContent, RateLimited, ReplyTarget
from tests.scheduler.adapters.bluesky.test_adapter import DID, XRPC, make_adapter
from tests.scheduler.adapters.bluesky.test_adapter import fixture as publish_fixture

FIXTURES = Path(__file__).parent / "fixtures" / "bluesky"
OUR_POST = f"at://{DID}/app.bsky.feed.post/3lbqqqparkspost"
OUR_CID = "bafyreiparkspostcid00000000000000000000000000000000000000"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def pds():
    with respx.mock(base_url=XRPC, assert_all_called=False, assert_all_mocked=True) as router:
        yield router


def params(call) -> list[tuple[str, str]]:  # noqa: ANN001
    return sorted(httpx.URL(str(call.request.url)).params.multi_items())


def test_the_first_read_takes_the_newest_page_and_remembers_where_it_stopped(pds) -> None:  # noqa: ANN001
    route = pds.get("/app.bsky.notification.listNotifications").respond(json=fixture("list_notifications.json"))

    page = make_adapter().fetch_conversation(None, our_remote_ids=[OUR_POST])

    assert params(route.calls[0]) == [
        ("limit", "100"),
        ("reasons", "mention"),
        ("reasons", "quote"),
        ("reasons", "reply"),
    ]
    assert route.calls[0].request.headers["Authorization"].startswith("Bearer ")
    assert json.loads(page.next_cursor) == {"seen": "2026-12-05T18:30:01.000Z"}
    assert page.more is False
    reply, mention = page.items
    assert reply.kind == "reply" and reply.in_reply_to_remote_id == OUR_POST and reply.root_remote_id == OUR_POST
    assert reply.author_handle == "@maria.bsky.social" and reply.author_name == "Maria López"
    assert reply.author_profile_url.endswith("/profile/maria.bsky.social")
    assert reply.permalink.endswith("/profile/maria.bsky.social/post/3lbqrjoxez22a")
    assert reply.reply_details == {
        "cid": "bafyreiresidentreplycid000000000000000000000000000000000",
        "root_cid": OUR_CID,
    }
    assert reply.created_at.isoformat() == "2026-12-05T18:30:00+00:00"
    assert mention.kind == "mention" and mention.in_reply_to_remote_id == "" and "flooding" in mention.text


def test_a_sweep_pages_back_until_it_meets_what_was_read_and_skips_nothing(pds) -> None:  # noqa: ANN001
    newer = fixture("list_notifications.json")
    for n in newer["notifications"]:
        n["indexedAt"] = n["indexedAt"].replace("2026-12-05T18", "2026-12-05T20")
    older = fixture("list_notifications.json")
    older["cursor"] = "older-page"
    route = pds.get("/app.bsky.notification.listNotifications")
    route.side_effect = [httpx.Response(200, json=newer), httpx.Response(200, json=older)]
    adapter = make_adapter()
    start = json.dumps({"seen": "2026-12-05T18:26:00.000Z"})

    first = adapter.fetch_conversation(start, our_remote_ids=[])
    second = adapter.fetch_conversation(first.next_cursor, our_remote_ids=[])

    assert first.more is True and len(first.items) == 2
    assert json.loads(first.next_cursor) == {
        "seen": "2026-12-05T18:26:00.000Z",
        "page": "2026-12-05T18:20:00.000Z",
        "top": "2026-12-05T20:30:01.000Z",
    }
    assert ("cursor", "2026-12-05T18:20:00.000Z") in params(route.calls[1])
    # The second page holds one item newer than `seen` (18:30) and one already read (18:25): the sweep ends.
    assert [item.remote_id for item in second.items] == [newer["notifications"][0]["uri"]]
    assert second.more is False and json.loads(second.next_cursor) == {"seen": "2026-12-05T20:30:01.000Z"}


def test_429_asks_to_wait(pds) -> None:  # noqa: ANN001
    pds.get("/app.bsky.notification.listNotifications").respond(
        429, json=publish_fixture("error_rate_limited.json"), headers={"ratelimit-reset": "9999999999"}
    )
    with pytest.raises(RateLimited):
        make_adapter().fetch_conversation(None, our_remote_ids=[])


def _resident_reply() -> ConversationItem:
    notification = fixture("list_notifications.json")["notifications"][0]
    return ConversationItem(
        remote_id=notification["uri"],
        kind="reply",
        author_handle="@maria.bsky.social",
        text="x",
        created_at=timezone.now(),
        in_reply_to_remote_id=OUR_POST,
        root_remote_id=OUR_POST,
        raw=notification,
    )


def test_hiding_a_reply_adds_it_to_the_threadgate_of_our_post_and_keeps_its_rules(pds) -> None:  # noqa: ANN001
    existing = {
        "uri": f"at://{DID}/app.bsky.feed.threadgate/3lbqqqparkspost",
        "cid": "bafyreigate",
        "value": {
            "$type": "app.bsky.feed.threadgate",
            "post": OUR_POST,
            "allow": [{"$type": "app.bsky.feed.threadgate#followingRule"}],
            "hiddenReplies": ["at://did:plc:other/app.bsky.feed.post/1"],
            "createdAt": "2026-12-01T10:00:00.000Z",
        },
    }
    get = pds.get("/com.atproto.repo.getRecord").respond(json=existing)
    put = pds.post("/com.atproto.repo.putRecord").respond(
        json={"uri": existing["uri"], "cid": "bafyreigate2", "commit": {"cid": "bafyreicommit", "rev": "3l"}}
    )

    result = make_adapter().moderate(_resident_reply(), "hide")

    assert params(get.calls[0]) == [
        ("collection", "app.bsky.feed.threadgate"),
        ("repo", DID),
        ("rkey", "3lbqqqparkspost"),
    ]
    sent = json.loads(put.calls[0].request.content)
    assert (
        sent["repo"] == DID and sent["collection"] == "app.bsky.feed.threadgate" and sent["rkey"] == "3lbqqqparkspost"
    )
    assert sent["record"]["post"] == OUR_POST
    assert sent["record"]["allow"] == [{"$type": "app.bsky.feed.threadgate#followingRule"}]
    assert sent["record"]["hiddenReplies"] == [
        "at://did:plc:other/app.bsky.feed.post/1",
        _resident_reply().remote_id,
    ]
    assert result.done


def test_hiding_under_a_post_without_a_threadgate_creates_one(pds) -> None:  # noqa: ANN001
    pds.get("/com.atproto.repo.getRecord").respond(400, json=publish_fixture("error_record_not_found.json", rkey="x"))
    put = pds.post("/com.atproto.repo.putRecord").respond(
        json={"uri": f"at://{DID}/app.bsky.feed.threadgate/3lbqqqparkspost", "cid": "bafyreigate"}
    )

    make_adapter().moderate(_resident_reply(), "hide")

    record = json.loads(put.calls[0].request.content)["record"]
    assert record["$type"] == "app.bsky.feed.threadgate" and "allow" not in record
    assert record["hiddenReplies"] == [_resident_reply().remote_id]


def test_muting_the_author_calls_mute_actor(pds) -> None:  # noqa: ANN001
    mute = pds.post("/app.bsky.graph.muteActor").respond(200)

    make_adapter().moderate(_resident_reply(), "mute")

    assert json.loads(mute.calls[0].request.content) == {"actor": "did:plc:resident111111111111111"}


def test_a_reply_names_its_parent_and_the_root_with_their_cids(pds) -> None:  # noqa: ANN001
    create = pds.post("/com.atproto.repo.createRecord").respond(json=publish_fixture("create_record.json", rkey="r1"))
    item = _resident_reply()

    make_adapter().publish(
        PostContent(
            text="Yes, Sundays from 10.",
            reply_to=ReplyTarget(
                remote_id=item.remote_id,
                root_remote_id=OUR_POST,
                details={"cid": "bafyreiresidentreplycid000000000000000000000000000000000", "root_cid": OUR_CID},
            ),
        ),
        idempotency_key="3f2c1f9e-0000-4000-8000-000000000001",
    )

    reply = json.loads(create.calls[0].request.content)["record"]["reply"]
    # atproto writes $type on every object, which the lexicon allows.
    parent = {key: value for key, value in reply["parent"].items() if key != "$type"}
    root = {key: value for key, value in reply["root"].items() if key != "$type"}
    assert parent == {"uri": item.remote_id, "cid": "bafyreiresidentreplycid000000000000000000000000000000000"}
    assert root == {"uri": OUR_POST, "cid": OUR_CID}
