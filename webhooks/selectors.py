"""Reads with permission: a department's subscriptions and one subscription with its delivery log, for its
department admins (webhooks.rules). Others get 404 for a department they do not belong to, 403 otherwise."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from departments.models import Department
from departments.selectors import (
    department_ids_for_user,
    department_ids_user_administers,
    user_sees_every_department,
)
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.rules import can_manage_webhooks

LOG_LENGTH = 50


def _check(user: User | AnonymousUser, department_id: int) -> None:
    if can_manage_webhooks(user, department_id):
        return
    known = user_sees_every_department(user=user) or department_id in department_ids_for_user(user=user)
    if known:
        raise PermissionDenied
    raise Http404


def department_get_for_webhooks(*, user: User | AnonymousUser, department_id: int) -> Department:
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        raise Http404
    _check(user, department.pk)
    return department


def subscriptions_for_department(*, user: User | AnonymousUser, department: Department) -> list[WebhookSubscription]:
    _check(user, department.pk)
    return list(WebhookSubscription.objects.filter(department=department))


def subscription_get_for_admin(*, user: User | AnonymousUser, subscription_id: int) -> WebhookSubscription:
    subscription = WebhookSubscription.objects.select_related("department").filter(pk=subscription_id).first()
    if subscription is None:
        raise Http404
    _check(user, subscription.department_id)
    return subscription


def subscriptions_for_user(*, user: User | AnonymousUser) -> QuerySet[WebhookSubscription]:
    """Every subscription of the departments `user` administers (the API's list)."""
    return WebhookSubscription.objects.filter(department_id__in=department_ids_user_administers(user=user)).order_by(
        "id"
    )


def delivery_log(*, subscription: WebhookSubscription, limit: int = LOG_LENGTH) -> list[WebhookDelivery]:
    return list(subscription.deliveries.order_by("-created_at", "-id")[:limit])
