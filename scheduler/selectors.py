"""Reads with permission checks. Views never call `.objects.get()` themselves."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from departments.selectors import department_ids_for_user, department_ids_user_approves
from scheduler.models import Channel, Delivery, Post, PostStatus

# Posts every signed-in member of the city may see, whatever their department: the calendar is shared.
CITY_VISIBLE_STATUSES = (PostStatus.APPROVED, PostStatus.PUBLISHED)


def posts_visible_to(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Post]:
    """Own departments' posts in every state; other departments' only once approved.
    City-wide approvers (the communications team) see everything."""
    if not user.is_authenticated or not user.is_active:
        return Post.objects.none()
    approves = department_ids_user_approves(user=user)
    if approves is None:
        return Post.objects.all()
    own = department_ids_for_user(user=user)
    return Post.objects.filter(Q(department_id__in=own | approves) | Q(status__in=CITY_VISIBLE_STATUSES))


def _with_details(queryset: QuerySet[Post]) -> QuerySet[Post]:
    return queryset.select_related("department", "author", "current_approval__approved_by").prefetch_related(
        "channels",
        Prefetch(
            "deliveries", queryset=Delivery.objects.select_related("channel").order_by("channel__display_name", "id")
        ),
        "reviews__actor",
    )


def post_get_for_user(*, user: AbstractBaseUser | AnonymousUser, post_id: int) -> Post:
    """Returns a post the user may see, or raises Http404 (never reveals that it exists)."""
    post = _with_details(posts_visible_to(user=user)).filter(pk=post_id).first()
    if post is None:
        raise Http404("No such post.")
    return post


def post_get_for_editing(*, user: AbstractBaseUser | AnonymousUser, post_id: int) -> Post:
    """Returns a post of one of the user's own departments, or raises Http404."""
    post = (
        _with_details(Post.objects.filter(department_id__in=department_ids_for_user(user=user)))
        .filter(pk=post_id)
        .first()
    )
    if post is None:
        raise Http404("No such post.")
    return post


def post_get_for_review(*, user: AbstractBaseUser | AnonymousUser, post_id: int) -> Post:
    """Returns a post the user may approve, or raises Http404."""
    approves = department_ids_user_approves(user=user)
    queryset = Post.objects.all() if approves is None else Post.objects.filter(department_id__in=approves)
    post = _with_details(queryset).filter(pk=post_id).first()
    if post is None:
        raise Http404("No such post.")
    return post


def posts_awaiting_approval(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Post]:
    """Submitted posts the user may approve, without their own (nobody approves their own post)."""
    approves = department_ids_user_approves(user=user)
    if approves is not None and not approves:
        return Post.objects.none()
    queryset = Post.objects.filter(status=PostStatus.SUBMITTED).exclude(author=user)
    if approves is not None:
        queryset = queryset.filter(department_id__in=approves)
    return _with_details(queryset).order_by("due_at", "id")


def channels_for_department_ids(*, department_ids: set[int]) -> QuerySet[Channel]:
    return Channel.objects.filter(department_id__in=department_ids).select_related("department")


def channels_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Channel]:
    """Channels of the user's own departments (the ones they may post to)."""
    return channels_for_department_ids(department_ids=department_ids_for_user(user=user))
