"""A crisis hold switched on while dispatchers and workers are busy, on PostgreSQL: from the moment the hold
has committed nothing in its scope starts sending; when it is released every post goes out exactly once."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from governance.services import crisis_hold_end, crisis_hold_start
from scheduler import publishing
from scheduler.models import CrisisHold, Delivery, DeliveryAttempt, DeliveryStatus, ReleaseChoice
from tests.governance.city import City
from tests.scheduler import approved_post, make_due
from tests.scheduler.test_concurrency import _in_threads, platform_calls  # noqa: F401 - the fixture

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

POSTS = 60


def _dispatcher(stop: threading.Event) -> int:
    ticks = 0
    while not stop.is_set():
        publishing.dispatch_tick(enqueue=lambda delivery_id: publishing.delivery_publish(delivery_id=delivery_id))
        ticks += 1
    return ticks


def test_a_hold_switched_on_mid_dispatch_stops_every_later_send_and_release_sends_each_once(platform_calls):  # noqa: F811
    city = City()
    posts = [
        approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel], text=f"Post {i}")
        for i in range(POSTS)
    ]
    for post in posts:
        make_due(post)
    stop = threading.Event()
    committed_at: list = []

    def hold_after_a_moment() -> None:
        time.sleep(0.05)
        crisis_hold_start(user=city.dana, reason="Mid-dispatch hold")
        committed_at.append(timezone.now())
        time.sleep(0.5)  # the dispatchers keep ticking while the hold is on
        stop.set()

    _results, errors = _in_threads([lambda: _dispatcher(stop), lambda: _dispatcher(stop), hold_after_a_moment])
    assert errors == []
    hold_committed = committed_at[0]
    late = DeliveryAttempt.objects.filter(started_at__gt=hold_committed).count()
    assert late == 0, f"{late} deliveries started sending after the hold committed"
    held = Delivery.objects.filter(status=DeliveryStatus.SCHEDULED).count()
    sent_before = Delivery.objects.filter(status=DeliveryStatus.PUBLISHED).count()
    assert held + sent_before == POSTS  # nothing lost, nothing stuck in between
    assert held > 0  # the hold came while there was still work to hold
    assert not Delivery.objects.filter(status=DeliveryStatus.CANCELLED).exists()

    crisis_hold_end(hold=CrisisHold.objects.get(), user=city.dana, choice=ReleaseChoice.RELEASE)
    for _ in range(5):
        publishing.dispatch_tick(enqueue=lambda delivery_id: publishing.delivery_publish(delivery_id=delivery_id))
    assert Delivery.objects.filter(status=DeliveryStatus.PUBLISHED).count() == POSTS
    assert set(Counter(platform_calls).values()) == {1}
    assert len(platform_calls) == POSTS
    connection.close()
