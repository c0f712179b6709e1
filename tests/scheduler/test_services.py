"""The post lifecycle through the services: who may do what, and what each step does to deliveries."""

import datetime as dt

import pytest
from django.utils import timezone

from civicpost.exceptions import ApplicationError
from departments.models import Role
from scheduler import services
from scheduler.models import (
    ChannelStatus,
    Delivery,
    DeliveryStatus,
    PostReview,
    PostStatus,
    ReviewAction,
    SandboxPost,
)
from tests.factories import ChannelFactory, member
from tests.scheduler import approved_post, draft_post, make_due, set_mode, submitted_post, tick

pytestmark = pytest.mark.django_db


def test_post_goes_from_draft_through_approval_to_published(personas):
    alice, bob, channel = personas.alice, personas.bob, personas.parks_channel
    post = draft_post(author=alice, channels=[channel], text="Pools open at noon.", link="https://city.example/pools")
    assert post.status == PostStatus.DRAFT
    assert not post.deliveries.exists()

    post = services.post_submit(post=post, user=alice)
    assert post.status == PostStatus.SUBMITTED
    assert post.submitted_at is not None
    assert not post.deliveries.exists()

    approval = services.post_approve(post=post, user=bob, comment="Looks good.")
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED
    assert post.current_approval == approval
    assert approval.approved_by == bob
    assert approval.content == {
        "text": "Pools open at noon.",
        "link": "https://city.example/pools",
        "due_at": post.due_at.astimezone(dt.UTC).isoformat(),
        "channel_ids": [channel.pk],
    }
    assert approval.content_hash == services.content_hash(approval.content)
    delivery = post.deliveries.get()
    assert (delivery.status, delivery.channel, delivery.approval) == (DeliveryStatus.SCHEDULED, channel, approval)
    assert delivery.due_at == post.due_at == delivery.next_attempt_at

    tick()  # not due yet
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SCHEDULED
    assert not SandboxPost.objects.exists()

    make_due(post)
    tick()
    delivery.refresh_from_db()
    post.refresh_from_db()
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert post.status == PostStatus.PUBLISHED
    sandbox_post = SandboxPost.objects.get()
    assert (sandbox_post.channel, sandbox_post.text, sandbox_post.link) == (
        channel,
        "Pools open at noon.",
        "https://city.example/pools",
    )
    assert sandbox_post.idempotency_key == str(delivery.idempotency_key)
    assert list(post.reviews.values_list("action", "actor__username", "comment")) == [
        (ReviewAction.SUBMITTED, "alice", ""),
        (ReviewAction.APPROVED, "bob", "Looks good."),
    ]


def test_requesting_changes_needs_a_comment_and_sends_the_post_back_to_its_author(personas):
    post = submitted_post(author=personas.alice, channels=[personas.parks_channel])

    for empty in ("", "   \n"):
        with pytest.raises(ApplicationError, match="Say what should change"):
            services.post_request_changes(post=post, user=personas.bob, comment=empty)
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED

    services.post_request_changes(post=post, user=personas.bob, comment="  Add the address of the pool.  ")
    post.refresh_from_db()
    assert post.status == PostStatus.CHANGES_REQUESTED
    review = post.reviews.last()
    assert (review.action, review.actor, review.comment) == (
        ReviewAction.CHANGES_REQUESTED,
        personas.bob,
        "Add the address of the pool.",
    )
    assert not post.deliveries.exists()
    with pytest.raises(ApplicationError, match="Only posts waiting for approval can be approved"):
        services.post_approve(post=post, user=personas.bob)

    services.post_update(
        post=post,
        user=personas.alice,
        text="Pools open at noon at 200 Main St.",
        link="",
        channels=[personas.parks_channel],
        due_at=post.due_at,
    )
    post = services.post_submit(post=post, user=personas.alice)
    assert post.status == PostStatus.SUBMITTED
    services.post_approve(post=post, user=personas.bob)
    post.refresh_from_db()
    assert post.current_approval.content["text"] == "Pools open at noon at 200 Main St."


def test_an_editor_cannot_request_changes(personas):
    post = submitted_post(author=personas.alice, channels=[personas.parks_channel])
    other_editor = member("erin", personas.parks, Role.EDITOR)
    with pytest.raises(ApplicationError, match="cannot review"):
        services.post_request_changes(post=post, user=other_editor, comment="No.")


def test_cancelling_an_approved_post_withdraws_its_deliveries_and_nothing_is_published_later(personas):
    second_channel = ChannelFactory(department=personas.parks, display_name="Parks second")
    post = approved_post(
        author=personas.alice, approver=personas.bob, channels=[personas.parks_channel, second_channel]
    )
    assert post.deliveries.filter(status=DeliveryStatus.SCHEDULED).count() == 2

    services.post_cancel(post=post, user=personas.alice, comment="The event moved.")
    post.refresh_from_db()
    assert post.status == PostStatus.CANCELLED
    assert set(post.deliveries.values_list("status", flat=True)) == {DeliveryStatus.CANCELLED}
    assert all(d.failure_message == "Cancelled by alice." for d in post.deliveries.all())
    assert post.reviews.last().action == ReviewAction.CANCELLED

    make_due(post)
    Delivery.objects.filter(post=post).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    tick(3)
    assert not SandboxPost.objects.exists()
    assert set(post.deliveries.values_list("status", flat=True)) == {DeliveryStatus.CANCELLED}
    with pytest.raises(ApplicationError):
        services.post_cancel(post=post, user=personas.alice)


