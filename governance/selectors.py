"""Reads of governance with permission checks: crisis holds and what they hold, emergency alerts."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from departments import rules
from governance.models import CrisisHold, EmergencyAlert, EmergencyPost, EmergencyTemplate, PostHold
from scheduler.models import CLAIMABLE_DELIVERY_STATUSES, Delivery, Post, PostStatus
from scheduler.templatetags.civic_time import ZoneLike, format_in_zone

AnyUser = User | AnonymousUser


def active_crisis_holds() -> list[CrisisHold]:
    return list(
        CrisisHold.objects.filter(ended_at__isnull=True)
        .select_related("started_by")
        .prefetch_related("departments")
        .order_by("started_at", "id")
    )


def _not_emergency() -> Exists:
    # Exists.__invert__ returns a negated Exists; django-stubs says NegatedExpression.
    return ~Exists(EmergencyPost.objects.filter(post_id=OuterRef("post_id")))  # type: ignore[return-value]


def held_deliveries_filter(holds: list[CrisisHold] | None = None) -> Q | None:
    """Returns a Q matching the deliveries held right now (None when nothing can be): those of a post
    with an open PostHold, and, while a crisis hold is on, the non-emergency ones in its scope.
    The dispatcher excludes them when it claims due deliveries (one query for the holds)."""
    holds = active_crisis_holds() if holds is None else holds
    held = Q(Exists(PostHold.objects.filter(post_id=OuterRef("post_id"), released_at__isnull=True)))
    if any(hold.city_wide for hold in holds):
        return held | Q(_not_emergency())
    department_ids = {d.pk for hold in holds for d in hold.departments.all()}
    if department_ids:
        return held | (Q(post__department_id__in=department_ids) & Q(_not_emergency()))
    return held


def held_delivery_ids(delivery_ids: list[int]) -> set[int]:
    """Returns which of these deliveries are held right now (fresh reads of the holds, for the dispatcher's
    second look once it has locked its rows)."""
    if not delivery_ids:
        return set()
    held = held_deliveries_filter()
    if held is None:
        return set()
    return set(Delivery.objects.filter(pk__in=delivery_ids).filter(held).values_list("pk", flat=True))


def mark_held_deliveries(deliveries: Iterable[Delivery]) -> None:
    """Sets `is_held` on each delivery (True when a crisis hold or a post hold keeps it back now), for pages
    that show delivery statuses. Two queries whatever the number of deliveries, none when none can be held."""
    deliveries = list(deliveries)
    held = held_delivery_ids([d.pk for d in deliveries if d.status in CLAIMABLE_DELIVERY_STATUSES])
    for delivery in deliveries:
        delivery.is_held = delivery.pk in held


def deliveries_in_hold_scope(hold: CrisisHold) -> QuerySet[Delivery]:
    """Every non-emergency delivery the crisis hold covers, whatever its state."""
    queryset = Delivery.objects.filter(_not_emergency())
    if not hold.city_wide:
        queryset = queryset.filter(post__department__in=hold.departments.all())
    return queryset


def posts_held_by_crisis(hold: CrisisHold) -> QuerySet[Post]:
    """Approved posts with a delivery the hold is holding (waiting to go out), without the ones already
    kept on hold post by post: what switching the hold off must decide about."""
    waiting = deliveries_in_hold_scope(hold).filter(status__in=CLAIMABLE_DELIVERY_STATUSES)
    kept = PostHold.objects.filter(post_id=OuterRef("pk"), released_at__isnull=True)
    return (
        Post.objects.filter(status=PostStatus.APPROVED, pk__in=waiting.values("post_id"))
        .exclude(Exists(kept))
        .select_related("department", "author")
        .order_by("due_at", "id")
    )


def _crisis_message(hold: CrisisHold, zone: ZoneLike) -> str:
    name = hold.started_by.get_full_name() or hold.started_by.email
    return _("Held: crisis hold by %(name)s since %(when)s (%(reason)s). It will not go out until the hold ends.") % {
        "name": name,
        "when": format_in_zone(hold.started_at, zone),
        "reason": hold.reason,
    }


def hold_messages_for_posts(posts: Iterable[Post], *, zone: zoneinfo.ZoneInfo | None = None) -> dict[int, str]:
    """Returns {post id: "Held: ..."} for the posts whose deliveries are held now (approved, not emergency
    posts), times in `zone` (the viewer's; each post's department's when not given). Three queries whatever
    the number of posts."""
    posts = [p for p in posts if p.status == PostStatus.APPROVED]
    if not posts:
        return {}
    ids = [p.pk for p in posts]
    emergency = set(EmergencyPost.objects.filter(post_id__in=ids).values_list("post_id", flat=True))
    kept = {h.post_id: h for h in PostHold.objects.filter(post_id__in=ids, released_at__isnull=True)}
    holds = active_crisis_holds()
    messages: dict[int, str] = {}
    for post in posts:
        if post.pk in emergency:
            continue
        shown_in = zone or post.department.zone
        if post.pk in kept:
            hold = kept[post.pk]
            messages[post.pk] = _("Held: %(reason)s Held since %(when)s, until someone releases it.") % {
                "reason": hold.reason,
                "when": format_in_zone(hold.created_at, shown_in),
            }
            continue
        for crisis in holds:
            if crisis.city_wide or any(d.pk == post.department_id for d in crisis.departments.all()):
                messages[post.pk] = _crisis_message(crisis, shown_in)
                break
    return messages


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
