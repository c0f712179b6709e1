"""The attempt log (DeliveryAttempt) stays true to what happened: a worker killed mid-send leaves no attempt
`sending` forever, and a stalled older attempt never records its answer over a newer one in flight."""

import pytest

from scheduler import publishing, services
from scheduler.adapters import registry
from scheduler.adapters.base import PublishResult
from scheduler.adapters.sandbox.adapter import SandboxAdapter
from scheduler.models import Delivery, DeliveryAttempt, DeliveryStatus, SandboxPost
from tests.scheduler import approved_post, expire_lease, make_due, tick

pytestmark = pytest.mark.django_db

STOPPED_MESSAGE = "The worker stopped answering while sending; the platform may or may not have the post."


@pytest.fixture
def due_delivery(personas):
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    make_due(post)
    return post.deliveries.get()


@pytest.fixture
def platform_finds(monkeypatch):
    """The Sandbox reconciler answers from its own timeline: the post if it is there, else proved absent."""

    def reconcile(self, content, *, idempotency_key, sent_at, first_sent_at=None):  # noqa: ANN001, ANN202, ARG001
        found = SandboxPost.objects.filter(channel_id=self.account.channel_id, idempotency_key=idempotency_key).first()
        return PublishResult(remote_id=str(found.pk), permalink="") if found else None

    monkeypatch.setattr(SandboxAdapter, "reconcile", reconcile, raising=False)


def _reload(delivery: Delivery) -> Delivery:
    delivery.refresh_from_db()
    return delivery


def _platform_accepts(delivery: Delivery) -> PublishResult:
    """The request of a worker reaches the platform (whether or not the worker lives to hear the answer)."""
    return registry.adapter_for_channel(delivery.channel).publish(
        services.channel_content(delivery.approval.content, delivery.channel),
        idempotency_key=str(delivery.idempotency_key),
    )


def _stall_and_put_back(delivery: Delivery) -> tuple[Delivery, DeliveryAttempt]:
    """Attempt 1 starts and stalls; its lease runs out; the reconciler finds nothing and puts it back."""
    assert publishing.deliveries_claim_due() == [delivery.pk]
    delivery, attempt = publishing._start_sending(delivery.pk)
    expire_lease(delivery)
    assert publishing.deliveries_sweep_expired_leases() == (0, 1)
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    return delivery, attempt


# --- Item 19: a worker killed mid-send ----------------------------------------------------------------


def test_the_sweeper_closes_the_attempt_of_a_worker_killed_mid_send(due_delivery):
    publishing.deliveries_claim_due()
    publishing._start_sending(due_delivery.pk)  # ... and the worker process dies here
    attempt = DeliveryAttempt.objects.get(delivery=due_delivery)
    assert (attempt.outcome, attempt.finished_at) == ("sending", None)

    expire_lease(due_delivery)
    report = tick()[0]  # sweeps, then reconciles: the Sandbox cannot tell, so a person must look
    assert report.swept_sends == 1
    assert _reload(due_delivery).status == DeliveryStatus.NEEDS_ATTENTION
    attempt.refresh_from_db()
    assert attempt.outcome == DeliveryStatus.UNKNOWN
    assert attempt.finished_at is not None
    assert attempt.message == STOPPED_MESSAGE
    assert not DeliveryAttempt.objects.filter(outcome="sending").exists()


def test_a_send_the_reconciler_confirms_records_its_attempt_as_published(due_delivery, platform_finds):
    publishing.deliveries_claim_due()
    delivery, attempt = publishing._start_sending(due_delivery.pk)
    accepted = _platform_accepts(delivery)  # the platform has the post, then the worker is killed

    expire_lease(delivery)
    report = tick()[0]
    assert (report.swept_sends, report.reconciled, report.claimed) == (1, 1, [])
    delivery = _reload(delivery)
    assert (delivery.status, delivery.remote_id) == (DeliveryStatus.PUBLISHED, accepted.remote_id)
    attempt.refresh_from_db()
    assert attempt.outcome == DeliveryStatus.PUBLISHED
    assert attempt.remote_id == accepted.remote_id
    assert attempt.finished_at is not None
    assert attempt.message == f"{STOPPED_MESSAGE} Confirmed later: the platform has the post."
    assert SandboxPost.objects.count() == 1


