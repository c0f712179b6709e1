import datetime as dt

import pytest
from django.utils import timezone

from scheduler.models import Delivery
from scheduler.services import post_approve, post_create, post_submit


@pytest.fixture
def approved_delivery(personas):  # noqa: ANN001, ANN201
    """Returns a function making an approved Parks post whose delivery was due `minutes_ago` minutes ago."""

    def make(minutes_ago: float = 0.0, *, text: str = "Splash pads open Saturday.", channel=None) -> Delivery:  # noqa: ANN001
        post = post_create(
            author=personas.alice,
            department=personas.parks,
            text=text,
            channels=[channel or personas.parks_channel],
            due_at=timezone.now() + dt.timedelta(hours=1),
        )
        post_submit(post=post, user=personas.alice)
        post_approve(post=post, user=personas.bob)
        delivery = Delivery.objects.get(post=post)
        due = timezone.now() - dt.timedelta(minutes=minutes_ago)
        Delivery.objects.filter(pk=delivery.pk).update(due_at=due, next_attempt_at=due)
        delivery.refresh_from_db()
        return delivery

    return make