def test_an_approver_of_the_department_may_cancel_and_so_may_the_communications_manager(personas):
    for canceller in (personas.bob, personas.dana):
        post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
        services.post_cancel(post=post, user=canceller)
        post.refresh_from_db()
        assert post.status == PostStatus.CANCELLED


def test_editing_an_approved_post_sends_it_back_for_approval(personas):
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel], text="Old")
    old_delivery = post.deliveries.get()
    old_approval = post.current_approval

    services.post_update(
        post=post, user=personas.alice, text="New", link="", channels=[personas.parks_channel], due_at=post.due_at
    )
    post.refresh_from_db()
    old_delivery.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    assert post.current_approval is None
    assert old_delivery.status == DeliveryStatus.CANCELLED
    assert old_delivery.failure_message == "The post was edited after approval."
    assert post.reviews.last().action == ReviewAction.RETURNED

    new_approval = services.post_approve(post=post, user=personas.bob)
    assert new_approval != old_approval
    assert new_approval.content["text"] == "New"
    new_delivery = post.deliveries.exclude(pk=old_delivery.pk).get()
    assert new_delivery.status == DeliveryStatus.SCHEDULED
    assert new_delivery.approval == new_approval
    assert new_delivery.idempotency_key != old_delivery.idempotency_key

    make_due(post)
    tick(2)
    assert list(SandboxPost.objects.values_list("text", "idempotency_key")) == [
        ("New", str(new_delivery.idempotency_key))
    ]
    old_delivery.refresh_from_db()
    assert old_delivery.status == DeliveryStatus.CANCELLED


def test_editing_a_partly_published_post_is_refused(personas):
    """Re-approving would have to create a second live delivery for the channel that already has it."""
    second_channel = ChannelFactory(department=personas.parks, display_name="Parks second")
    post = approved_post(
        author=personas.alice, approver=personas.bob, channels=[personas.parks_channel, second_channel]
    )
    make_due(post)
    Delivery.objects.filter(post=post, channel=second_channel).update(
        due_at=timezone.now() + dt.timedelta(hours=1), next_attempt_at=timezone.now() + dt.timedelta(hours=1)
    )
    tick()
    assert post.deliveries.get(channel=personas.parks_channel).status == DeliveryStatus.PUBLISHED
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED

    with pytest.raises(ApplicationError, match="already been published"):
        services.post_update(
            post=post,
            user=personas.alice,
            text="Changed",
            link="",
            channels=[personas.parks_channel],
            due_at=post.due_at,
        )
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED
    assert post.deliveries.get(channel=second_channel).status == DeliveryStatus.SCHEDULED
    # Cancelling the rest is still possible, and keeps what was published.
    services.post_cancel(post=post, user=personas.alice)
    assert post.deliveries.get(channel=personas.parks_channel).status == DeliveryStatus.PUBLISHED
    assert post.deliveries.get(channel=second_channel).status == DeliveryStatus.CANCELLED


def test_a_post_that_is_being_sent_can_no_longer_be_edited_or_cancelled(personas):
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    post.deliveries.update(status=DeliveryStatus.SENDING)
    with pytest.raises(ApplicationError, match="being published right now"):
        services.post_cancel(post=post, user=personas.alice)
    with pytest.raises(ApplicationError, match="being published right now"):
        services.post_update(
            post=post, user=personas.alice, text="x", link="", channels=[personas.parks_channel], due_at=post.due_at
        )
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED
    assert post.deliveries.get().status == DeliveryStatus.SENDING


def test_a_published_post_cannot_be_edited_or_cancelled(personas):
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    make_due(post)
    tick()
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED
    with pytest.raises(ApplicationError, match="can no longer be edited"):
        services.post_update(
            post=post, user=personas.alice, text="x", link="", channels=[personas.parks_channel], due_at=post.due_at
        )
    with pytest.raises(ApplicationError, match="already been published"):
        services.post_cancel(post=post, user=personas.bob)


def test_nobody_approves_their_own_post(personas):
    # Bob is a Parks approver and wrote this one himself.
    post = submitted_post(author=personas.bob, channels=[personas.parks_channel])
    with pytest.raises(ApplicationError, match="Nobody approves their own post"):
        services.post_approve(post=post, user=personas.bob)
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    assert post.current_approval is None
    assert not post.deliveries.exists()
    # Another approver can.
    services.post_approve(post=post, user=personas.dana)
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED


def test_the_communications_manager_does_not_approve_her_own_post_either(personas):
    comms_channel = ChannelFactory(department=personas.communications, display_name="City hall on Sandbox")
    post = submitted_post(author=personas.dana, channels=[comms_channel])
    with pytest.raises(ApplicationError, match="Nobody approves their own post"):
        services.post_approve(post=post, user=personas.dana)
    assert not post.deliveries.exists()
    other_manager = member("frank", personas.communications, Role.APPROVER)
    services.post_approve(post=post, user=other_manager)
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED


def test_the_communications_manager_approves_posts_of_every_department(personas):
    parks_post = submitted_post(author=personas.alice, channels=[personas.parks_channel])
    library_post = submitted_post(author=personas.carol, channels=[personas.library_channel])
    for post in (parks_post, library_post):
        approval = services.post_approve(post=post, user=personas.dana)
        assert approval.approved_by == personas.dana


def test_a_department_approver_cannot_approve_for_another_department(personas):
    library_post = submitted_post(author=personas.carol, channels=[personas.library_channel])
    with pytest.raises(ApplicationError, match="cannot approve posts of Public Library"):
        services.post_approve(post=library_post, user=personas.bob)
    with pytest.raises(ApplicationError, match="cannot approve"):
        services.post_approve(post=library_post, user=personas.alice)  # an editor approves nothing
    library_post.refresh_from_db()
    assert library_post.status == PostStatus.SUBMITTED


def test_a_library_editor_cannot_touch_a_parks_post(personas):
    carol = personas.carol
    draft = draft_post(author=personas.alice, channels=[personas.parks_channel], text="Parks draft")
    approved = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])

    for post in (draft, approved):
        with pytest.raises(ApplicationError):
            services.post_update(
                post=post, user=carol, text="Hijacked", link="", channels=[personas.parks_channel], due_at=post.due_at
            )
        with pytest.raises(ApplicationError):
            services.post_cancel(post=post, user=carol)
    with pytest.raises(ApplicationError):
        services.post_submit(post=draft, user=carol)
    with pytest.raises(ApplicationError):
        services.post_request_changes(post=approved, user=carol, comment="no")

    draft.refresh_from_db()
    approved.refresh_from_db()
    assert (draft.status, draft.text) == (PostStatus.DRAFT, "Parks draft")
    assert approved.status == PostStatus.APPROVED
    assert approved.deliveries.get().status == DeliveryStatus.SCHEDULED
    with pytest.raises(ApplicationError, match="not a member of Parks"):
        services.post_create(
            author=carol, department=personas.parks, text="x", channels=[], due_at=timezone.now() + dt.timedelta(days=1)
        )


def test_a_post_can_only_use_its_own_departments_channels(personas):
    with pytest.raises(ApplicationError, match="your department's own channels"):
        draft_post(author=personas.alice, channels=[personas.parks_channel, personas.library_channel])
    post = draft_post(author=personas.alice, channels=[personas.parks_channel])
    with pytest.raises(ApplicationError, match="your department's own channels"):
        services.post_update(
            post=post, user=personas.alice, text="x", link="", channels=[personas.library_channel], due_at=post.due_at
        )
    assert list(post.channels.all()) == [personas.parks_channel]


def test_submitting_lists_every_problem_in_plain_words(personas):
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text="  ",
        channels=[],
        due_at=timezone.now() - dt.timedelta(1),
    )
    with pytest.raises(ApplicationError) as excinfo:
        services.post_submit(post=post, user=personas.alice)
    assert excinfo.value.extra["problems"] == [
        "Write the text of the post.",
        "Choose at least one channel.",
        "The publish time has passed; choose a time in the future.",
    ]
    post.refresh_from_db()
    assert post.status == PostStatus.DRAFT


def test_a_post_too_long_for_the_platform_or_for_a_disconnected_channel_cannot_be_submitted(personas):
    post = draft_post(author=personas.alice, channels=[personas.parks_channel], text="x" * 501)
    with pytest.raises(ApplicationError, match="Sandbox allows 500 characters; this post has 501"):
        services.post_submit(post=post, user=personas.alice)

    personas.parks_channel.status = ChannelStatus.NEEDS_RECONNECT
    personas.parks_channel.save()
    short = draft_post(author=personas.alice, channels=[personas.parks_channel])
    with pytest.raises(ApplicationError, match="needs to be reconnected"):
        services.post_submit(post=short, user=personas.alice)


def test_an_approver_may_approve_a_post_whose_time_passed_while_waiting_and_it_goes_out_at_once(personas):
    post = submitted_post(author=personas.alice, channels=[personas.parks_channel])
    type(post).objects.filter(pk=post.pk).update(due_at=timezone.now() - dt.timedelta(minutes=5))
    services.post_approve(post=post, user=personas.bob)
    tick()
    assert post.deliveries.get().status == DeliveryStatus.PUBLISHED
    assert SandboxPost.objects.count() == 1


def test_a_post_with_two_channels_finishes_when_both_are_done_whatever_their_outcome(personas):
    failing = ChannelFactory(department=personas.parks, display_name="Parks failing")
    set_mode(failing, "fail")
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel, failing])
    make_due(post)
    tick()
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED
    assert dict(post.deliveries.values_list("channel__display_name", "status")) == {
        "Parks on Sandbox": DeliveryStatus.PUBLISHED,
        "Parks failing": DeliveryStatus.FAILED,
    }
    assert PostReview.objects.filter(post=post).count() == 2
