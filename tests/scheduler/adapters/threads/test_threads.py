"""Threads of posts on Threads (issue 17): a later part's container carries reply_to_id (the media id of the part
before), then is published as usual; a part left unknown is looked for among the profile's replies."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduler.adapters.base import PostContent, ReplyTarget
from tests.scheduler import DEFAULT_TEXT
from tests.scheduler.adapters import meta_helpers
from tests.scheduler.adapters.meta_helpers import calls_to, form, query
from tests.scheduler.adapters.threads.test_adapter import (
    CONTAINER,
    MEDIA_ID,
    THREADS,
    USER_ID,
    adapter,
    register_flow,
    th,
)

pytestmark = pytest.mark.django_db

fake = meta_helpers.fake
no_sleep = meta_helpers.no_sleep


def test_a_reply_container_names_the_post_it_answers(fake, no_sleep):
    register_flow(fake)

    result = adapter().publish(
        PostContent(text="Part two.", reply_to=ReplyTarget(remote_id="18000000000000001")), idempotency_key="k"
    )

    create = calls_to(fake, "POST", f"/v1.0/{USER_ID}/threads")[0]
    assert form(create) == {"media_type": "TEXT", "text": "Part two.", "reply_to_id": "18000000000000001"}
    assert [form(call) for call in calls_to(fake, "POST", f"/v1.0/{USER_ID}/threads_publish")] == [
        {"creation_id": CONTAINER}
    ]
    assert result.remote_id == MEDIA_ID


def test_a_reply_is_reconciled_among_the_profiles_replies(fake):
    fake.get(f"{THREADS}/{USER_ID}/replies", json=th("threads_recent"))

    found = adapter().reconcile(
        PostContent(text=DEFAULT_TEXT, reply_to=ReplyTarget(remote_id="1")),
        idempotency_key="k",
        sent_at=dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC),
    )

    assert found is not None and found.remote_id == MEDIA_ID
    assert query(fake.calls[0])["fields"] == "id,text,timestamp,permalink"
    assert fake.calls[0].request.url.split("?")[0] == f"{THREADS}/{USER_ID}/replies"
