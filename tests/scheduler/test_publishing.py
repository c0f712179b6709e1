"""The delivery state machine (shared/reliability.md) driven through dispatch_tick and delivery_publish,
with every failure mode of the Sandbox platform."""

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from scheduler import publishing, services
from scheduler.adapters import registry
from scheduler.adapters.base import AuthExpired
from scheduler.adapters.sandbox.adapter import SandboxAdapter
from scheduler.models import (
    Channel,
    ChannelStatus,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Post,
    PostApproval,
    PostStatus,
    PublisherHeartbeat,
    SandboxPost,
)
from scheduler.publishing import NOT_CONFIRMED_MESSAGE
from scheduler.tasks import dispatch_due_deliveries, publish_delivery
from tests.factories import ChannelFactory, PostFactory
from tests.scheduler import (
    approved_post,
    draft_post,
    expire_lease,
    make_due,
    make_retry_due,
    set_mode,
    submitted_post,
    tick,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_delivery(personas):
    """An approved Parks post whose single delivery is due now."""
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    make_due(post)
    return post.deliveries.get()


def _reload(delivery: Delivery) -> Delivery:
    delivery.refresh_from_db()
    return delivery


# --- Only approved content goes out ---------------------------------------------------------------


def test_unapproved_post_is_never_published(personas):
    past = timezone.now() - dt.timedelta(hours=1)
    for status in (PostStatus.DRAFT, PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED, PostStatus.CANCELLED):
        PostFactory(
            department=personas.parks,
            author=personas.alice,
            status=status,
            due_at=past,
            channels=[personas.parks_channel],
        )
    # Also through the real services: a submitted post whose time has passed while it waits.
    waiting = submitted_post(author=personas.alice, channels=[personas.parks_channel])
    Post.objects.filter(pk=waiting.pk).update(due_at=past)

    reports = tick(3)
    assert all(report.claimed == [] for report in reports)
    assert not Delivery.objects.exists()
    assert not SandboxPost.objects.exists()
    assert not DeliveryAttempt.objects.exists()


def test_a_post_edited_between_approval_and_its_time_sends_neither_the_old_nor_the_new_text(personas):
    post = approved_post(
        author=personas.alice, approver=personas.bob, channels=[personas.parks_channel], text="Approved text"
    )
    services.post_update(
        post=post,
        user=personas.alice,
        text="Edited, never approved",
        link="",
        channels=[personas.parks_channel],
        due_at=post.due_at,
    )
    # The time comes (even the withdrawn delivery's time).
    Delivery.objects.filter(post=post).update(
        due_at=timezone.now() - dt.timedelta(minutes=1), next_attempt_at=timezone.now() - dt.timedelta(minutes=1)
    )
    Post.objects.filter(pk=post.pk).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    tick(3)
    assert not SandboxPost.objects.exists()
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    assert list(post.deliveries.values_list("status", flat=True)) == [DeliveryStatus.CANCELLED]


def test_approved_content_changed_in_the_database_is_not_sent(due_delivery, caplog):
    approval = due_delivery.approval
    tampered = {**approval.content, "text": "Tampered after approval"}
    PostApproval.objects.filter(pk=approval.pk).update(content=tampered)  # hash left as it was

    # The claim leaves the fingerprint to the worker, which checks it on the snapshot it would send.
    report = tick()[0]
    assert report.claimed == [due_delivery.pk]
    due_delivery = _reload(due_delivery)
    assert due_delivery.status == DeliveryStatus.CANCELLED
    assert due_delivery.failure_message == "The approved content does not match its fingerprint; it was not sent."
    assert not SandboxPost.objects.exists()
    assert not DeliveryAttempt.objects.exists()
    assert f"delivery {due_delivery.pk} withdrawn before sending" in caplog.text


def test_content_tampered_after_the_claim_is_caught_by_the_worker(due_delivery):
    assert publishing.deliveries_claim_due() == [due_delivery.pk]
    approval = due_delivery.approval
    PostApproval.objects.filter(pk=approval.pk).update(content={**approval.content, "text": "Tampered"})

    assert publishing.delivery_publish(delivery_id=due_delivery.pk) is None
    due_delivery = _reload(due_delivery)
    assert due_delivery.status == DeliveryStatus.CANCELLED
    assert "fingerprint" in due_delivery.failure_message
    assert not SandboxPost.objects.exists()


def test_a_delivery_whose_approval_is_not_the_posts_current_approval_is_never_sent(due_delivery, personas):
    post = due_delivery.post
    # Another approval becomes current (valid content and hash), the old delivery is still scheduled.
    content = {**due_delivery.approval.content, "text": "Second version"}
    newer = PostApproval.objects.create(
        post=post,
        content=content,
        content_hash=services.content_hash(content),
        approved_by=personas.dana,
        approved_at=timezone.now(),
    )
    Post.objects.filter(pk=post.pk).update(current_approval=newer)

    tick(2)
    due_delivery = _reload(due_delivery)
    assert due_delivery.status == DeliveryStatus.CANCELLED
    assert due_delivery.failure_message == "The post is no longer approved in this form."
    assert not SandboxPost.objects.exists()


def test_a_post_cancelled_after_its_delivery_was_claimed_is_not_sent(due_delivery, personas):
    assert publishing.deliveries_claim_due() == [due_delivery.pk]
    assert _reload(due_delivery).status == DeliveryStatus.CLAIMED
    services.post_cancel(post=due_delivery.post, user=personas.alice)

    assert publishing.delivery_publish(delivery_id=due_delivery.pk) is None
    assert _reload(due_delivery).status == DeliveryStatus.CANCELLED
    assert not SandboxPost.objects.exists()
    assert not DeliveryAttempt.objects.exists()


def test_a_post_whose_status_changed_behind_the_services_back_is_not_sent(due_delivery):
    assert publishing.deliveries_claim_due() == [due_delivery.pk]
    Post.objects.filter(pk=due_delivery.post_id).update(status=PostStatus.SUBMITTED)
    assert publishing.delivery_publish(delivery_id=due_delivery.pk) is None
    assert _reload(due_delivery).status == DeliveryStatus.CANCELLED
    assert not SandboxPost.objects.exists()


def test_only_the_approved_snapshot_is_sent_even_if_the_post_row_changes(due_delivery):
    # Someone writes to the post row directly (not through post_update): the approval still rules.
    Post.objects.filter(pk=due_delivery.post_id).update(text="Not approved", link="https://evil.example/")
    tick()
    sandbox_post = SandboxPost.objects.get()
    assert sandbox_post.text == due_delivery.approval.content["text"]
    assert sandbox_post.link == ""


# --- Sandbox modes ----------------------------------------------------------------------------------


def test_a_due_delivery_is_published_with_permalink_remote_id_and_a_logged_attempt(due_delivery):
    report = tick()[0]
    assert report.claimed == [due_delivery.pk]
    due_delivery = _reload(due_delivery)
    sandbox_post = SandboxPost.objects.get()
    assert due_delivery.status == DeliveryStatus.PUBLISHED
    assert due_delivery.remote_id == str(sandbox_post.pk)
    assert due_delivery.permalink == f"http://testserver/sandbox/#sandbox-post-{sandbox_post.pk}"
    assert due_delivery.published_at is not None
    assert due_delivery.attempts == 1
    assert due_delivery.lease_expires_at is None
    assert due_delivery.failure_message == ""
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.delivery, attempt.number, attempt.outcome, attempt.remote_id) == (
        due_delivery,
        1,
        DeliveryStatus.PUBLISHED,
        str(sandbox_post.pk),
    )
    assert attempt.response == {"id": sandbox_post.pk, "created_at": sandbox_post.created_at.isoformat()}
    assert attempt.finished_at is not None
    assert due_delivery.post.status == PostStatus.PUBLISHED
    heartbeat = PublisherHeartbeat.objects.get(name="dispatcher")
    assert heartbeat.last_report == {"swept_claims": 0, "swept_sends": 0, "reconciled": 0, "claimed": 1}

    tick(2)  # nothing more happens
    assert SandboxPost.objects.count() == 1
    assert DeliveryAttempt.objects.count() == 1


