"""Threads of posts on X (issue 17): a later part is POST /2/tweets with reply.in_reply_to_tweet_id
(https://docs.x.com/x-api/posts/create-post), and reconciling a part reads the account's replies too."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.utils import timezone

from scheduler.adapters.base import PostContent, ReplyTarget
from scheduler.adapters.x.adapter import XAdapter
from tests.scheduler import DEFAULT_TEXT
from tests.scheduler.adapters.x import test_adapter
from tests.scheduler.adapters.x.test_adapter import OAUTH2, TWEET_ID, TWEETS_URL, USER_TWEETS_URL, fixture, x_account

pytestmark = pytest.mark.django_db

x_app_keys = test_adapter.x_app_keys


@responses.activate
def test_a_reply_names_the_post_it_answers():
    responses.post(TWEETS_URL, json=fixture("create_tweet_201.json"), status=201)

    XAdapter(x_account()).publish(
        PostContent(text="Part two.", reply_to=ReplyTarget(remote_id="1850000000000000000")), idempotency_key="k"
    )

    (call,) = responses.calls
    assert json.loads(call.request.body) == {
        "text": "Part two.",
        "reply": {"in_reply_to_tweet_id": "1850000000000000000"},
    }
    assert call.request.headers["Authorization"] == f"Bearer {OAUTH2['access_token']}"


@responses.activate
def test_reconciling_a_reply_does_not_leave_replies_out():
    responses.get(USER_TWEETS_URL, json=fixture("users_tweets_200.json"))
    content = PostContent(text=DEFAULT_TEXT, link="https://city.example/splash-pads", reply_to=ReplyTarget("1"))

    found = XAdapter(x_account()).reconcile(
        content, idempotency_key="k", sent_at=timezone.now() - dt.timedelta(seconds=30)
    )

    assert found is not None and found.remote_id == TWEET_ID
    params = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert params["exclude"] == ["retweets"]


def test_x_takes_threads():
    assert XAdapter.supports_replies and XAdapter.supports_threads
