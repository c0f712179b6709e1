"""How many SQL statements the publish path costs (issue 7's CPU budget), through the real dispatcher, the
real Celery task and the Sandbox platform, and that the cheaper path still records everything.

The figures include the SAVEPOINT / RELEASE pair of every atomic block (the test runs inside a
transaction; in production they are BEGIN / COMMIT): 3 atomic blocks per delivery (start sending, the
Sandbox's own insert, record the outcome) make 6 of the 12.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditAction, AuditEvent
from scheduler import publishing
from scheduler.adapters import registry
from scheduler.adapters.sandbox.adapter import SandboxAdapter
from scheduler.models import Delivery, DeliveryAttempt, DeliveryStatus, PostStatus, SandboxPost
from scheduler.tasks import publish_delivery
from tests.factories import ChannelFactory
from tests.scheduler import approved_post, make_due

pytestmark = pytest.mark.django_db

# One dispatcher tick, whatever the number of due deliveries: sweep, reconcile, holds, blackouts, claim,
# heartbeat.
TICK_QUERIES = 19
# One delivery in the worker: claimed -> sending with its attempt (4: the lock and one statement on PostgreSQL),
# the Sandbox's insert (3), the outcome, its attempt, the post's status and the audit event under the post's
# lock (4: the lock and one statement), and the webhook outbox's look for subscriptions that want the outcome
# (1). It was 16 before the worker wrote each step's rows in one `WITH ... UPDATE ... RETURNING` statement
# (issue 18); on SQLite the ORM's path takes one statement per row (test_publishing_one_statement.py).
PUBLISH_QUERIES_PER_DELIVERY = 12


def _claim(django_assert_max_num_queries) -> list[int]:
    claimed: list[int] = []
    with django_assert_max_num_queries(TICK_QUERIES):
        publishing.dispatch_tick(enqueue=claimed.append)
    return claimed


def test_one_delivery_is_claimed_sent_and_recorded_within_its_query_budget(personas, django_assert_max_num_queries):
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    make_due(post)

    claimed = _claim(django_assert_max_num_queries)
    assert claimed == [post.deliveries.get().pk]
    with django_assert_max_num_queries(PUBLISH_QUERIES_PER_DELIVERY):
        publish_delivery(claimed[0])

    delivery = Delivery.objects.get(pk=claimed[0])
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert delivery.remote_id == str(SandboxPost.objects.get(channel=personas.parks_channel).pk)
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert (attempt.number, attempt.outcome, attempt.remote_id) == (1, "published", delivery.remote_id)
    assert attempt.finished_at is not None
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED
    event = AuditEvent.objects.get(action=AuditAction.POST_PUBLISHED)
    assert (event.target_id, event.changes["delivery"]) == (str(post.pk), delivery.pk)


def test_each_channel_of_a_post_costs_the_same_and_the_post_finishes_with_its_last_delivery(
    personas, django_assert_max_num_queries
):
    channels = [personas.parks_channel, *(ChannelFactory(department=personas.parks) for _ in range(2))]
    post = approved_post(author=personas.alice, approver=personas.bob, channels=channels)
    make_due(post)

    claimed = _claim(django_assert_max_num_queries)  # the same budget as for one delivery
    assert len(claimed) == 3
    statuses = []
    for number, delivery_id in enumerate(claimed, start=1):
        with CaptureQueriesContext(connection) as queries:
            statuses.append(publishing.delivery_publish(delivery_id=delivery_id))
        assert len(queries) <= PUBLISH_QUERIES_PER_DELIVERY, f"delivery {number}: {len(queries)} queries"
        post.refresh_from_db()
        assert post.status == (PostStatus.PUBLISHED if number == 3 else PostStatus.APPROVED)

    assert statuses == [DeliveryStatus.PUBLISHED] * 3
    assert SandboxPost.objects.count() == 3
    assert DeliveryAttempt.objects.filter(outcome="published").count() == 3
    assert AuditEvent.objects.filter(action=AuditAction.POST_PUBLISHED).count() == 3


class OvertakenSandboxAdapter(SandboxAdapter):
    """Publishes, but answers only after the sweeper and the reconciler have already decided the delivery
    (a send slower than its lease, found on the platform meanwhile)."""

    platform = "overtaken"
    label = "Overtaken"

    def publish(self, content, *, idempotency_key):  # noqa: ANN001, ANN201
        result = super().publish(content, idempotency_key=idempotency_key)
        Delivery.objects.filter(idempotency_key=idempotency_key).update(
            status=DeliveryStatus.NEEDS_ATTENTION, failure_message=publishing.NOT_CONFIRMED_MESSAGE
        )
        return result


@pytest.fixture
def overtaking_platform(monkeypatch):
    classes = {**registry.adapter_classes(), "overtaken": OvertakenSandboxAdapter}
    monkeypatch.setattr(registry, "adapter_classes", lambda: classes)


def test_an_answer_that_comes_after_the_delivery_moved_on_leaves_it_and_reports_its_real_status(
    overtaking_platform, personas
):
    channel = ChannelFactory(department=personas.parks, platform="overtaken", display_name="Parks overtaken")
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[channel])
    make_due(post)
    [delivery_id] = publishing.deliveries_claim_due()

    assert publishing.delivery_publish(delivery_id=delivery_id) == DeliveryStatus.NEEDS_ATTENTION
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.failure_message == publishing.NOT_CONFIRMED_MESSAGE
    assert delivery.remote_id == ""
    # The attempt still records the platform's answer, for whoever checks the account (superseded: it
    # answered after the delivery had moved on, so it did not decide the delivery).
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert attempt.outcome == "superseded"
    assert "This attempt's answer: published." in attempt.message
    assert attempt.remote_id
    assert not AuditEvent.objects.filter(action=AuditAction.POST_PUBLISHED).exists()