def test_a_rate_limited_delivery_waits_for_the_platform_and_is_then_published(due_delivery, personas):
    set_mode(personas.parks_channel, "rate_limit")
    frozen = timezone.now().replace(microsecond=0)
    with time_machine.travel(frozen, tick=False):
        tick()
    due_delivery = _reload(due_delivery)
    assert due_delivery.status == DeliveryStatus.RETRY_WAIT
    assert due_delivery.attempts == 1
    assert due_delivery.next_attempt_at == frozen + dt.timedelta(seconds=60)
    assert due_delivery.failure_message == "The sandbox is rate limiting this account."
    assert due_delivery.post.status == PostStatus.APPROVED

    tick()  # the 60 seconds have not passed: nothing is claimed
    assert _reload(due_delivery).attempts == 1

    make_retry_due(due_delivery)
    set_mode(personas.parks_channel, "ok")
    tick()
    due_delivery = _reload(due_delivery)
    assert due_delivery.status == DeliveryStatus.PUBLISHED
    assert due_delivery.attempts == 2
    assert due_delivery.failure_message == ""
    assert SandboxPost.objects.count() == 1
    assert list(DeliveryAttempt.objects.values_list("number", "outcome")) == [
        (1, DeliveryStatus.RETRY_WAIT),
        (2, DeliveryStatus.PUBLISHED),
    ]


