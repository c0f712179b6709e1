"""A post's first comment on a Facebook Page (issue 17): POST /{post-id}/comments {message}, after the post, through
the same delivery path; a dropped answer is looked up among the post's comments; a failed comment never sends the
post again. Exact requests asserted against `responses`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from scheduler import services
from scheduler.adapters.base import PostContent, ReplyTarget
from scheduler.models import DeliveryKind, DeliveryStatus
from tests.scheduler import make_due, tick
from tests.scheduler.adapters import meta_helpers
from tests.scheduler.adapters.facebook import test_adapter
from tests.scheduler.adapters.facebook.test_adapter import GRAPH, POST_ID, TOKEN, adapter, publish_ok
from tests.scheduler.adapters.meta_helpers import calls_to, form, query

pytestmark = pytest.mark.django_db

fake = meta_helpers.fake
facebook_channel = test_adapter.facebook_channel
COMMENT_ID = "122100000000000001_987654321"


def test_a_comment_is_posted_on_the_post_it_answers(fake):
    route = fake.post(f"{GRAPH}/{POST_ID}/comments", json={"id": COMMENT_ID})

    result = adapter().publish(
        PostContent(text="Details: city.example/pools", reply_to=ReplyTarget(remote_id=POST_ID)), idempotency_key="k"
    )

    (call,) = route.calls
    assert form(call) == {"message": "Details: city.example/pools"}
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert result.remote_id == COMMENT_ID


def test_a_dropped_comment_answer_is_found_among_the_comments(fake):
    sent_at = timezone.now() - dt.timedelta(seconds=30)
    listing = fake.get(
        f"{GRAPH}/{POST_ID}/comments",
        json={
            "data": [
                {
                    "id": COMMENT_ID,
                    "message": "Details: city.example/pools",
                    "created_time": (sent_at + dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S+0000"),
                    "from": {"id": test_adapter.PAGE_ID, "name": "City Parks and Recreation"},
                }
            ]
        },
    )

    found = adapter().reconcile(
        PostContent(text="Details: city.example/pools", reply_to=ReplyTarget(remote_id=POST_ID)),
        idempotency_key="k",
        sent_at=sent_at,
    )

    assert found is not None and found.remote_id == COMMENT_ID
    params = query(listing.calls[0])
    assert (params["filter"], params["order"]) == ("stream", "reverse_chronological")


def test_the_first_comment_follows_the_post_through_the_dispatcher(fake, personas, facebook_channel):
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text="Pools open Saturday.",
        channels=[facebook_channel],
        due_at=timezone.now() + dt.timedelta(hours=1),
        first_comment="Hours and prices: city.example/pools",
    )
    services.post_submit(post=post, user=personas.alice)
    services.post_approve(post=post, user=personas.bob)
    make_due(post)
    publish_ok(fake)
    comment_route = fake.post(f"{GRAPH}/{POST_ID}/comments", json={"id": COMMENT_ID})

    tick(2)

    comment = post.deliveries.get(kind=DeliveryKind.FIRST_COMMENT)
    assert comment.status == DeliveryStatus.PUBLISHED
    assert comment.remote_id == COMMENT_ID
    assert len(calls_to(fake, "POST", f"/v27.0/{test_adapter.PAGE_ID}/feed")) == 1
    assert [form(call) for call in comment_route.calls] == [{"message": "Hours and prices: city.example/pools"}]


def test_a_refused_first_comment_fails_alone_and_the_post_is_not_sent_again(fake, personas, facebook_channel):
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text="Pools open Saturday.",
        channels=[facebook_channel],
        due_at=timezone.now() + dt.timedelta(hours=1),
        first_comment="Hours and prices: city.example/pools",
    )
    services.post_submit(post=post, user=personas.alice)
    services.post_approve(post=post, user=personas.bob)
    make_due(post)
    publish_ok(fake)
    fake.post(
        f"{GRAPH}/{POST_ID}/comments",
        status=400,
        json={"error": {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100}},
    )

    tick(3)

    main = post.deliveries.get(kind=DeliveryKind.POST)
    comment = post.deliveries.get(kind=DeliveryKind.FIRST_COMMENT)
    assert main.status == DeliveryStatus.PUBLISHED
    assert comment.status == DeliveryStatus.FAILED
    assert comment.failure_message.startswith("The first comment was not published on Facebook Page (the post itself")
    assert main.attempts == 1
    assert len(calls_to(fake, "POST", f"/v27.0/{test_adapter.PAGE_ID}/feed")) == 1
