"""Shared steps of the archive tests: publish through the real path, make a records officer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from departments.models import CityRole, CityRoleName
from scheduler import services
from scheduler.models import Delivery, DeliveryStatus
from tests.factories import UserFactory
from tests.scheduler import make_due, tick


def publish(
    personas: Any,
    *,
    text: str = "Splash pads open Saturday.",
    channels: list | None = None,
    author: Any = None,
    approver: Any = None,
    **fields: Any,
) -> list[Delivery]:
    """Publishes one Parks post now through the real services and dispatcher; returns its deliveries.
    `fields` go to post_create (link, media...)."""
    channels = channels or [personas.parks_channel]
    post = services.post_create(
        author=author or personas.alice,
        department=channels[0].department,
        text=text,
        channels=channels,
        due_at=timezone.now() + dt.timedelta(hours=1),
        **fields,
    )
    services.post_submit(post=post, user=author or personas.alice)
    services.post_approve(post=post, user=approver or personas.bob)
    make_due(post)
    tick()
    deliveries = list(Delivery.objects.filter(post=post).order_by("id"))
    assert all(d.status == DeliveryStatus.PUBLISHED for d in deliveries)
    return deliveries


def records_officer(username: str = "rita") -> Any:
    user = UserFactory(username=username)
    CityRole.objects.create(user=user, role=CityRoleName.RECORDS_OFFICER)
    return user