@override_settings(CIVICPOST_MAX_ATTEMPTS=3)
def test_a_delivery_that_stays_rate_limited_fails_after_the_maximum_attempts(due_delivery, personas):
    set_mode(personas.parks_channel, "rate_limit")
    for _ in range(2):
        tick()
        assert _reload(due_delivery).status == DeliveryStatus.RETRY_WAIT
        make_retry_due(due_delivery)
    tick()
    due_delivery = _reload(due_delivery)
    assert due_delivery.status == DeliveryStatus.FAILED
    assert due_delivery.attempts == 3
    assert due_delivery.failure_message == (
        "Gave up after 3 attempts. Last answer: The sandbox is rate limiting this account."
    )
    assert due_delivery.post.status == PostStatus.PUBLISHED  # finished: nothing more will happen
    make_retry_due(due_delivery)
    tick()
    assert _reload(due_delivery).attempts == 3
    assert not SandboxPost.objects.exists()


def test_a_refused_post_fails_with_the_platforms_message_and_is_not_retried(due_delivery, personas):
    set_mode(personas.parks_channel, "fail")
    tick()
    due_delivery = _reload(due_delivery)
    assert due_delivery.status == DeliveryStatus.FAILED
    assert due_delivery.failure_message == "The sandbox rejected this post (demonstration of a platform refusal)."
    assert due_delivery.attempts == 1
    make_retry_due(due_delivery)
    tick(2)
    assert _reload(due_delivery).attempts == 1
    assert DeliveryAttempt.objects.get().outcome == DeliveryStatus.FAILED


def test_a_platform_that_is_down_is_retried_with_growing_backoff(due_delivery, personas):
    set_mode(personas.parks_channel, "down")
    frozen = timezone.now().replace(microsecond=0)
    with time_machine.travel(frozen, tick=False):
        tick()
        due_delivery = _reload(due_delivery)
        assert due_delivery.status == DeliveryStatus.RETRY_WAIT
        assert due_delivery.next_attempt_at == frozen + dt.timedelta(seconds=30)
        assert due_delivery.failure_message == "Could not connect to the sandbox; nothing was sent."
        make_retry_due(due_delivery)
        tick()
        due_delivery = _reload(due_delivery)
        assert (due_delivery.status, due_delivery.attempts) == (DeliveryStatus.RETRY_WAIT, 2)
        assert due_delivery.next_attempt_at == frozen + dt.timedelta(seconds=60)
    assert [publishing.retry_backoff_seconds(n) for n in (1, 2, 3, 4, 8, 20)] == [30, 60, 120, 240, 3600, 3600]

    set_mode(personas.parks_channel, "ok")
    make_retry_due(due_delivery)
    tick()
    assert _reload(due_delivery).status == DeliveryStatus.PUBLISHED
    assert SandboxPost.objects.count() == 1


@pytest.mark.parametrize(("mode", "sandbox_posts"), [("timeout", 0), ("drop_response", 1)])
def test_an_unconfirmed_send_needs_attention_and_is_never_sent_again(due_delivery, personas, mode, sandbox_posts):
    set_mode(personas.parks_channel, mode)
    tick()
    due_delivery = _reload(due_delivery)
    assert due_delivery.status == DeliveryStatus.UNKNOWN
    assert SandboxPost.objects.count() == sandbox_posts
    assert due_delivery.post.status == PostStatus.APPROVED

    set_mode(personas.parks_channel, "ok")  # even when the platform works again
    report = tick()[0]
    assert report.reconciled == 1
    assert report.claimed == []
    due_delivery = _reload(due_delivery)
    assert due_delivery.status == DeliveryStatus.NEEDS_ATTENTION
    assert due_delivery.failure_message == NOT_CONFIRMED_MESSAGE
    assert due_delivery.failure_message == "Sent, but not confirmed — check the account before posting again."
    assert due_delivery.post.status == PostStatus.PUBLISHED

    make_retry_due(due_delivery)
    tick(3)
    assert _reload(due_delivery).status == DeliveryStatus.NEEDS_ATTENTION
    assert SandboxPost.objects.count() == sandbox_posts
    assert DeliveryAttempt.objects.count() == 1
    assert publishing.delivery_publish(delivery_id=due_delivery.pk) is None  # a late message does nothing
    assert SandboxPost.objects.count() == sandbox_posts


