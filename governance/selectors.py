"""Reads of governance with permission checks: crisis holds and what they hold, emergency alerts."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from governance import rules
from governance.models import EmergencyAlert, EmergencyPost, EmergencyTemplate
from scheduler.models import CrisisHold, Post, PostHold

AnyUser = User | AnonymousUser


def crisis_hold_get_for_manager(*, user: AnyUser, hold_id: int) -> CrisisHold:
    """Returns a crisis hold for someone who may switch holds; raises Http404 for anyone else."""
    if not rules.can_start_crisis_hold(user):
        raise Http404("No such crisis hold.")
    hold = CrisisHold.objects.select_related("started_by", "ended_by").filter(pk=hold_id).first()
    if hold is None:
        raise Http404("No such crisis hold.")
    return hold


def crisis_holds_recent(limit: int = 20) -> list[CrisisHold]:
    return list(CrisisHold.objects.select_related("started_by", "ended_by").prefetch_related("departments")[:limit])


def post_holds_open() -> list[PostHold]:
    return list(
        PostHold.objects.filter(released_at__isnull=True)
        .select_related("post__department", "created_by", "crisis")
        .order_by("post__due_at", "id")
    )


def post_hold_get_for_manager(*, user: AnyUser, hold_id: int) -> PostHold:
    if not rules.can_release_post_hold(user):
        raise Http404("No such hold.")
    hold = PostHold.objects.select_related("post__department").filter(pk=hold_id).first()
    if hold is None:
        raise Http404("No such hold.")
    return hold


# --- Emergency ------------------------------------------------------------------------------------


def emergency_templates() -> list[EmergencyTemplate]:
    return list(EmergencyTemplate.objects.filter(is_active=True).order_by("position", "name"))


def emergency_alerts_for_user(*, user: AnyUser, unreviewed_only: bool = False) -> QuerySet[EmergencyAlert]:
    """Emergency publications for the people who review, publish or audit them; others get 404."""
    if not rules.can_view_emergency_alerts(user):
        raise Http404("No such page.")
    queryset = EmergencyAlert.objects.select_related("created_by", "template", "review__reviewed_by").prefetch_related(
        "posts__post__department", "posts__post__deliveries__channel"
    )
    if unreviewed_only:
        queryset = queryset.filter(review__isnull=True)
    return queryset.order_by("-created_at", "-id")


def emergency_alert_get(*, user: AnyUser, alert_id: int) -> EmergencyAlert:
    alert = emergency_alerts_for_user(user=user).filter(pk=alert_id).first()
    if alert is None:
        raise Http404("No such emergency post.")
    return alert


def emergency_alert_get_for_review(*, user: AnyUser, alert_id: int) -> EmergencyAlert:
    alert = emergency_alert_get(user=user, alert_id=alert_id)
    if not rules.can_review_emergency(user):
        raise PermissionDenied("Only a communications manager reviews emergency posts.")
    return alert


def emergency_alert_for_post(post: Post) -> EmergencyAlert | None:
    link = EmergencyPost.objects.select_related("alert__created_by", "alert__review").filter(post=post).first()
    return link.alert if link else None
