"""Exactly once under concurrency, on PostgreSQL: several dispatchers and workers in threads, each with
its own database connection, racing for the same rows."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone

from civicpost.exceptions import ApplicationError
from scheduler import publishing, services
from scheduler.adapters.sandbox.adapter import SandboxAdapter
from scheduler.models import (
    PENDING_DELIVERY_STATUSES,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Post,
    PostStatus,
    SandboxPost,
)
from tests.factories import ChannelFactory
from tests.scheduler import approved_post, make_due

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DEADLINE_SECONDS = 90


@pytest.fixture
def platform_calls(monkeypatch) -> Counter:
    """Counts every call that reaches the Sandbox platform, per idempotency key. The Sandbox's own
    unique constraint would hide a second send; this counter does not."""
    calls: Counter = Counter()
    lock = threading.Lock()
    real_publish = SandboxAdapter.publish

    def counting_publish(self, content, *, idempotency_key):  # noqa: ANN001, ANN202
        with lock:
            calls[idempotency_key] += 1
        return real_publish(self, content, idempotency_key=idempotency_key)

    monkeypatch.setattr(SandboxAdapter, "publish", counting_publish)
    return calls


def _in_threads(targets: list[Callable[[], object]]) -> tuple[list[object], list[BaseException]]:
    """Runs each target in its own thread (own DB connection, closed at the end), all released at once.
    Returns (results, errors)."""
    barrier = threading.Barrier(len(targets))
    results: list[object] = []
    errors: list[BaseException] = []

    def run(target: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            results.append(target())
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(t,), name=f"racer-{i}") for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE_SECONDS)
        assert not thread.is_alive(), "a racing thread hung"
    return results, errors


def _many_due_deliveries(personas, *, posts: int, channels: int) -> list[Delivery]:  # noqa: ANN001
    channel_list = [ChannelFactory(department=personas.parks, display_name=f"Parks {i}") for i in range(channels)]
    for number in range(posts):
        post = approved_post(
            author=personas.alice, approver=personas.bob, channels=channel_list, text=f"Announcement {number}"
        )
        make_due(post)
    # Spread each post's deliveries over the claim order, so that different dispatchers end up
    # finishing deliveries of the same post at the same time.
    now = timezone.now()
    for delivery in Delivery.objects.all():
        offset = dt.timedelta(minutes=1 + (delivery.channel_id % channels))
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=now - offset)
    return list(Delivery.objects.all())


def test_two_dispatchers_claiming_at_once_split_the_rows(personas):
    deliveries = _many_due_deliveries(personas, posts=20, channels=3)
    results, errors = _in_threads([publishing.deliveries_claim_due for _ in range(4)])
    assert errors == []
    claimed = [delivery_id for batch in results for delivery_id in batch]
    assert sorted(claimed) == sorted(d.pk for d in deliveries)  # every row once, none twice
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.CLAIMED}


def test_concurrent_dispatchers_publish_every_due_delivery_exactly_once(personas, platform_calls):
    deliveries = _many_due_deliveries(personas, posts=50, channels=4)
    assert len(deliveries) == 200
    claimed_by_thread: dict[str, list[int]] = {}

    def dispatcher_loop() -> None:
        name = threading.current_thread().name
        mine = claimed_by_thread.setdefault(name, [])
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            report = publishing.dispatch_tick(
                enqueue=lambda delivery_id: publishing.delivery_publish(delivery_id=delivery_id), loop_name=name
            )
            mine.extend(report.claimed)
            if not report.claimed and not Delivery.objects.filter(status__in=PENDING_DELIVERY_STATUSES).exists():
                return
        raise AssertionError("deliveries still pending at the deadline")

    started = time.monotonic()
    with override_settings(CIVICPOST_DISPATCH_BATCH_SIZE=7):
        _, errors = _in_threads([dispatcher_loop for _ in range(4)])
    elapsed = time.monotonic() - started
    assert errors == []

    all_claims = [delivery_id for ids in claimed_by_thread.values() for delivery_id in ids]
    assert sorted(all_claims) == sorted(d.pk for d in deliveries)
    assert sum(1 for ids in claimed_by_thread.values() if ids) >= 2, "only one dispatcher did any work"

    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PUBLISHED}
    keys = {str(d.idempotency_key) for d in deliveries}
    assert set(platform_calls) == keys
    assert set(platform_calls.values()) == {1}  # the platform was called once per delivery
    per_key = SandboxPost.objects.values("channel", "idempotency_key").annotate(n=Count("id"))
    assert {row["n"] for row in per_key} == {1}
    assert SandboxPost.objects.count() == len(deliveries)
    assert DeliveryAttempt.objects.count() == len(deliveries)
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    assert set(Post.objects.values_list("status", flat=True)) == {PostStatus.PUBLISHED}
    print(f"\n200 deliveries published by 4 dispatcher threads in {elapsed:.2f} s")


def test_the_same_claimed_delivery_handed_to_two_workers_at_once_is_sent_once(personas, platform_calls):
    _many_due_deliveries(personas, posts=10, channels=2)
    claimed = publishing.deliveries_claim_due()
    assert len(claimed) == 20
    for delivery_id in claimed:
        results, errors = _in_threads(
            [lambda delivery_id=delivery_id: publishing.delivery_publish(delivery_id=delivery_id)] * 2
        )
        assert errors == []
        assert sorted(results, key=str) == [None, DeliveryStatus.PUBLISHED]
    assert len(platform_calls) == 20
    assert set(platform_calls.values()) == {1}
    assert SandboxPost.objects.count() == 20
    assert DeliveryAttempt.objects.count() == 20


def test_a_cancel_racing_a_worker_that_starts_sending_never_reports_cancelled_for_a_post_that_goes_out(
    personas, platform_calls, monkeypatch
):
    """The worker holds the delivery's row lock between checking the approval and marking `sending`;
    the cancel arrives in that moment. Either the cancel wins (nothing is sent) or it is refused."""
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    make_due(post)
    [delivery_id] = publishing.deliveries_claim_due()

    worker_checked = threading.Event()
    release_worker = threading.Event()
    real_blocker = publishing._publish_blocker

    def pausing_blocker(delivery):  # noqa: ANN001, ANN202
        blocker = real_blocker(delivery)
        if threading.current_thread().name == "worker":
            worker_checked.set()
            release_worker.wait(timeout=30)
        return blocker

    monkeypatch.setattr(publishing, "_publish_blocker", pausing_blocker)
    outcome: dict[str, object] = {}

    def worker() -> None:
        try:
            outcome["worker"] = publishing.delivery_publish(delivery_id=delivery_id)
        finally:
            connection.close()

    def canceller() -> None:
        try:
            services.post_cancel(post=post, user=personas.alice)
            outcome["cancel"] = "cancelled"
        except ApplicationError as error:
            outcome["cancel"] = error.message
        finally:
            connection.close()

    worker_thread = threading.Thread(target=worker, name="worker")
    worker_thread.start()
    assert worker_checked.wait(timeout=30)
    cancel_thread = threading.Thread(target=canceller, name="canceller")
    cancel_thread.start()
    time.sleep(0.5)  # the cancel is now waiting for the worker's row lock
    release_worker.set()
    worker_thread.join(timeout=30)
    cancel_thread.join(timeout=30)

    post.refresh_from_db()
    sent = SandboxPost.objects.count()
    if outcome["cancel"] == "cancelled":
        assert post.status == PostStatus.CANCELLED
        assert sent == 0, "the post was reported cancelled but went out"
    else:
        assert outcome["cancel"] == "This post is being published right now and can no longer be changed or cancelled."
        assert post.status == PostStatus.PUBLISHED
        assert sent == 1
    assert sum(platform_calls.values()) == sent


def test_a_cancel_racing_a_worker_that_records_its_result_does_not_deadlock(personas, monkeypatch):
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    make_due(post)
    [delivery_id] = publishing.deliveries_claim_due()

    worker_recording = threading.Event()
    release_worker = threading.Event()
    real_announce = publishing._announce_outcome

    # Called inside the result transaction, after its writes (it holds the post's and the delivery's locks).
    def pausing_announce(delivery: Delivery, **kwargs: Any) -> None:
        if threading.current_thread().name == "worker":
            worker_recording.set()
            release_worker.wait(timeout=30)
        real_announce(delivery, **kwargs)

    monkeypatch.setattr(publishing, "_announce_outcome", pausing_announce)
    outcome: dict[str, object] = {}

    def worker() -> None:
        try:
            outcome["worker"] = publishing.delivery_publish(delivery_id=delivery_id)
        except Exception as error:  # noqa: BLE001
            outcome["worker"] = error
        finally:
            connection.close()

    def canceller() -> None:
        try:
            services.post_cancel(post=post, user=personas.alice)
            outcome["cancel"] = "cancelled"
        except ApplicationError as error:
            outcome["cancel"] = error.message
        except Exception as error:  # noqa: BLE001
            outcome["cancel"] = error
        finally:
            connection.close()

    worker_thread = threading.Thread(target=worker, name="worker")
    worker_thread.start()
    assert worker_recording.wait(timeout=30)  # the worker is inside its result transaction
    cancel_thread = threading.Thread(target=canceller, name="canceller")
    cancel_thread.start()
    time.sleep(0.5)
    release_worker.set()
    worker_thread.join(timeout=30)
    cancel_thread.join(timeout=30)

    assert outcome["worker"] == DeliveryStatus.PUBLISHED, outcome
    assert outcome["cancel"] == "This post has already been published and cannot be cancelled.", outcome
    assert Delivery.objects.get(pk=delivery_id).status == DeliveryStatus.PUBLISHED
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED


def test_two_deliveries_of_one_post_finishing_together_mark_the_post_finished(personas, monkeypatch):
    second = ChannelFactory(department=personas.parks, display_name="Parks second")
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel, second])
    make_due(post)
    claimed = publishing.deliveries_claim_due()
    assert len(claimed) == 2

    # Hold both workers just before they look at the post, so that they look at the same moment
    # (if the code lets them: a worker that locks the post first makes the other one wait).
    together = threading.Barrier(2)
    real_record = publishing._record_outcome

    # Called once the worker has the post's lock, before the statement that writes the outcome and decides
    # whether the post is finished.
    def meeting_record(*args: Any, **kwargs: Any) -> tuple[bool, bool]:
        with contextlib.suppress(threading.BrokenBarrierError):
            together.wait(timeout=2)
        return real_record(*args, **kwargs)

    monkeypatch.setattr(publishing, "_record_outcome", meeting_record)
    results, errors = _in_threads(
        [
            lambda delivery_id=delivery_id: publishing.delivery_publish(delivery_id=delivery_id)
            for delivery_id in claimed
        ]
    )
    assert errors == []
    assert results == [DeliveryStatus.PUBLISHED] * 2
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED
