"""A post's first comment on a LinkedIn Page (issue 17): POST /rest/socialActions/<encoded urn>/comments as the
organisation, with the versioned headers; a dropped answer is looked up among the post's comments."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from scheduler.adapters.base import PostContent, ReplyTarget
from scheduler.adapters.linkedin.adapter import LinkedInAdapter
from tests.scheduler.adapters.linkedin import test_adapter
from tests.scheduler.adapters.linkedin.test_adapter import API, ORG, SHARE, SHARE_ENCODED, TOKEN, account

pytestmark = pytest.mark.django_db

fake = test_adapter.fake
COMMENT_URN = "urn:li:comment:(urn:li:activity:7141234567890123456,7141299999999999999)"


def test_a_comment_is_posted_as_the_organisation(fake):
    route = fake.post(
        f"{API}/rest/socialActions/{SHARE_ENCODED}/comments",
        status=201,
        json={"$URN": COMMENT_URN, "actor": ORG, "object": SHARE, "message": {"text": "Hours: city.example/pools"}},
        headers={"x-restli-id": COMMENT_URN},
    )

    result = LinkedInAdapter(account()).publish(
        PostContent(text="Hours: city.example/pools", reply_to=ReplyTarget(remote_id=SHARE)), idempotency_key="k"
    )

    (call,) = route.calls
    assert json.loads(call.request.body) == {
        "actor": ORG,
        "object": SHARE,
        "message": {"text": "Hours: city.example/pools"},
    }
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.headers["LinkedIn-Version"]
    assert call.request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert result.remote_id == COMMENT_URN


def test_a_dropped_comment_answer_is_found_among_the_comments(fake):
    sent_at = timezone.now() - dt.timedelta(seconds=30)
    fake.get(
        f"{API}/rest/socialActions/{SHARE_ENCODED}/comments",
        json={
            "elements": [
                {
                    "$URN": COMMENT_URN,
                    "actor": ORG,
                    "object": SHARE,
                    "message": {"text": "Hours: city.example/pools"},
                    "created": {"time": int((sent_at + dt.timedelta(seconds=1)).timestamp() * 1000)},
                }
            ],
            "paging": {"count": 10, "start": 0},
        },
    )

    found = LinkedInAdapter(account()).reconcile(
        PostContent(text="Hours: city.example/pools", reply_to=ReplyTarget(remote_id=SHARE)),
        idempotency_key="k",
        sent_at=sent_at,
    )

    assert found is not None and found.remote_id == COMMENT_URN
