"""Reads for the publishing status page (the IT admin, communications managers and staff)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from departments import rules
from scheduler.models import Delivery, DeliveryStatus


def user_can_see_publishing_status(*, user: User | AnonymousUser) -> bool:
    """The IT admin, the communications managers and staff users see the city-wide publishing status
    (departments.rules.can_view_publishing_status)."""
    return rules.can_view_publishing_status(user)


def deliveries_needing_attention(*, limit: int = 50) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(status__in=[DeliveryStatus.NEEDS_ATTENTION, DeliveryStatus.UNKNOWN])
        .select_related("post__department", "channel")
        .order_by("updated_at", "id")[:limit]
    )
