"""The inbox against the fake platform server over real HTTP for X, Facebook, Instagram and Threads: residents'
comments, replies and mentions read from the stored cursor within the per-channel request budget, page after page,
nothing twice; a comment the resident deleted; the platform's rate limit pausing the channel; replies published
through the exactly-once path; hide / unhide / delete on the record, citing a clause."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from civicpost.exceptions import ApplicationError
from inbox.models import ChannelInboxState, InboxItem, ModerationAction, ModerationOutcome
from inbox.services import channel_poll, item_moderate, item_reply, moderation_undo
from scheduler.models import Channel, Delivery, DeliveryStatus
from tests.factories import ChannelFactory
from tests.fakeplatform import FakePlatform
from tests.inbox import clause, published_post
from tests.scheduler import tick

pytestmark = pytest.mark.django_db

PAGE_ID = "104412345678901"
X_USER = "2244994945"


@pytest.fixture
def fake():
    with FakePlatform(seed=15) as server:
        yield server


@pytest.fixture
def urls(fake: FakePlatform, settings, monkeypatch):  # noqa: ANN001, ANN201
    from scheduler.adapters import graph as graph_module

    settings.CIVICPOST_PLATFORM_URLS = {
        "x": fake.url,
        "facebook": fake.url,
        "instagram": f"{fake.url}/instagram",
        "threads": f"{fake.url}/threads",
    }
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 2
    settings.CIVICPOST_META_APP_SECRET = ""
    monkeypatch.setattr(graph_module, "_sleep", lambda seconds: None)
    return settings


def reads(fake: FakePlatform, needle: str) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(path).query) for method, path in fake.request_log if method == "GET" and needle in path]


def publish_due_replies() -> None:
    Delivery.objects.filter(status=DeliveryStatus.SCHEDULED).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    tick(2)


# --- Facebook ------------------------------------------------------------------------------------------------


@pytest.fixture
def facebook(personas, urls) -> Channel:  # noqa: ANN001
    return ChannelFactory(
        department=personas.parks,
        platform="facebook",
        credentials={"page_access_token": "page-token-parks"},
        options={"page_id": PAGE_ID},
    )


def test_facebook_comments_are_read_page_by_page_within_the_budget_and_never_twice(
    facebook: Channel, fake: FakePlatform, personas, settings
) -> None:  # noqa: ANN001
    settings.CIVICPOST_INBOX_REQUESTS_PER_CHANNEL = 2
    post = published_post(author=personas.alice, approver=personas.bob, channel=facebook)
    post_id = Delivery.objects.get(post=post).remote_id
    fake.add_comments("facebook", post_id, 120)

    channel_poll(channel=facebook, now=timezone.now())  # 2 requests: 100 of the 120
    assert InboxItem.objects.filter(channel=facebook).count() == 100
    channel_poll(channel=facebook, now=timezone.now())  # the last 20: the round is over

    assert InboxItem.objects.filter(channel=facebook).count() == 120
    assert set(InboxItem.objects.filter(channel=facebook).values_list("delivery__post", flat=True)) == {post.pk}
    pages = reads(fake, f"/{post_id}/comments")
    assert [q.get("after") is None for q in pages] == [True, False, False]
    assert all(q["filter"] == ["stream"] and q["order"] == ["reverse_chronological"] for q in pages)
    assert ChannelInboxState.objects.get(channel=facebook).requests_total == 3


def test_facebook_reply_hide_and_delete_from_the_inbox(facebook: Channel, fake: FakePlatform, personas) -> None:  # noqa: ANN001
    post = published_post(author=personas.alice, approver=personas.bob, channel=facebook)
    post_id = Delivery.objects.get(post=post).remote_id
    rude, question, gone = fake.add_comments("facebook", post_id, 3)
    channel_poll(channel=facebook, now=timezone.now())
    items = {item.remote_id: item for item in InboxItem.objects.filter(channel=facebook)}
    rule = clause()

    reply = item_reply(item=items[question], user=personas.alice, text="The pool opens at 10.")
    publish_due_replies()
    hidden = item_moderate(item=items[rude], user=personas.alice, action="hide", clause_id=rule.pk, note="Threat")
    fake.delete_resident_comment(gone)
    deleted = item_moderate(item=items[gone], user=personas.alice, action="delete", clause_id=rule.pk, note="Spam")

    assert Delivery.objects.get(post=reply.post).status == "published"
    (answer,) = [e for e in fake.ledger.entries() if e["text"] == "The pool opens at 10."]
    assert answer["extra"]["reply_to"] == question
    assert hidden.outcome == ModerationOutcome.DONE and fake.comments.by_id[rude]["hidden"] is True
    assert deleted.outcome == ModerationOutcome.DONE and deleted.response["already_gone"] is True
    assert InboxItem.objects.get(pk=items[rude].pk).hidden
    assert ("POST", f"/v27.0/{rude}") in [(m, urlsplit(p).path) for m, p in fake.request_log]


def test_facebook_block_the_author_citing_a_clause_then_unblock(
    facebook: Channel, fake: FakePlatform, personas
) -> None:  # noqa: ANN001
    post = published_post(author=personas.alice, approver=personas.bob, channel=facebook)
    (rude,) = fake.add_comments("facebook", Delivery.objects.get(post=post).remote_id, 1)
    channel_poll(channel=facebook, now=timezone.now())
    item = InboxItem.objects.get(channel=facebook, remote_id=rude)
    author_id = fake.comments.by_id[rude]["author_id"]
    rule = clause()

    with pytest.raises(ApplicationError):
        item_moderate(item=item, user=personas.alice, action="block", clause_id=None, note="Threats")
    assert not fake.comments.blocked and not ModerationAction.objects.exists()
    block = item_moderate(item=item, user=personas.alice, action="block", clause_id=rule.pk, note="Threats")
    assert block.outcome == ModerationOutcome.DONE and (PAGE_ID, author_id) in fake.comments.blocked
    assert block.snapshot["remote_id"] == rude and block.clause_number == "4.2"
    unblock = moderation_undo(action=block, user=personas.alice, clause_id=rule.pk, note="Apologised")
    assert unblock.outcome == ModerationOutcome.DONE and unblock.action == "unblock" and not fake.comments.blocked
    sent = [(m, urlsplit(p).path) for m, p in fake.request_log if "/blocked" in p]
    assert sent == [("POST", f"/v27.0/{PAGE_ID}/blocked"), ("DELETE", f"/v27.0/{PAGE_ID}/blocked")]


def test_facebook_rate_limit_pauses_the_channel(facebook: Channel, fake: FakePlatform, personas) -> None:  # noqa: ANN001
    post = published_post(author=personas.alice, approver=personas.bob, channel=facebook)
    fake.add_comments("facebook", Delivery.objects.get(post=post).remote_id, 2)
    fake.configure(platform="facebook", faults_on_reads=True, script=["rate_limit"], rate_limit_reset_seconds=300)
    now = timezone.now()

    channel_poll(channel=facebook, now=now)

    state = ChannelInboxState.objects.get(channel=facebook)
    assert state.paused_until == now + dt.timedelta(minutes=5) and state.last_problem
    assert InboxItem.objects.filter(channel=facebook).count() == 0
    channel_poll(channel=facebook, now=now + dt.timedelta(minutes=1))  # still paused: no request
    assert len(reads(fake, "/comments")) == 1


# --- X -------------------------------------------------------------------------------------------------------


@pytest.fixture
def x_channel(personas, urls) -> Channel:  # noqa: ANN001
    return ChannelFactory(
        department=personas.parks,
        platform="x",
        credentials={"access_token": f"{X_USER}-token", "x_user_id": X_USER, "username": "CityParks"},
    )


def test_x_mentions_page_back_to_the_cursor_and_replies_hide_and_mute(
    x_channel: Channel, fake: FakePlatform, personas
) -> None:  # noqa: ANN001
    post = published_post(author=personas.alice, approver=personas.bob, channel=x_channel)
    ours = Delivery.objects.get(post=post).remote_id
    fake.add_x_mentions(X_USER, 3, in_reply_to=ours)
    channel_poll(channel=x_channel, now=timezone.now())  # first read: the latest page
    fake.add_x_mentions(X_USER, 130, in_reply_to=ours)

    channel_poll(channel=x_channel, now=timezone.now())

    assert InboxItem.objects.filter(channel=x_channel).count() == 133
    assert InboxItem.objects.filter(channel=x_channel, kind="reply", delivery__post=post).count() == 133
    first, second, third = reads(fake, f"/2/users/{X_USER}/mentions")
    assert "since_id" not in first and second["since_id"] == third["since_id"]
    assert "pagination_token" in third and "pagination_token" not in second
    item = InboxItem.objects.filter(channel=x_channel).order_by("-created_at", "-pk").first()
    rule = clause()
    hidden = item_moderate(item=item, user=personas.alice, action="hide", clause_id=rule.pk, note="Doxxing")
    muted = item_moderate(item=item, user=personas.alice, action="mute", clause_id=rule.pk, note="Repeated")
    assert hidden.outcome == muted.outcome == ModerationOutcome.DONE
    assert fake.comments.by_id[item.remote_id]["hidden"] is True
    assert (X_USER, item.raw["author_id"]) in fake.comments.muted

    reply = item_reply(item=item, user=personas.alice, text="Thanks, we are on it.")
    publish_due_replies()
    (entry,) = [e for e in fake.ledger.entries() if e["text"] == "Thanks, we are on it."]
    assert entry["extra"]["reply"] == {"in_reply_to_tweet_id": item.remote_id}
    assert Delivery.objects.get(post=reply.post).status == "published"


# --- Instagram and Threads -----------------------------------------------------------------------------------


def published_delivery(channel: Channel, remote_id: str, personas) -> Delivery:  # noqa: ANN001
    """A published delivery of ours on `channel` (Instagram publishing needs media the fake would fetch)."""
    post = published_post(author=personas.alice, approver=personas.bob, channel=personas.parks_channel)
    delivery = Delivery.objects.get(post=post)
    Delivery.objects.filter(pk=delivery.pk).update(channel=channel, remote_id=remote_id)
    return Delivery.objects.get(pk=delivery.pk)


def test_instagram_comments_and_their_replies_hide_and_a_deleted_one(personas, urls, fake: FakePlatform) -> None:  # noqa: ANN001
    channel = ChannelFactory(
        department=personas.parks,
        platform="instagram",
        credentials={"access_token": "ig-token"},
        options={"ig_user_id": "17841400008460056", "username": "cityparks"},
    )
    delivery = published_delivery(channel, "17895695668004550", personas)
    (top,) = fake.add_comments("instagram", "17895695668004550", 1)
    reply_id, gone = fake.add_comments("instagram", "17895695668004550", 2, parent=top)
    fake.delete_resident_comment(gone)

    channel_poll(channel=channel, now=timezone.now())

    items = {i.remote_id: i for i in InboxItem.objects.filter(channel=channel)}
    assert set(items) == {top, reply_id}
    assert items[reply_id].in_reply_to_remote_id == top and items[reply_id].delivery_id == delivery.pk
    rule = clause()
    done = item_moderate(item=items[top], user=personas.alice, action="hide", clause_id=rule.pk, note="Threat")
    assert done.outcome == ModerationOutcome.DONE and fake.comments.by_id[top]["hidden"] is True


def test_threads_replies_hide_a_top_level_one_and_threads_refuses_a_nested_one(
    personas, urls, fake: FakePlatform
) -> None:  # noqa: ANN001
    channel = ChannelFactory(
        department=personas.parks,
        platform="threads",
        credentials={"access_token": "th-token"},
        options={"threads_user_id": "17841400008460999", "username": "cityparks"},
    )
    published_delivery(channel, "17890000000000001", personas)
    (top,) = fake.add_comments("threads", "17890000000000001", 1)
    (nested,) = fake.add_comments("threads", "17890000000000001", 1, parent=top)
    fake.add_comments("threads", "17890000000000001", 1, parent=top, ours=True)

    channel_poll(channel=channel, now=timezone.now())

    items = {i.remote_id: i for i in InboxItem.objects.filter(channel=channel)}
    assert set(items) == {top, nested}  # our own reply is left out
    rule = clause()
    hidden = item_moderate(item=items[top], user=personas.alice, action="hide", clause_id=rule.pk, note="Threat")
    refused = item_moderate(item=items[nested], user=personas.alice, action="hide", clause_id=rule.pk, note="Threat")
    assert hidden.outcome == ModerationOutcome.DONE and fake.comments.by_id[top]["hidden"] is True
    assert refused.outcome == ModerationOutcome.FAILED and "top-level" in refused.failure_message
    assert reads(fake, "/17890000000000001/conversation")[0]["reverse"] == ["true"]
