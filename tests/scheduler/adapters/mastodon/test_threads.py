"""Threads of posts on Mastodon (issue 17): each later part is a status with `in_reply_to_id` naming the part
before (https://docs.joinmastodon.org/methods/statuses/#create), sent with its own delivery's Idempotency-Key.
The exact requests are asserted against `responses`."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from scheduler import services
from scheduler.adapters.base import PostContent, ReplyTarget
from scheduler.models import DeliveryKind, DeliveryStatus
from tests.scheduler import make_due, tick
from tests.scheduler.adapters.mastodon import test_adapter
from tests.scheduler.adapters.mastodon.test_adapter import STATUSES_URL, TOKEN, fixture, form, make_adapter

pytestmark = pytest.mark.django_db

fake = test_adapter.fake
mastodon_channel = test_adapter.mastodon_channel
_fresh_cache_and_no_waiting = test_adapter._fresh_cache_and_no_waiting


def _status(status_id: str, reply_to: str | None = None) -> dict:
    body = fixture("status.json")
    return {
        **body,
        "id": status_id,
        "url": f"https://social.city.example/@parks/{status_id}",
        "in_reply_to_id": reply_to,
    }


def test_a_reply_names_the_status_it_answers(fake):
    fake.post(STATUSES_URL, json=_status("200", reply_to="100"))
    key = str(uuid.uuid4())

    result = make_adapter().publish(
        PostContent(text="Part two.", language="en", reply_to=ReplyTarget(remote_id="100", root_remote_id="100")),
        idempotency_key=key,
    )

    (call,) = fake.calls
    assert call.request.headers["Idempotency-Key"] == key
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert form(call) == {
        "status": ["Part two."],
        "in_reply_to_id": ["100"],
        "visibility": ["public"],
        "language": ["en"],
        "sensitive": ["0"],
    }
    assert result.remote_id == "200"


def test_mastodon_takes_threads():
    adapter = make_adapter()
    assert adapter.supports_replies and adapter.supports_threads
    assert adapter.validate(PostContent(text="Part two.", reply_to=ReplyTarget(remote_id="1"))) == []


def test_a_thread_goes_out_in_order_each_part_replying_to_the_one_before(fake, personas, mastodon_channel):
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text="Snow plan, part one.",
        channels=[mastodon_channel],
        due_at=timezone.now() + dt.timedelta(hours=1),
        thread_parts=["Part two: main roads first.", "Part three: side streets."],
    )
    services.post_submit(post=post, user=personas.alice)
    services.post_approve(post=post, user=personas.bob)
    make_due(post)
    fake.post(STATUSES_URL, json=_status("101"))
    fake.post(STATUSES_URL, json=_status("102", reply_to="101"))
    fake.post(STATUSES_URL, json=_status("103", reply_to="102"))

    tick(3)

    parts = list(post.deliveries.filter(kind=DeliveryKind.POST).order_by("part"))
    assert [d.status for d in parts] == [DeliveryStatus.PUBLISHED] * 3
    assert [d.remote_id for d in parts] == ["101", "102", "103"]
    sent = [call for call in fake.calls if call.request.url == STATUSES_URL]
    assert [form(call)["status"] for call in sent] == [
        ["Snow plan, part one."],
        ["Part two: main roads first."],
        ["Part three: side streets."],
    ]
    assert [form(call).get("in_reply_to_id") for call in sent] == [None, ["101"], ["102"]]
    assert [call.request.headers["Idempotency-Key"] for call in sent] == [str(d.idempotency_key) for d in parts]
