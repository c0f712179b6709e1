"""Reads with permission checks. Views never call `.objects.get()` themselves."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    BooleanField,
    CharField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from civicpost.languages import language_name
from civicpost.timelabels import ZoneLike, format_in_zone
from departments.models import ApprovalStep, Department, Role
from departments.selectors import (
    department_ids_for_user,
    department_ids_user_approves,
    memberships_for_user,
    user_is_communications_manager,
    user_is_viewer,
)
from scheduler.approvals import posts_user_can_approve_now
from scheduler.models import (
    CITY_VISIBLE_STATUSES,
    CLAIMABLE_DELIVERY_STATUSES,
    ApprovalVote,
    Channel,
    CrisisHold,
    Delivery,
    Post,
    PostHold,
    PostReview,
    PostStatus,
    PostVersion,
)


def _with_emergency_flag(queryset: QuerySet[Post]) -> QuerySet[Post]:
    """Adds `is_emergency` to each post, for the "emergency" badges. The marker is governance's
    EmergencyPost, read through its relation (`Post.emergency`) so that scheduler imports nothing above it.
    The emergency posts are one subquery that does not depend on the post: the database reads them once per
    statement (a hashed list), not once per post."""
    emergency_post_ids = Post.objects.filter(emergency__isnull=False).values("pk")
    return queryset.annotate(is_emergency=ExpressionWrapper(Q(pk__in=emergency_post_ids), output_field=BooleanField()))


def post_department_ids_seen_in_every_state(*, user: User | AnonymousUser) -> set[int] | None:
    """The departments whose posts the user sees in every state, drafts included (their own departments and
    those they approve for); None means every department (communications managers)."""
    if not user.is_authenticated or not user.is_active:
        return set()
    approves = department_ids_user_approves(user=user)
    if approves is None:
        return None
    return department_ids_for_user(user=user) | approves


def posts_visible_to(*, user: User | AnonymousUser) -> QuerySet[Post]:
    """Own departments' posts in every state; other departments' only once approved.
    Communications managers (city role or communications team) see everything; viewers (city role) see
    every department's posts except drafts. Each post carries `is_emergency`."""
    if not user.is_authenticated or not user.is_active:
        return Post.objects.none()
    every_state = post_department_ids_seen_in_every_state(user=user)
    if every_state is None:
        return _with_emergency_flag(Post.objects.all())
    visible = Q(department_id__in=every_state) | Q(status__in=CITY_VISIBLE_STATUSES)
    if user_is_viewer(user=user):
        visible |= ~Q(status=PostStatus.DRAFT)
    return _with_emergency_flag(Post.objects.filter(visible))


def _with_details(queryset: QuerySet[Post]) -> QuerySet[Post]:
    return queryset.select_related("department", "author", "current_approval__approved_by").prefetch_related(
        "channels",
        Prefetch(
            "deliveries", queryset=Delivery.objects.select_related("channel").order_by("channel__display_name", "id")
        ),
        "reviews__actor",
    )


def post_get_for_user(*, user: User | AnonymousUser, post_id: int) -> Post:
    """Returns a post the user may see, or raises Http404 (never reveals that it exists)."""
    post = _with_details(posts_visible_to(user=user)).filter(pk=post_id).first()
    if post is None:
        raise Http404("No such post.")
    return post


def post_get_for_editing(*, user: User | AnonymousUser, post_id: int) -> Post:
    """Returns a post of one of the user's own departments, or raises Http404."""
    post = (
        _with_details(Post.objects.filter(department_id__in=department_ids_for_user(user=user)))
        .filter(pk=post_id)
        .first()
    )
    if post is None:
        raise Http404("No such post.")
    return post


def post_get_for_review(*, user: User | AnonymousUser, post_id: int) -> Post:
    """Returns a post the user may approve, or raises Http404."""
    approves = department_ids_user_approves(user=user)
    queryset = Post.objects.all() if approves is None else Post.objects.filter(department_id__in=approves)
    post = _with_details(queryset).filter(pk=post_id).first()
    if post is None:
        raise Http404("No such post.")
    return post