def test_the_global_sandbox_mode_applies_to_channels_without_their_own(due_delivery):
    with override_settings(CIVICPOST_SANDBOX_MODE="fail"):
        tick()
    assert _reload(due_delivery).status == DeliveryStatus.FAILED


# --- Expired tokens --------------------------------------------------------------------------------


class ExpiringAdapter(SandboxAdapter):
    """A test-only platform whose token has been revoked until `credentials["token"]` is 'fresh'."""

    platform = "expiring"
    label = "Expiring"

    def publish(self, content, *, idempotency_key):  # noqa: ANN001, ANN201
        if self.account.credentials.get("token") != "fresh":
            raise AuthExpired("The access token was revoked.", raw={"error": "invalid_token"})
        return super().publish(content, idempotency_key=idempotency_key)


@pytest.fixture
def expiring_platform(monkeypatch):
    classes = {**registry.adapter_classes(), "expiring": ExpiringAdapter}
    monkeypatch.setattr(registry, "adapter_classes", lambda: classes)


def test_an_expired_token_holds_the_delivery_until_the_channel_is_reconnected(expiring_platform, personas):
    channel = ChannelFactory(department=personas.parks, platform="expiring", display_name="Parks expiring")
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[channel])
    make_due(post)
    delivery = post.deliveries.get()

    tick()
    channel.refresh_from_db()
    delivery = _reload(delivery)
    assert channel.status == ChannelStatus.NEEDS_RECONNECT
    assert channel.status_message == "The access token was revoked."
    assert delivery.status == DeliveryStatus.SCHEDULED
    assert delivery.failure_message == (
        "Waiting: the channel must be reconnected by a department admin (The access token was revoked.)."
    )
    assert delivery.attempts == 1
    assert DeliveryAttempt.objects.get().response == {"error": "invalid_token"}

    reports = tick(3)  # due, but the channel is disconnected: not claimed
    assert all(report.claimed == [] for report in reports)
    assert _reload(delivery).attempts == 1
    assert not SandboxPost.objects.exists()

    # A department admin reconnects the channel.
    channel.credentials = {"token": "fresh"}
    channel.status = ChannelStatus.CONNECTED
    channel.save()
    tick()
    delivery = _reload(delivery)
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert delivery.attempts == 2
    assert SandboxPost.objects.filter(channel=channel).count() == 1


# --- Sweeper and crashes ---------------------------------------------------------------------------


def test_a_claim_whose_worker_never_came_is_put_back_and_then_published(due_delivery):
    # The dispatcher claimed it, but the message was lost (Redis restarted, enqueue failed...).
    assert publishing.deliveries_claim_due() == [due_delivery.pk]
    due_delivery = _reload(due_delivery)
    assert due_delivery.status == DeliveryStatus.CLAIMED
    assert due_delivery.lease_expires_at is not None

    assert tick()[0].claimed == []  # the lease still runs: nobody takes it
    assert _reload(due_delivery).status == DeliveryStatus.CLAIMED

    expire_lease(due_delivery)
    assert publishing.deliveries_sweep_expired_leases() == (1, 0)
    due_delivery = _reload(due_delivery)
    assert (due_delivery.status, due_delivery.lease_expires_at) == (DeliveryStatus.SCHEDULED, None)

    tick()
    assert _reload(due_delivery).status == DeliveryStatus.PUBLISHED
    assert SandboxPost.objects.count() == 1


