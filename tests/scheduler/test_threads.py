"""Threads of posts and first comments (issue 17) through the real services and the dispatcher, on the Sandbox:
one approval covers the chain, one delivery per part, parts published in order exactly once, each a reply to
the one before, and a failure stops the chain and says where."""

import datetime as dt

import pytest
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from civicpost.exceptions import ApplicationError
from scheduler import publishing, services
from scheduler.models import Delivery, DeliveryKind, DeliveryStatus, PostStatus, SandboxPost
from tests.factories import ChannelFactory
from tests.scheduler import make_due, set_mode, tick

pytestmark = pytest.mark.django_db

PARTS = ["Part two: the pools open at 10.", "Part three: bring a towel."]


def _thread_post(personas, *, channels=None, thread_parts=PARTS, first_comment="", submit=True, approve=True):
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text="Part one: summer is here.",
        channels=channels or [personas.parks_channel],
        due_at=timezone.now() + dt.timedelta(hours=2),
        thread_parts=list(thread_parts),
        first_comment=first_comment,
    )
    if submit:
        services.post_submit(post=post, user=personas.alice)
    if approve:
        services.post_approve(post=post, user=personas.bob)
    post.refresh_from_db()
    return post


def _parts(post) -> list[Delivery]:
    return list(post.deliveries.filter(kind=DeliveryKind.POST).order_by("part"))


def test_one_approval_covers_the_chain_and_makes_one_delivery_per_part(personas):
    post = _thread_post(personas)

    assert post.current_approval.content["thread"] == PARTS
    parts = _parts(post)
    assert [(d.part, d.part_count) for d in parts] == [(1, 3), (2, 3), (3, 3)]
    assert [d.after_id for d in parts] == [None, parts[0].pk, parts[1].pk]
    assert len({d.idempotency_key for d in parts}) == 3
    assert post.versions.last().thread_parts == PARTS


def test_parts_are_published_in_order_each_replying_to_the_one_before(personas):
    post = _thread_post(personas)
    make_due(post)

    tick()
    statuses = [d.status for d in _parts(post)]
    assert statuses == [DeliveryStatus.PUBLISHED, DeliveryStatus.SCHEDULED, DeliveryStatus.SCHEDULED]
    tick()
    tick()

    parts = _parts(post)
    assert [d.status for d in parts] == [DeliveryStatus.PUBLISHED] * 3
    sandbox = {str(p.pk): p for p in SandboxPost.objects.all()}
    assert [sandbox[d.remote_id].text for d in parts] == ["Part one: summer is here.", *PARTS]
    assert [sandbox[d.remote_id].in_reply_to for d in parts] == ["", parts[0].remote_id, parts[1].remote_id]
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED


def test_a_later_part_is_not_claimed_while_the_part_before_is_not_published(personas):
    post = _thread_post(personas)
    make_due(post)
    set_mode(personas.parks_channel, "rate_limit")

    tick()

    parts = _parts(post)
    assert [d.status for d in parts] == [DeliveryStatus.RETRY_WAIT, DeliveryStatus.SCHEDULED, DeliveryStatus.SCHEDULED]
    assert publishing.deliveries_claim_due() == []
    assert [d.attempts for d in _parts(post)] == [1, 0, 0]


def test_a_failed_part_stops_the_chain_and_says_where(personas):
    post = _thread_post(personas)
    make_due(post)
    tick()
    set_mode(personas.parks_channel, "fail")

    tick()
    tick()

    first, second, third = _parts(post)
    assert first.status == DeliveryStatus.PUBLISHED
    assert second.status == DeliveryStatus.FAILED
    assert second.failure_message.startswith("Part 2 of 3 failed on Sandbox: The sandbox rejected this post")
    assert second.failure_message.endswith("; part 3 not sent.")
    assert third.status == DeliveryStatus.CANCELLED
    assert third.failure_message == "Not sent: part 2 of 3 failed on Sandbox."
    assert third.attempts == 0
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED  # nothing left pending: finished, with the failure shown


def test_a_part_left_unknown_is_never_resent_blindly_and_its_followers_wait(personas):
    post = _thread_post(personas)
    make_due(post)
    tick()
    set_mode(personas.parks_channel, "drop_response")

    tick()

    first, second, third = _parts(post)
    assert second.status == DeliveryStatus.UNKNOWN
    assert third.status == DeliveryStatus.SCHEDULED
    # The sandbox cannot be asked: a person must check; the rest of the chain stops, saying where.
    tick()
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.status == DeliveryStatus.NEEDS_ATTENTION
    assert second.failure_message.startswith("Part 2 of 3 failed on Sandbox: Sent, but not confirmed")
    assert third.status == DeliveryStatus.CANCELLED
    assert SandboxPost.objects.filter(text=PARTS[0]).count() == 1
    assert SandboxPost.objects.filter(text=PARTS[1]).count() == 0


