"""Blackout periods in force (issue 5): the one rule for scheduling into them, and what holds a post caught
in one, and the blackouts the calendar and its management page read. Blackouts themselves are added and
removed in scheduler/calendar_services.py.

The rule: a post may not be scheduled into a blackout of its department or of the whole city, unless a
person who may override it (scheduler.rules.can_override_blackout: the department's approvers and the
communications managers) gives a reason. Each such decision is a BlackoutOverride row (one per blackout, for
the post's time) and a `post.blackout_override` event in the audit trail. It is checked by
`blackout_clearance`, called by every service that gives a post its time or puts it in the queue:

- post_submit: the post's time. An editor may *save* a draft inside a blackout (drafts are not
  scheduled), but not submit it; an override already given for that time lets it through;
- post_update of a post waiting for approval or approved, when its time changes;
- post_reschedule (the calendar), for any post it moves, drafts too;
- post_approve: every approval of a post inside a blackout needs the approving person's own reason;
- the CSV import and recurring series, which submit through post_submit (their previews also say which
  rows and dates fall in a blackout).

A blackout added over approved posts: blackout_create sends each approved post whose time falls inside it
back to the approval queue at once (`post_hold_for_blackout`: pending deliveries withdrawn, a PostReview
and the audit trail say why, the approvers are told); approving it again needs an override. The
dispatcher is the safety net: it never claims a delivery while a blackout of its department is on unless
an override covers that blackout at the post's time, and holds such a post the same way. A post partly
published already cannot be approved again (its published channels would get it twice), so its
remaining deliveries are marked "needs attention" with the reason instead. Emergency posts are never held,
as with crisis holds. Removing the blackout later approves nothing again: the held posts wait in the queue.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from civicpost.exceptions import ApplicationError
from civicpost.text import normalize_text
from civicpost.timelabels import date_label, format_in_zone, time_label
from departments.models import Department
from departments.selectors import memberships_for_user, user_approves_everywhere, user_is_department_admin
from scheduler import rules
from scheduler.models import (
    BlackoutOverride,
    BlackoutPeriod,
    Post,
    PostStatus,
)


class BlackoutRefused(ApplicationError):
    """The time falls inside a blackout. `extra`: "needs_override" (this person could go ahead by giving a
    reason), "blackouts" (their ids), "problems" (the message, for callers that gather problems)."""


# --- Reading blackouts ------------------------------------------------------------------------------


def blackouts_overlapping(*, start: dt.datetime, end: dt.datetime) -> list[BlackoutPeriod]:
    return list(
        BlackoutPeriod.objects.filter(starts_at__lt=end, ends_at__gt=start)
        .select_related("department")
        .order_by("starts_at", "id")
    )


def blackout_applies(blackout: BlackoutPeriod, *, department_id: int, when: dt.datetime) -> bool:
    return (blackout.department_id is None or blackout.department_id == department_id) and (
        blackout.starts_at <= when < blackout.ends_at
    )


def blackouts_at(*, department_id: int, when: dt.datetime) -> list[BlackoutPeriod]:
    """Returns the blackout periods that cover `when` for a department (its own and city-wide ones)."""
    return list(
        BlackoutPeriod.objects.filter(starts_at__lte=when, ends_at__gt=when)
        .filter(Q(department__isnull=True) | Q(department_id=department_id))
        .select_related("department")
        .order_by("starts_at", "id")
    )


def blackout_scope(blackout: BlackoutPeriod) -> str:
    return blackout.department.name if blackout.department is not None else _("whole city")


def blackout_label(blackout: BlackoutPeriod, zone: zoneinfo.ZoneInfo) -> str:
    starts = blackout.starts_at.astimezone(zone)
    ends = blackout.ends_at.astimezone(zone)
    return _("%(reason)s (%(scope)s), %(start)s to %(end)s") % {
        "reason": blackout.reason,
        "scope": blackout_scope(blackout),
        "start": f"{date_label(starts)}, {time_label(starts)}",
        "end": f"{date_label(ends)}, {time_label(ends)}",
    }


def blackout_departments_for(*, user: User | AnonymousUser) -> list[Department]:
    """Departments whose blackouts the person may manage."""
    if user_approves_everywhere(user=user):
        return list(Department.objects.order_by("name"))
    return [
        m.department
        for m in memberships_for_user(user=user)
        if user_is_department_admin(user=user, department_id=m.department_id)
    ]


def blackouts_upcoming(*, now: dt.datetime | None = None) -> list[BlackoutPeriod]:
    """Current and future blackouts, for the management page (everyone may read them)."""
    now = now or timezone.now()
    return list(
        BlackoutPeriod.objects.filter(ends_at__gt=now).select_related("department", "created_by").order_by("starts_at")
    )


def blackout_get_for_manager(*, user: User | AnonymousUser, blackout_id: int) -> BlackoutPeriod:
    blackout = BlackoutPeriod.objects.select_related("department").filter(pk=blackout_id).first()
    if blackout is None or not rules.user_can_manage_blackouts(user=user, department_id=blackout.department_id):
        raise Http404("No such blackout.")
    return blackout


# --- The rule -----------------------------------------------------------------------------------------


def blackouts_in_words(blackouts: Iterable[BlackoutPeriod], zone: zoneinfo.ZoneInfo) -> str:
    """ "Election day (whole city), Tue, Nov 3, 2026, 12:00 AM CST (UTC−06:00) to ..." in `zone`."""
    return "; ".join(blackout_label(blackout, zone) for blackout in blackouts)


def blackouts_message(*, blackouts: Iterable[BlackoutPeriod], post: Post, zone: zoneinfo.ZoneInfo | None = None) -> str:
    """The blackouts in words, in `zone` (the viewer's on a page; the post's department's otherwise)."""
    return blackouts_in_words(blackouts, zone or post.department.zone)


def _covered_ids(
    *, post: Post, due_at: dt.datetime, blackouts: list[BlackoutPeriod], given_by: User | None = None
) -> set[int]:
    overrides = BlackoutOverride.objects.filter(post_id=post.pk, due_at=due_at, blackout__in=blackouts)
    if given_by is not None:
        overrides = overrides.filter(given_by_id=given_by.pk)
    return set(overrides.values_list("blackout_id", flat=True))


def blackout_clearance(
    *,
    post: Post,
    user: User,
    due_at: dt.datetime,
    override_reason: str = "",
    approving: bool = False,
) -> list[BlackoutPeriod]:
    """Applies the rule to scheduling `post` at `due_at` (or now, if that has passed: when it would go
    out). Returns the blackouts `user` overrides with `override_reason` (record them with
    blackout_override_record once the change is saved); an empty list when nothing needs recording.

    An override already given for this post at this time counts, except when `approving`: then it must be
    the approving person's own. Raises BlackoutRefused when the time is inside a blackout not covered and
    the person may not override it, or gives no reason."""
    blackouts = blackouts_at(department_id=post.department_id, when=max(due_at, timezone.now()))
    if not blackouts:
        return []
    covered = _covered_ids(post=post, due_at=due_at, blackouts=blackouts, given_by=user if approving else None)
    needing = [blackout for blackout in blackouts if blackout.pk not in covered]
    if not needing:
        return []
    reason = override_reason.strip()
    may_override = rules.can_override_blackout(user, post.department_id)
    inside = _("%(when)s is inside a blackout: %(blackouts)s.") % {
        "when": format_in_zone(due_at, post.department),
        "blackouts": blackouts_message(blackouts=needing, post=post),
    }
    if not may_override:
        message = (
            inside
            + " "
            + _("Only an approver of %(department)s can schedule a post into it.")
            % {"department": post.department.name}
        )
    elif not reason:
        message = (
            inside
            + " "
            + (
                _("To approve it anyway, give the reason.")
                if approving
                else _("To schedule it anyway, give the reason.")
            )
        )
    else:
        return needing
    raise BlackoutRefused(
        message,
        extra={"needs_override": may_override, "blackouts": [b.pk for b in needing], "problems": [message]},
    )


def blackout_override_record(
    *,
    post: Post,
    user: User,
    blackouts: list[BlackoutPeriod],
    reason: str,
    previous_due_at: dt.datetime | None = None,
) -> list[BlackoutOverride]:
    """Keeps `user`'s decision to schedule `post` (saved, at its time) into `blackouts`, with the reason,
    and writes it to the audit trail. A decision the same person already recorded for this time is not
    written twice (the calendar's move and the approval that keeps the post approved are one act)."""
    if not blackouts:
        return []
    already = _covered_ids(post=post, due_at=post.due_at, blackouts=blackouts, given_by=user)
    new = [blackout for blackout in blackouts if blackout.pk not in already]
    if not new:
        return []
    reason = normalize_text(reason).strip()
    overrides = BlackoutOverride.objects.bulk_create(
        BlackoutOverride(post=post, blackout=blackout, due_at=post.due_at, reason=reason, given_by=user)
        for blackout in new
    )
    before = previous_due_at or post.due_at
    audit_record(
        action=AuditAction.POST_BLACKOUT_OVERRIDE,
        actor=user,
        department_id=post.department_id,
        target=post,
        changes={
            "due_at": {"before": before.isoformat(), "after": post.due_at.isoformat()},
            "blackouts": [{"id": b.pk, "reason": b.reason, "scope": blackout_scope(b)} for b in new],
        },
        message=reason,
    )
    return overrides


# --- Reads for previews (series dates, CSV rows) and pages ------------------------------------------


def blackouts_between(*, start: dt.datetime, end: dt.datetime | None = None) -> list[BlackoutPeriod]:
    """Every blackout (any department) overlapping [start, end] (or ending after `start`), in one query, to
    test many times at once with blackouts_covering."""
    blackouts = BlackoutPeriod.objects.filter(ends_at__gt=start)
    if end is not None:
        blackouts = blackouts.filter(starts_at__lte=end)
    return list(blackouts.select_related("department").order_by("starts_at", "id"))


def blackouts_covering(
    blackouts: Iterable[BlackoutPeriod], *, department_id: int, when: dt.datetime
) -> list[BlackoutPeriod]:
    return [blackout for blackout in blackouts if blackout_applies(blackout, department_id=department_id, when=when)]


def post_blackouts(post: Post) -> list[BlackoutPeriod]:
    """The blackouts the post's time falls in (for its page)."""
    return blackouts_at(department_id=post.department_id, when=post.due_at)


# --- Holding approved posts caught in a blackout ----------------------------------------------------


def _in_force(*, now: dt.datetime) -> list[BlackoutPeriod]:
    return list(
        BlackoutPeriod.objects.filter(starts_at__lte=now, ends_at__gt=now)
        .select_related("department")
        .order_by("starts_at", "id")
    )


def blackouts_in_force(*, now: dt.datetime | None = None) -> bool:
    """Whether any blackout is on now (one small query: the dispatcher skips the blackout rules otherwise)."""
    now = now or timezone.now()
    return BlackoutPeriod.objects.filter(starts_at__lte=now, ends_at__gt=now).exists()


def emergency_post_ids(post_ids: Iterable[int]) -> set[int]:
    """Which of these posts are emergency posts (governance's EmergencyPost, read through `Post.emergency`
    so that scheduler imports nothing above it): they bypass blackouts and crisis holds."""
    return set(Post.objects.filter(pk__in=list(post_ids), emergency__isnull=False).values_list("pk", flat=True))


def posts_blocked_by_blackouts(
    posts: Iterable[Post], *, now: dt.datetime | None = None
) -> dict[int, list[BlackoutPeriod]]:
    """For the dispatcher: {post id: blackouts} for those of `posts` (approved, about to be sent) that a
    blackout in force now covers and no override covers at the post's time. Emergency posts are never
    blocked. One query when no blackout is on, three at most otherwise."""
    posts = list(posts)
    if not posts:
        return {}
    now = now or timezone.now()
    in_force = _in_force(now=now)
    if not in_force:
        return {}
    caught: dict[int, tuple[Post, list[BlackoutPeriod]]] = {}
    for post in posts:
        covering = blackouts_covering(in_force, department_id=post.department_id, when=now)
        if covering:
            caught[post.pk] = (post, covering)
    if not caught:
        return {}
    emergency = emergency_post_ids(caught)
    covered: dict[int, set[tuple[int, dt.datetime]]] = defaultdict(set)
    for post_id, blackout_id, due_at in BlackoutOverride.objects.filter(
        post_id__in=list(caught), blackout__in=in_force
    ).values_list("post_id", "blackout_id", "due_at"):
        covered[post_id].add((blackout_id, due_at))
    blocked = {}
    for post_id, (post, covering) in caught.items():
        if post_id in emergency:
            continue
        needing = [b for b in covering if (b.pk, post.due_at) not in covered[post_id]]
        if needing:
            blocked[post_id] = needing
    return blocked


def approved_posts_inside(blackout: BlackoutPeriod) -> list[Post]:
    """Approved, non-emergency posts whose time falls inside the blackout (its department's, or every
    department's for a city-wide one)."""
    posts = Post.objects.filter(
        status=PostStatus.APPROVED, due_at__gte=blackout.starts_at, due_at__lt=blackout.ends_at
    ).select_related("department")
    if blackout.department_id is not None:
        posts = posts.filter(department_id=blackout.department_id)
    found = list(posts.order_by("due_at", "id"))
    emergency = emergency_post_ids(p.pk for p in found)
    return [post for post in found if post.pk not in emergency]
