"""A post's first comment on Instagram (issue 17): POST /{ig-media-id}/comments?message=…; a dropped answer is looked
up among the media's comments. Exact requests asserted against `responses`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from scheduler.adapters.base import PostContent, ReplyTarget
from tests.scheduler.adapters import meta_helpers
from tests.scheduler.adapters.instagram.test_adapter import GRAPH, MEDIA_ID, TOKEN, adapter
from tests.scheduler.adapters.meta_helpers import form, query

pytestmark = pytest.mark.django_db

fake = meta_helpers.fake
COMMENT_ID = "17858893269000001"


def test_a_comment_is_posted_on_the_media_it_answers(fake):
    route = fake.post(f"{GRAPH}/{MEDIA_ID}/comments", json={"id": COMMENT_ID})

    result = adapter().publish(
        PostContent(text="Hours: city.example/pools", reply_to=ReplyTarget(remote_id=MEDIA_ID)), idempotency_key="k"
    )

    (call,) = route.calls
    assert form(call) == {"message": "Hours: city.example/pools"}
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert result.remote_id == COMMENT_ID


def test_a_comment_needs_no_image():
    assert adapter().validate(PostContent(text="Hours", reply_to=ReplyTarget(remote_id=MEDIA_ID))) == []


def test_a_dropped_comment_answer_is_found_among_the_comments(fake):
    sent_at = timezone.now() - dt.timedelta(seconds=30)
    listing = fake.get(
        f"{GRAPH}/{MEDIA_ID}/comments",
        json={
            "data": [
                {
                    "id": COMMENT_ID,
                    "text": "Hours: city.example/pools",
                    "timestamp": (sent_at + dt.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S+0000"),
                }
            ]
        },
    )

    found = adapter().reconcile(
        PostContent(text="Hours: city.example/pools", reply_to=ReplyTarget(remote_id=MEDIA_ID)),
        idempotency_key="k",
        sent_at=sent_at,
    )

    assert found is not None and found.remote_id == COMMENT_ID
    assert query(listing.calls[0])["fields"] == "id,text,timestamp"
