"""Reads with permission checks. Views never call `.objects.get()` themselves."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from departments.selectors import department_ids_for_user, department_ids_user_approves, user_is_viewer
from scheduler.models import Channel, Delivery, Post, PostStatus

# Posts every signed-in member of the city may see, whatever their department: the calendar is shared.
CITY_VISIBLE_STATUSES = (PostStatus.APPROVED, PostStatus.PUBLISHED)


def _with_emergency_flag(queryset: QuerySet[Post]) -> QuerySet[Post]:
    """Adds `is_emergency` to each post (governance.models.EmergencyPost), for the "emergency" badges."""
    from governance.models import EmergencyPost

    return queryset.annotate(is_emergency=Exists(EmergencyPost.objects.filter(post_id=OuterRef("pk"))))


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


def posts_awaiting_approval(*, user: User) -> QuerySet[Post]:
    """Submitted posts waiting at a step of their department's approval policy that the user may approve
    now, without their own (nobody approves their own post) or those they already approved."""
    from governance.approvals import posts_user_can_approve_now

    approves = department_ids_user_approves(user=user)
    if approves is not None and not approves:
        return Post.objects.none()
    queryset = Post.objects.filter(status=PostStatus.SUBMITTED).exclude(author=user)
    if approves is not None:
        queryset = queryset.filter(department_id__in=approves)
    waiting = [post.pk for post in posts_user_can_approve_now(user=user, posts=queryset)]
    return _with_details(Post.objects.filter(pk__in=waiting)).order_by("due_at", "id")


def channels_for_department_ids(*, department_ids: set[int]) -> QuerySet[Channel]:
    return Channel.objects.filter(department_id__in=department_ids).select_related("department")


def channels_for_user(*, user: User | AnonymousUser) -> QuerySet[Channel]:
    """Channels of the user's own departments (the ones they may post to)."""
    return channels_for_department_ids(department_ids=department_ids_for_user(user=user))