def test_only_one_live_delivery_per_part_and_channel(personas):
    post = _thread_post(personas)
    second = _parts(post)[1]
    with pytest.raises(IntegrityError):
        Delivery.objects.create(
            post=post,
            channel=second.channel,
            language=second.language,
            approval=second.approval,
            due_at=second.due_at,
            next_attempt_at=second.due_at,
            part=2,
            part_count=3,
        )


def test_each_part_is_checked_against_the_platform_limit(personas):
    too_long = "x" * 501
    with pytest.raises(ApplicationError) as refused:
        _thread_post(personas, thread_parts=["fine", too_long], approve=False)
    assert "Parks on Sandbox, part 3 of 3: Sandbox allows 500 characters" in str(refused.value)


def test_a_channel_without_threads_needs_its_own_version(personas):
    facebook = ChannelFactory(
        department=personas.parks,
        platform="facebook",
        display_name="Parks on Facebook",
        credentials={"page_access_token": "token"},
        options={"page_id": "1234"},
    )
    with pytest.raises(ApplicationError) as refused:
        _thread_post(personas, channels=[personas.parks_channel, facebook], approve=False)
    assert "Parks on Facebook cannot publish a thread, so it would get part 1 only" in str(refused.value)


def test_first_comment_follows_the_post_and_comments_on_it(personas):
    post = _thread_post(personas, thread_parts=[], first_comment="Details: city.example/pools")
    make_due(post)
    main = post.deliveries.get(kind=DeliveryKind.POST)
    comment = post.deliveries.get(kind=DeliveryKind.FIRST_COMMENT)
    assert comment.after_id == main.pk
    assert comment.part_label == "First comment"

    tick()
    tick()

    main.refresh_from_db()
    comment.refresh_from_db()
    assert comment.status == DeliveryStatus.PUBLISHED
    stored = SandboxPost.objects.get(pk=comment.remote_id)
    assert (stored.text, stored.in_reply_to) == ("Details: city.example/pools", main.remote_id)


def test_a_failed_first_comment_never_resends_the_post(personas):
    post = _thread_post(personas, thread_parts=[], first_comment="Details: city.example/pools")
    make_due(post)
    tick()
    set_mode(personas.parks_channel, "fail")

    tick()

    main = post.deliveries.get(kind=DeliveryKind.POST)
    comment = post.deliveries.get(kind=DeliveryKind.FIRST_COMMENT)
    assert main.status == DeliveryStatus.PUBLISHED
    assert main.attempts == 1
    assert comment.status == DeliveryStatus.FAILED
    assert comment.failure_message.startswith("The first comment was not published on Sandbox (the post itself")
    assert SandboxPost.objects.filter(text="Part one: summer is here.").count() == 1


def test_a_failed_post_cancels_its_first_comment(personas):
    post = _thread_post(personas, thread_parts=[], first_comment="Details")
    make_due(post)
    set_mode(personas.parks_channel, "fail")

    tick()

    main = post.deliveries.get(kind=DeliveryKind.POST)
    comment = post.deliveries.get(kind=DeliveryKind.FIRST_COMMENT)
    assert main.status == DeliveryStatus.FAILED
    assert main.failure_message.endswith("; the first comment not sent.")
    assert comment.status == DeliveryStatus.CANCELLED


def test_a_plain_post_is_unchanged(personas):
    post = _thread_post(personas, thread_parts=[])
    assert "thread" not in post.current_approval.content
    assert "first_comment" not in post.current_approval.content
    (delivery,) = post.deliveries.all()
    assert (delivery.part, delivery.part_count, delivery.kind, delivery.part_label) == (1, 1, "post", "")


# --- Shown on the post page and the calendar ----------------------------------------------------------------


def test_the_post_page_shows_each_part_and_where_the_chain_stands(personas, client):
    post = _thread_post(personas, first_comment="Details: city.example/pools")
    make_due(post)
    tick()
    client.force_login(personas.alice)

    html = client.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()

    assert "Part 2 of 3</h3>" in html and "Part two: the pools open at 10." in html
    assert "Part 3 of 3</h3>" in html and "First comment</h3>" in html
    assert '<div class="civic-delivery-part">Part 2 of 3</div>' in html
    assert "Goes out right after part 1 is published." in html
    assert "Goes out right after part 2 is published." in html
    assert "Goes out right after the post is published." in html


def test_the_calendar_chip_says_it_is_a_thread(personas, client):
    post = _thread_post(personas)
    client.force_login(personas.alice)
    local = post.due_at.astimezone(personas.parks.zone)

    html = client.get(reverse("scheduler:calendar_month"), {"month": f"{local:%Y-%m}"}).content.decode()

    assert "Thread of 3 parts" in html
