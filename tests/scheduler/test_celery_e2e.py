"""End to end through a real Celery worker process, on Redis and PostgreSQL: the dispatcher in this
process claims a due delivery and rings the doorbell; a separate `celery worker` publishes it once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from civicpost.celery import app as celery_app
from scheduler import publishing
from scheduler.models import DeliveryAttempt, DeliveryStatus, PostStatus, SandboxPost
from scheduler.tasks import publish_delivery
from tests.scheduler import approved_post, make_due

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60


def _test_database_url() -> str:
    """The URL of the database this test runs in (pytest-django's test_<name>), for the worker."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def queue_name() -> str:
    """A queue of our own, so a worker of another run (or another developer's) cannot take our task."""
    name = f"civicpost-e2e-{uuid.uuid4().hex[:12]}"
    yield name
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_delete(name)


@pytest.fixture
def celery_worker(queue_name: str, tmp_path: Path):
    """Starts `celery -A civicpost worker` as a subprocess on the test database; stops it afterwards."""
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "PYTHONUNBUFFERED": "1",
    }
    celery_bin = Path(sys.executable).with_name("celery")
    command = [
        str(celery_bin),
        "-A",
        "civicpost",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "-Q",
        queue_name,
        "-n",
        f"{queue_name}@%h",
        "-l",
        "info",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with log_path.open("wb") as log:
        worker = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield worker, log_path
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


@pytest.fixture
def tasks_through_the_broker():
    """The test settings run tasks eagerly; here they must go through Redis to the worker."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = previous


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
