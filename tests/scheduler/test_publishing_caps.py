"""Running out of attempts never calls a delivery 'failed' when an earlier attempt may be live."""

import pytest

from scheduler import publishing
from scheduler.models import DeliveryAttempt, DeliveryStatus
from tests.scheduler import approved_post, make_due, make_retry_due, set_mode, tick


@pytest.fixture
def due_delivery(personas):
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    make_due(post)
    return post.deliveries.get()


def test_running_out_of_attempts_after_only_refusals_is_a_plain_failure(due_delivery, personas, settings) -> None:
    settings.CIVICPOST_MAX_ATTEMPTS = 2
    set_mode(personas.parks_channel, "down")
    tick()
    make_retry_due(due_delivery)
    tick()
    due_delivery.refresh_from_db()
    assert due_delivery.status == DeliveryStatus.FAILED
    assert "Gave up after 2 attempts" in due_delivery.failure_message


def test_running_out_of_attempts_after_an_unclear_one_asks_a_person(due_delivery, personas, settings) -> None:
    settings.CIVICPOST_MAX_ATTEMPTS = 2
    set_mode(personas.parks_channel, "down")
    tick()
    # The first attempt's worker died while sending: its outcome was never recorded.
    DeliveryAttempt.objects.filter(delivery=due_delivery).update(outcome="sending", finished_at=None)
    make_retry_due(due_delivery)
    tick()
    due_delivery.refresh_from_db()
    assert due_delivery.status == DeliveryStatus.NEEDS_ATTENTION
    assert publishing.NOT_CONFIRMED_MESSAGE in due_delivery.failure_message


def test_reconcile_out_of_attempts_asks_a_person_instead_of_failing(due_delivery, settings, monkeypatch) -> None:
    settings.CIVICPOST_MAX_ATTEMPTS = 1
    tick()  # published once
    due_delivery.refresh_from_db()
    due_delivery.status = DeliveryStatus.UNKNOWN
    due_delivery.save()
    monkeypatch.setattr(
        "scheduler.adapters.sandbox.adapter.SandboxAdapter.reconcile",
        lambda self, content, **kwargs: None,
        raising=False,
    )
    assert publishing.delivery_reconcile(delivery_id=due_delivery.pk) == DeliveryStatus.NEEDS_ATTENTION