def test_a_send_whose_lease_expired_becomes_unknown_not_resent(due_delivery):
    assert publishing.deliveries_claim_due() == [due_delivery.pk]
    delivery, attempt = publishing._start_sending(due_delivery.pk)
    assert delivery.status == DeliveryStatus.SENDING
    assert attempt.outcome == "sending"

    assert publishing.deliveries_sweep_expired_leases() == (0, 0)  # lease still running
    expire_lease(due_delivery)
    assert publishing.deliveries_sweep_expired_leases() == (0, 1)
    due_delivery = _reload(due_delivery)
    assert due_delivery.status == DeliveryStatus.UNKNOWN
    assert due_delivery.failure_message == "The worker stopped while sending; checking with the platform."


def test_a_worker_that_crashes_while_sending_ends_in_needs_attention_and_nothing_is_resent(due_delivery):
    tick_claimed = publishing.deliveries_claim_due()
    assert tick_claimed == [due_delivery.pk]
    publishing._start_sending(due_delivery.pk)  # ... and the worker process dies here

    tick()  # the send lease still runs
    assert _reload(due_delivery).status == DeliveryStatus.SENDING
    expire_lease(due_delivery)
    report = tick()[0]
    assert (report.swept_sends, report.reconciled, report.claimed) == (1, 1, [])
    due_delivery = _reload(due_delivery)
    assert due_delivery.status == DeliveryStatus.NEEDS_ATTENTION
    assert due_delivery.failure_message == NOT_CONFIRMED_MESSAGE
    tick(2)
    assert not SandboxPost.objects.exists()
    assert due_delivery.attempt_log.count() == 1


def test_a_slow_send_that_finishes_after_the_sweeper_still_records_the_real_answer(due_delivery):
    publishing.deliveries_claim_due()
    delivery, attempt = publishing._start_sending(due_delivery.pk)
    expire_lease(due_delivery)
    publishing.deliveries_sweep_expired_leases()
    assert _reload(due_delivery).status == DeliveryStatus.UNKNOWN

    # The platform's answer arrives after the sweeper gave up waiting.
    result = registry.adapter_for_channel(delivery.channel).publish(
        services.channel_content(delivery.approval.content, delivery.channel),
        idempotency_key=str(delivery.idempotency_key),
    )
    assert publishing._finish(delivery, attempt, status=DeliveryStatus.PUBLISHED, result=result) is True
    due_delivery = _reload(due_delivery)
    assert due_delivery.status == DeliveryStatus.PUBLISHED
    assert due_delivery.remote_id == result.remote_id


def test_the_same_message_delivered_twice_sends_once(due_delivery):
    assert publishing.deliveries_claim_due() == [due_delivery.pk]
    assert publishing.delivery_publish(delivery_id=due_delivery.pk) == DeliveryStatus.PUBLISHED
    assert publishing.delivery_publish(delivery_id=due_delivery.pk) is None
    publish_delivery.delay(due_delivery.pk)  # and a third time, through the task
    assert SandboxPost.objects.count() == 1
    assert DeliveryAttempt.objects.count() == 1
    assert _reload(due_delivery).attempts == 1


def test_a_message_for_an_unclaimed_or_missing_delivery_does_nothing(due_delivery):
    assert publishing.delivery_publish(delivery_id=due_delivery.pk) is None  # scheduled, not claimed
    assert publishing.delivery_publish(delivery_id=999_999) is None
    assert _reload(due_delivery).status == DeliveryStatus.SCHEDULED
    assert not SandboxPost.objects.exists()


def test_the_platform_replays_a_send_with_the_same_idempotency_key(due_delivery):
    """If a send is ever repeated with the same key (a platform-level retry), the Sandbox answers with the
    post it already has, as Mastodon does, instead of a second post."""
    adapter = registry.adapter_for_channel(due_delivery.channel)
    content = services.channel_content(due_delivery.approval.content, due_delivery.channel)
    first = adapter.publish(content, idempotency_key=str(due_delivery.idempotency_key))
    again = adapter.publish(content, idempotency_key=str(due_delivery.idempotency_key))
    assert first.remote_id == again.remote_id
    assert SandboxPost.objects.count() == 1


# --- Entry points ---------------------------------------------------------------------------------


def test_deliveries_not_yet_due_or_on_a_disconnected_channel_are_not_claimed(personas):
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    assert tick()[0].claimed == []
    make_due(post)
    Channel.objects.filter(pk=personas.parks_channel.pk).update(status=ChannelStatus.DISABLED)
    assert tick()[0].claimed == []
    assert post.deliveries.get().status == DeliveryStatus.SCHEDULED