def _round_key_expression() -> Concat:
    """The round of review (scheduler.approvals.post_round_keys: "<latest review id>.<latest version number>")
    of the post of each ApprovalVote row, as an SQL expression, so that "voted in this round" is a subquery
    on the votes alone: it is worked out once per vote, never for the posts nobody voted on."""
    latest_review = PostReview.objects.filter(post_id=OuterRef("post_id")).order_by("-id").values("id")[:1]
    latest_version = PostVersion.objects.filter(post_id=OuterRef("post_id")).order_by("-number").values("number")[:1]
    return Concat(
        Cast(Coalesce(Subquery(latest_review), Value(0)), CharField()),
        Value("."),
        Cast(Coalesce(Subquery(latest_version), Value(0)), CharField()),
        output_field=CharField(),
    )


def _first_step_open_to(user: User) -> Q:
    """A Q on Post rows: `user` is among those the first step of the post's department policy names
    (scheduler.approvals: a department without steps has the default step, its approvers and admins or any
    communications manager). With no vote in the round yet, the first step is the current one and these
    people, minus the author, are exactly who may approve it. Both department lists are subqueries that do
    not depend on the post, so the database works them out once per statement."""
    if not user.is_active:
        return Q(pk__in=[])
    memberships = memberships_for_user(user=user)
    approver_of = {m.department_id for m in memberships if m.can_approve}
    admin_of = {m.department_id for m in memberships if m.role == Role.ADMIN}
    manager = user_is_communications_manager(user=user)
    names_user = (
        Q(Exists(ApprovalStep.users.through.objects.filter(approvalstep_id=OuterRef("pk"), user_id=user.pk)))
        | Q(department_approvers=True, department_id__in=approver_of)
        | Q(department_admins=True, department_id__in=admin_of)
    )
    if manager:
        names_user |= Q(communications_managers=True)
    earlier_step = ApprovalStep.objects.filter(department_id=OuterRef("department_id")).filter(
        Q(position__lt=OuterRef("position")) | Q(position=OuterRef("position"), pk__lt=OuterRef("pk"))
    )
    first_step_names_user = ApprovalStep.objects.filter(names_user).exclude(Exists(earlier_step))
    with_policy = ApprovalStep.objects.values("department_id")
    default_step = Q(department_id__in=approver_of) if not manager else Q(pk__isnull=False)
    return Q(department_id__in=first_step_names_user.values("department_id")) | (
        ~Q(department_id__in=with_policy) & default_step
    )


def _awaiting_approval_parts(user: User) -> tuple[QuerySet[Post], list[int]] | None:
    """The user's approval queue in two disjoint parts (None when the user approves for no department): the
    submitted posts at their first step (no vote in this round) that the user may approve, as a queryset,
    and the ids of the posts part-way through their approval that the user may approve now. Part-way posts
    are few: they are read and evaluated by scheduler.approvals, which also checks each vote's content
    fingerprint. Nobody approves their own post."""
    approves = department_ids_user_approves(user=user)
    if approves is not None and not approves:
        return None
    queryset = Post.objects.filter(status=PostStatus.SUBMITTED).exclude(author=user)
    if approves is not None:
        queryset = queryset.filter(department_id__in=approves)
    votes_this_round = ApprovalVote.objects.alias(post_round_key=_round_key_expression()).filter(
        round_key=F("post_round_key")
    )
    queryset = queryset.alias(voted_this_round=Exists(votes_this_round.filter(post_id=OuterRef("pk"))))
    part_way = queryset.filter(voted_this_round=True)
    waiting_part_way = [post.pk for post in posts_user_can_approve_now(user=user, posts=part_way)]
    at_first_step = queryset.filter(voted_this_round=False).filter(_first_step_open_to(user))
    return at_first_step, waiting_part_way


def posts_awaiting_approval(*, user: User) -> QuerySet[Post]:
    """Submitted posts waiting at a step of their department's approval policy that the user may approve
    now, without their own (nobody approves their own post) or those they already approved.

    Decided in SQL, whatever the number of posts: a post with no vote in its current round waits at its first
    step, decided by one condition on the policy rows (`_first_step_open_to`); only posts part-way through
    their approval are read and evaluated in Python."""
    parts = _awaiting_approval_parts(user)
    if parts is None:
        return Post.objects.none()
    at_first_step, waiting_part_way = parts
    return _with_details(
        Post.objects.filter(Q(pk__in=at_first_step.values("pk")) | Q(pk__in=waiting_part_way))
    ).order_by("due_at", "id")


def approval_queue_count(*, user: User) -> int:
    """The number of posts in `posts_awaiting_approval` (the header's badge): its two parts are disjoint, so
    the posts at their first step are counted where they are found, without joining them back to the posts."""
    parts = _awaiting_approval_parts(user)
    if parts is None:
        return 0
    at_first_step, waiting_part_way = parts
    return at_first_step.order_by().count() + len(waiting_part_way)


