"""Reads for the publishing status page (admins only)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from departments.models import Role
from departments.selectors import memberships_for_user
from scheduler.models import Delivery, DeliveryStatus


def user_can_see_publishing_status(*, user: User | AnonymousUser) -> bool:
    """Staff users and admins of the communications team see the city-wide publishing status."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    return any(m.role == Role.ADMIN and m.department.is_communications_team for m in memberships_for_user(user=user))


def deliveries_needing_attention(*, limit: int = 50) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(status__in=[DeliveryStatus.NEEDS_ATTENTION, DeliveryStatus.UNKNOWN])
        .select_related("post__department", "channel")
        .order_by("updated_at", "id")[:limit]
    )