def test_the_dispatcher_claims_at_most_a_batch_per_tick(personas):
    channels = [ChannelFactory(department=personas.parks) for _ in range(5)]
    post = approved_post(author=personas.alice, approver=personas.bob, channels=channels)
    make_due(post)
    with override_settings(CIVICPOST_DISPATCH_BATCH_SIZE=2):
        assert [len(report.claimed) for report in tick(4)] == [2, 2, 1, 0]
    assert SandboxPost.objects.count() == 5


def test_the_publish_due_command_publishes_what_is_due(due_delivery):
    call_command("publish_due", verbosity=0)
    assert _reload(due_delivery).status == DeliveryStatus.PUBLISHED
    assert PublisherHeartbeat.objects.filter(name="publish_due").exists()


def test_the_beat_task_runs_one_dispatcher_tick(due_delivery):
    dispatch_due_deliveries.delay()
    assert _reload(due_delivery).status == DeliveryStatus.PUBLISHED
    assert PublisherHeartbeat.objects.get(name="celery-beat").last_report["claimed"] == 1


def test_an_enqueue_failure_loses_nothing(due_delivery):
    def broken_enqueue(delivery_id: int) -> None:
        raise ConnectionError("Redis is down")

    report = publishing.dispatch_tick(enqueue=broken_enqueue)  # logged, and the round still completes
    assert report.claimed == [due_delivery.pk]
    assert _reload(due_delivery).status == DeliveryStatus.CLAIMED  # the claim committed before enqueue
    expire_lease(due_delivery)
    tick()
    assert _reload(due_delivery).status == DeliveryStatus.PUBLISHED
    assert SandboxPost.objects.count() == 1


def test_a_draft_is_not_visible_to_the_dispatcher_even_with_a_hand_made_delivery(personas):
    """Defence in depth: a Delivery row for a post that is not approved is withdrawn, not sent."""
    post = draft_post(author=personas.alice, channels=[personas.parks_channel])
    content = services.approval_content_for(post)
    approval = PostApproval.objects.create(
        post=post,
        content=content,
        content_hash=services.content_hash(content),
        approved_by=personas.bob,
        approved_at=timezone.now(),
    )
    past = timezone.now() - dt.timedelta(minutes=1)
    Delivery.objects.create(
        post=post, channel=personas.parks_channel, approval=approval, due_at=past, next_attempt_at=past
    )
    tick()
    assert Delivery.objects.get().status == DeliveryStatus.CANCELLED
    assert not SandboxPost.objects.exists()


def test_an_unknown_delivery_on_a_platform_no_longer_installed_does_not_stop_the_dispatcher(personas):
    retired = ChannelFactory(department=personas.parks, display_name="Parks on a retired platform")
    stuck = approved_post(author=personas.alice, approver=personas.bob, channels=[retired])
    make_due(stuck)
    stuck.deliveries.update(status=DeliveryStatus.UNKNOWN)
    Channel.objects.filter(pk=retired.pk).update(platform="retired-platform")
    waiting = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    make_due(waiting)

    report = tick()[0]
    assert report.claimed == [waiting.deliveries.get().pk]
    assert waiting.deliveries.get().status == DeliveryStatus.PUBLISHED
    stuck_delivery = stuck.deliveries.get()
    assert stuck_delivery.status == DeliveryStatus.NEEDS_ATTENTION
    assert stuck_delivery.failure_message == NOT_CONFIRMED_MESSAGE


def test_a_reconcile_that_crashes_does_not_stop_the_dispatcher(due_delivery, personas, monkeypatch):
    other = ChannelFactory(department=personas.parks, display_name="Parks other")
    unknown_post = approved_post(author=personas.alice, approver=personas.bob, channels=[other])
    make_due(unknown_post)
    unknown_post.deliveries.update(status=DeliveryStatus.UNKNOWN)

    real_save = publishing.channel_save_renewed_credentials

    def broken_save(*, channel, adapter):  # noqa: ANN001, ANN202 - e.g. the database refuses to save
        if channel.pk == other.pk:
            raise RuntimeError("boom")
        return real_save(channel=channel, adapter=adapter)

    monkeypatch.setattr(publishing, "channel_save_renewed_credentials", broken_save)
    report = tick()[0]
    assert report.claimed == [due_delivery.pk]
    assert _reload(due_delivery).status == DeliveryStatus.PUBLISHED
    assert unknown_post.deliveries.get().status == DeliveryStatus.UNKNOWN  # tried again next tick