def channels_for_department_ids(*, department_ids: set[int]) -> QuerySet[Channel]:
    return Channel.objects.filter(department_id__in=department_ids).select_related("department")


def channels_for_user(*, user: User | AnonymousUser) -> QuerySet[Channel]:
    """Channels of the user's own departments (the ones they may post to)."""
    return channels_for_department_ids(department_ids=department_ids_for_user(user=user))


# --- Holds: what crisis holds and per-post holds keep from going out (the dispatcher, pages, health) ---


def active_crisis_holds() -> list[CrisisHold]:
    return list(
        CrisisHold.objects.filter(ended_at__isnull=True)
        .select_related("started_by")
        .prefetch_related("departments")
        .order_by("started_at", "id")
    )


def _not_emergency() -> Exists:
    """Deliveries of posts that are not emergency posts (governance's EmergencyPost, read through
    `Post.emergency` so that scheduler imports nothing above it)."""
    # Exists.__invert__ returns a negated Exists; django-stubs says NegatedExpression.
    return ~Exists(Post.objects.filter(pk=OuterRef("post_id"), emergency__isnull=False))  # type: ignore[return-value]


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


def held_deliveries_now() -> Q:
    """A Q matching the deliveries held right now, read entirely by the statement that uses it (no hold is
    loaded first): a post with an open PostHold, or, while a crisis hold is on, a non-emergency post in its
    scope (city-wide, or one of its departments). Each statement that uses it sees the holds committed when it
    starts, which is what the dispatcher needs once it has locked its rows (scheduler.publishing)."""
    open_crisis = CrisisHold.objects.filter(ended_at__isnull=True)
    in_crisis_scope = Exists(open_crisis.filter(city_wide=True)) | Exists(
        CrisisHold.departments.through.objects.filter(
            crisishold__ended_at__isnull=True, department_id=OuterRef("post__department_id")
        )
    )
    return Q(Exists(PostHold.objects.filter(post_id=OuterRef("post_id"), released_at__isnull=True))) | (
        Q(in_crisis_scope) & Q(_not_emergency())
    )


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
    emergency = set(Post.objects.filter(pk__in=ids, emergency__isnull=False).values_list("pk", flat=True))
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


# --- Languages still in use (departments.services.language_use_checks; registered in scheduler.apps) ----


def language_use_refusal(department: Department, code: str) -> str:
    """Returns why `department` cannot stop writing in language `code` ("" when it can): a post that has not
    gone out yet is written in it or has a version in it (it could no longer be submitted), or a channel is
    set to it (it would get nothing). A published or cancelled post keeps the language it had."""
    name = language_name(code)
    pending = (
        Post.objects.filter(department=department)
        .exclude(status__in=(PostStatus.PUBLISHED, PostStatus.CANCELLED))
        .filter(Q(language=code) | Q(languages__has_key=code))
        .count()
    )
    if pending:
        return ngettext(
            "%(count)d post that has not gone out yet is written in %(language)s or has a %(language)s "
            "version. Remove %(language)s from it, or wait until it is published, then remove it here.",
            "%(count)d posts that have not gone out yet are written in %(language)s or have a %(language)s "
            "version. Remove %(language)s from them, or wait until they are published, then remove it "
            "here.",
            pending,
        ) % {"count": pending, "language": name}
    channels = list(
        Channel.objects.filter(department=department, options__language=code).values_list("display_name", flat=True)
    )
    if channels:
        return _("These channels are set to %(language)s: %(channels)s. Set them to another language first.") % {
            "language": name,
            "channels": ", ".join(sorted(channels)),
        }
    return ""


def posts_for_review(*, user: User | AnonymousUser, post_ids: Iterable[int]) -> dict[int, Post]:
    """Returns {id: post} for those of `post_ids` in a department the user approves for (the queue's
    decisions; each is then checked again, post by post, by the approval services). Ids missing from the
    answer do not exist or are out of the user's reach: the caller refuses them without saying which."""
    ids = list(post_ids)
    if not user.is_authenticated or not ids:
        return {}
    approves = department_ids_user_approves(user=user)
    queryset = Post.objects.all() if approves is None else Post.objects.filter(department_id__in=approves)
    return {post.pk: post for post in queryset.filter(pk__in=ids).select_related("department")}