def test_the_reconciler_closes_an_attempt_still_marked_sending_from_before_the_sweeper_closed_them(
    due_delivery, platform_finds
):
    # A row left `sending` by an older version: the delivery is already unknown, its attempt still open.
    publishing.deliveries_claim_due()
    delivery, attempt = publishing._start_sending(due_delivery.pk)
    _platform_accepts(delivery)
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.UNKNOWN, lease_expires_at=None)

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED
    attempt.refresh_from_db()
    assert attempt.outcome == DeliveryStatus.PUBLISHED
    assert attempt.finished_at is not None


# --- Item 20: a stalled older attempt and a newer one in flight ----------------------------------------


def test_a_stalled_older_attempt_cannot_record_its_answer_over_a_newer_attempt_in_flight(due_delivery, platform_finds):
    delivery, first = _stall_and_put_back(due_delivery)
    assert publishing.deliveries_claim_due() == [delivery.pk]
    delivery_2, second = publishing._start_sending(delivery.pk)  # attempt 2 is in flight
    assert second.number == 2

    # Attempt 1 finally hears back: a refusal. It must not end the delivery attempt 2 is sending.
    assert (
        publishing._finish(delivery, first, status=DeliveryStatus.FAILED, message="Too many hashtags.", raw={"e": 1})
        is False
    )
    assert _reload(delivery).status == DeliveryStatus.SENDING
    first.refresh_from_db()
    assert first.outcome == "superseded"
    assert first.finished_at is not None
    assert (
        first.message
        == "Attempt 2 had started before this answer came. This attempt's answer: failed. Too many hashtags."
    )
    assert first.response == {"e": 1}

    # Attempt 2 answers: it owns the delivery, so its answer is the one recorded.
    result = _platform_accepts(delivery_2)
    assert publishing._finish(delivery_2, second, status=DeliveryStatus.PUBLISHED, result=result) is True
    delivery = _reload(delivery)
    assert (delivery.status, delivery.remote_id, delivery.failure_message) == (
        DeliveryStatus.PUBLISHED,
        result.remote_id,
        "",
    )
    second.refresh_from_db()
    assert second.outcome == DeliveryStatus.PUBLISHED
    assert delivery.post.status == "published"


def test_a_newer_attempt_that_finished_first_keeps_the_delivery_when_the_older_one_answers(due_delivery):
    publishing.deliveries_claim_due()
    delivery, first = publishing._start_sending(due_delivery.pk)
    # Attempt 1 stalls; the delivery is put back (as the reconciler does once a platform proves absence).
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.CLAIMED)
    delivery_2, second = publishing._start_sending(delivery.pk)
    result = _platform_accepts(delivery_2)
    assert publishing._finish(delivery_2, second, status=DeliveryStatus.PUBLISHED, result=result) is True

    assert publishing._finish(delivery, first, status=DeliveryStatus.UNKNOWN, message="Timed out.") is False
    delivery = _reload(delivery)
    assert (delivery.status, delivery.remote_id) == (DeliveryStatus.PUBLISHED, result.remote_id)
    first.refresh_from_db()
    assert first.outcome == "superseded"
    assert first.message.endswith("This attempt's answer: unknown. Timed out.")


def test_a_stalled_attempt_that_published_after_being_put_back_is_not_sent_again(due_delivery, monkeypatch):
    # The platform had not received the slow request yet when the reconciler looked: proved absent.
    monkeypatch.setattr(SandboxAdapter, "reconcile", lambda self, *a, **kw: None, raising=False)
    delivery, first = _stall_and_put_back(due_delivery)
    assert _reload(delivery).status == DeliveryStatus.SCHEDULED

    # ... then it arrives, and the stalled worker hears the platform's answer before any new attempt.
    result = _platform_accepts(delivery)
    assert publishing._finish(delivery, first, status=DeliveryStatus.PUBLISHED, result=result) is True

    assert tick(2)[0].claimed == []
    delivery = _reload(delivery)
    assert (delivery.status, delivery.remote_id, delivery.attempts) == (DeliveryStatus.PUBLISHED, result.remote_id, 1)
    assert SandboxPost.objects.count() == 1
    first.refresh_from_db()
    assert first.outcome == DeliveryStatus.PUBLISHED
