"""Threads of posts on Bluesky (issue 17): each later part's record carries `reply: {root, parent}`, strong refs
{uri, cid} (lexicon app.bsky.feed.post#replyRef); root is part 1, parent the part before. Each part has its own
record key (from its own delivery's idempotency key). Exact requests asserted against respx."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
import time_machine
from django.utils import timezone

from scheduler import services
from scheduler.adapters.base import PostContent, PublishError, ReplyTarget
from scheduler.adapters.bluesky.adapter import record_key_for
from scheduler.models import DeliveryKind, DeliveryStatus
from tests.scheduler import make_due, tick
from tests.scheduler.adapters.bluesky import test_adapter
from tests.scheduler.adapters.bluesky.test_adapter import DID, NOW, body, fixture, make_adapter

pytestmark = pytest.mark.django_db

pds = test_adapter.pds
bluesky_channel = test_adapter.bluesky_channel

ROOT_URI = f"at://{DID}/app.bsky.feed.post/3lrootrootroo"
PARENT_URI = f"at://{DID}/app.bsky.feed.post/3lparentparen"
ROOT_CID = "bafyreiroot"
PARENT_CID = "bafyreiparent"


def _strong(uri: str, cid: str) -> dict:
    return {"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": cid}


@time_machine.travel(NOW, tick=False)
def test_a_reply_record_names_its_root_and_parent_with_their_cids(pds):
    key = "part-3-key"
    create = pds.post("/com.atproto.repo.createRecord").respond(
        json=fixture("create_record.json", rkey=record_key_for(key))
    )
    target = ReplyTarget(
        remote_id=PARENT_URI, root_remote_id=ROOT_URI, details={"cid": PARENT_CID, "root_cid": ROOT_CID}
    )

    make_adapter().publish(PostContent(text="Part three.", language="en", reply_to=target), idempotency_key=key)

    assert body(create.calls.last) == {
        "repo": DID,
        "collection": "app.bsky.feed.post",
        "rkey": record_key_for(key),
        "validate": True,
        "record": {
            "$type": "app.bsky.feed.post",
            "text": "Part three.",
            "createdAt": "2026-12-01T15:00:00.000Z",
            "langs": ["en"],
            "reply": {
                "$type": "app.bsky.feed.post#replyRef",
                "root": _strong(ROOT_URI, ROOT_CID),
                "parent": _strong(PARENT_URI, PARENT_CID),
            },
        },
    }


def test_a_missing_cid_is_read_with_get_record(pds):
    key = "part-2-key"
    rkey = "3lrootrootroo"
    lookup = pds.get(
        "/com.atproto.repo.getRecord", params={"repo": DID, "collection": "app.bsky.feed.post", "rkey": rkey}
    ).respond(json=fixture("get_record.json", rkey=rkey))
    create = pds.post("/com.atproto.repo.createRecord").respond(
        json=fixture("create_record.json", rkey=record_key_for(key))
    )

    make_adapter().publish(
        PostContent(text="Part two.", reply_to=ReplyTarget(remote_id=ROOT_URI, root_remote_id=ROOT_URI)),
        idempotency_key=key,
    )

    assert lookup.call_count == 1  # root and parent are the same post: read once
    cid = fixture("get_record.json", rkey=rkey)["cid"]
    reply = body(create.calls.last)["record"]["reply"]
    assert reply["root"] == reply["parent"] == _strong(ROOT_URI, cid)


def test_a_reply_to_a_post_that_is_gone_is_refused_for_good(pds):
    pds.get("/com.atproto.repo.getRecord").respond(400, json=fixture("error_record_not_found.json", rkey="x"))
    create = pds.post("/com.atproto.repo.createRecord")

    with pytest.raises(PublishError) as refused:
        make_adapter().publish(
            PostContent(text="Part two.", reply_to=ReplyTarget(remote_id=ROOT_URI)), idempotency_key="k"
        )

    assert refused.value.permanent
    assert create.call_count == 0


def test_a_thread_goes_out_in_order_with_root_and_parent_from_the_answers_kept(pds, personas, bluesky_channel):
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text="Snow plan, part one.",
        channels=[bluesky_channel],
        due_at=timezone.now() + dt.timedelta(hours=1),
        thread_parts=["Part two: main roads first.", "Part three: side streets."],
    )
    services.post_submit(post=post, user=personas.alice)
    services.post_approve(post=post, user=personas.bob)
    make_due(post)
    parts = list(post.deliveries.filter(kind=DeliveryKind.POST).order_by("part"))
    rkeys = [record_key_for(str(d.idempotency_key)) for d in parts]
    cids = ["bafyreipartone", "bafyreiparttwo", "bafyreipartthree"]
    answers = {
        rkey: {"uri": f"at://{DID}/app.bsky.feed.post/{rkey}", "cid": cid, "validationStatus": "valid"}
        for rkey, cid in zip(rkeys, cids, strict=True)
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answers[json.loads(request.content)["rkey"]])

    create = pds.post("/com.atproto.repo.createRecord").mock(side_effect=answer)
    lookup = pds.get("/com.atproto.repo.getRecord")

    tick(3)

    parts = list(post.deliveries.filter(kind=DeliveryKind.POST).order_by("part"))
    assert [d.status for d in parts] == [DeliveryStatus.PUBLISHED] * 3
    sent = [body(call) for call in create.calls]
    assert [request["rkey"] for request in sent] == rkeys
    uris = [answers[rkey]["uri"] for rkey in rkeys]
    assert "reply" not in sent[0]["record"]
    assert sent[1]["record"]["reply"]["root"] == _strong(uris[0], cids[0])
    assert sent[1]["record"]["reply"]["parent"] == _strong(uris[0], cids[0])
    assert sent[2]["record"]["reply"]["root"] == _strong(uris[0], cids[0])
    assert sent[2]["record"]["reply"]["parent"] == _strong(uris[1], cids[1])
    assert lookup.call_count == 0  # the cids came from the answers publishing kept
