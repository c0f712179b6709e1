"""End to end through a real Celery worker process, on Redis and PostgreSQL: the dispatcher in this
process claims a due delivery and rings the doorbell; a separate `celery worker` publishes it once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from civicpost.celery import app as celery_app
from scheduler import publishing
from scheduler.models import DeliveryAttempt, DeliveryStatus, PostStatus, SandboxPost
from scheduler.tasks import publish_delivery
from tests.scheduler import approved_post, make_due
from tests.scheduler.celery_worker import WAIT_SECONDS, new_queue_name, queue_delete, running_worker
from tests.scheduler.celery_worker import tasks_through_the_broker as through_the_broker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue_name() -> str:
    """A queue of our own, so a worker of another run (or another developer's) cannot take our task."""
    name = new_queue_name()
    yield name
    queue_delete(name)


@pytest.fixture
def celery_worker(queue_name: str, tmp_path: Path):
    """Starts `celery -A civicpost worker` as a subprocess on the test database; stops it afterwards."""
    log_path = tmp_path / "worker.log"
    with running_worker(queue_name, log_path) as worker:
        yield worker, log_path


@pytest.fixture
def tasks_through_the_broker():
    """The test settings run tasks eagerly; here they must go through Redis to the worker."""
    with through_the_broker():
        yield


def test_an_approved_post_that_becomes_due_is_published_once_by_a_real_worker(
    personas, celery_worker, queue_name, tasks_through_the_broker
):
    worker, log_path = celery_worker
    post = approved_post(
        author=personas.alice, approver=personas.bob, channels=[personas.parks_channel], text="Through Redis"
    )
    make_due(post)
    delivery = post.deliveries.get()

    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue_name)  # nothing left over from anything else

    started = time.monotonic()
    report = publishing.dispatch_tick(
        enqueue=lambda delivery_id: publish_delivery.apply_async((delivery_id,), queue=queue_name)
    )
    assert report.claimed == [delivery.pk]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.CLAIMED  # in this process nothing was sent

    while time.monotonic() - started < WAIT_SECONDS:
        delivery.refresh_from_db()
        if delivery.status not in (DeliveryStatus.CLAIMED, DeliveryStatus.SENDING):
            break
        assert worker.poll() is None, f"the worker exited:\n{log_path.read_text()}"
        time.sleep(0.25)
    elapsed = time.monotonic() - started
    assert delivery.status == DeliveryStatus.PUBLISHED, f"after {elapsed:.1f} s:\n{log_path.read_text()}"

    # A second tick (and a duplicated message) sends nothing more.
    publishing.dispatch_tick(enqueue=lambda delivery_id: publish_delivery.apply_async((delivery_id,), queue=queue_name))
    publish_delivery.apply_async((delivery.pk,), queue=queue_name)
    time.sleep(2)

    assert SandboxPost.objects.count() == 1
    sandbox_post = SandboxPost.objects.get()
    assert (sandbox_post.text, sandbox_post.idempotency_key) == ("Through Redis", str(delivery.idempotency_key))
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 1
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED
    assert "Task scheduler.tasks.publish_delivery[" in log_path.read_text()
    print(f"\npublished through a real Celery worker {elapsed:.2f} s after the dispatcher tick")
