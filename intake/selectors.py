"""Reads with permission: a department's feeds (its admins manage them; members see their findings) and the
findings about broken feeds for the channels page."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _

from civicpost.timelabels import format_in_zone
from departments.models import Department
from departments.rules import can_administer_department
from departments.selectors import department_ids_for_user, user_sees_every_department
from intake.models import FeedItem, FeedSubscription
from scheduler.models import Channel

ITEMS_SHOWN = 50


@dataclass(frozen=True)
class Finding:
    """Something on the channels page that needs a person: what is wrong, and where to fix it. The shape
    the channel-health list shares (message, action URL and label, department)."""

    message: str
    action_url: str
    action_label: str
    department: str
    severity: str = "warning"


def _check(user: User | AnonymousUser, department_id: int) -> None:
    if can_administer_department(user, department_id):
        return
    if user_sees_every_department(user=user) or department_id in department_ids_for_user(user=user):
        raise PermissionDenied
    raise Http404


def department_get_for_feeds(*, user: User | AnonymousUser, department_id: int) -> Department:
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        raise Http404
    _check(user, department.pk)
    return department


def feeds_for_department(*, department: Department) -> list[FeedSubscription]:
    return list(FeedSubscription.objects.filter(department=department).prefetch_related("channels"))


def feed_get_for_admin(*, user: User | AnonymousUser, feed_id: int) -> FeedSubscription:
    subscription = FeedSubscription.objects.select_related("department").filter(pk=feed_id).first()
    if subscription is None:
        raise Http404
    _check(user, subscription.department_id)
    return subscription


def feed_items(*, subscription: FeedSubscription, limit: int = ITEMS_SHOWN) -> list[FeedItem]:
    return list(subscription.items.select_related("post", "reminder_post")[:limit])


def department_channels(*, department: Department) -> list[Channel]:
    return list(Channel.objects.filter(department=department).order_by("display_name"))


def feed_findings(*, user: User | AnonymousUser) -> list[Finding]:
    """The feeds of the viewer's departments (every department for those who see them all) whose last
    fetch failed: what went wrong since when, and the feed's page (for its admins; the others are told
    who can fix it). One query."""
    if not user.is_authenticated:
        return []
    failing = FeedSubscription.objects.filter(is_active=True, consecutive_failures__gt=0).select_related("department")
    if not user_sees_every_department(user=user):
        failing = failing.filter(department_id__in=department_ids_for_user(user=user))
    findings = []
    for feed in failing.order_by("department__name", "name"):
        since = format_in_zone(feed.failing_since, feed.department) if feed.failing_since else ""
        message = _("Feed “%(name)s” of %(department)s could not be read since %(since)s: %(error)s") % {
            "name": feed.name,
            "department": feed.department.name,
            "since": since,
            "error": feed.last_error,
        }
        admin = can_administer_department(user, feed.department_id)
        findings.append(
            Finding(
                message=message,
                action_url=reverse("intake:feed", kwargs={"feed_id": feed.pk}) if admin else "",
                action_label=_("Check the feed") if admin else _("A department admin can fix it"),
                department=feed.department.name,
            )
        )
    return findings
