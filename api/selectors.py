"""Reads of the API, composed only of the selectors the web pages use (scheduler.selectors,
departments.selectors, medialibrary.selectors): the same people see the same rows."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from api.models import ApiToken
from departments.models import Department
from departments.selectors import department_ids_for_user
from medialibrary.models import PostMedia
from scheduler.models import Channel, Delivery, Post
from scheduler.selectors import channels_for_user, posts_visible_to

User = AuthUser | AnonymousUser


def departments_for_api(*, user: User) -> QuerySet[Department]:
    """The caller's own departments."""
    return Department.objects.filter(pk__in=department_ids_for_user(user=user)).order_by("id")


def channels_for_api(*, user: User) -> QuerySet[Channel]:
    """Channels of the caller's departments (scheduler.selectors.channels_for_user)."""
    return channels_for_user(user=user).order_by("id")


def posts_for_api(*, user: User) -> QuerySet[Post]:
    """Posts the caller may see (scheduler.selectors.posts_visible_to), with what the API shows of each."""
    return (
        posts_visible_to(user=user)
        .select_related("department", "author")
        .prefetch_related(
            "channels",
            Prefetch("media_items", queryset=PostMedia.objects.select_related("asset").order_by("position", "id")),
            Prefetch("deliveries", queryset=Delivery.objects.select_related("channel").order_by("id")),
        )
    )


def post_get_for_api(*, user: User, post_id: int) -> Post:
    """Returns a post the caller may see, or raises Http404 (never reveals that it exists)."""
    post = posts_for_api(user=user).filter(pk=post_id).first()
    if post is None:
        raise Http404("No such post.")
    return post


def deliveries_for_api(*, user: User) -> QuerySet[Delivery]:
    """Deliveries of the posts the caller may see."""
    return Delivery.objects.filter(post__in=posts_visible_to(user=user).values("pk")).select_related("channel")


def posts_for_calendar_api(*, user: User, start: dt.datetime, end: dt.datetime) -> QuerySet[Post]:
    return posts_for_api(user=user).filter(due_at__gte=start, due_at__lt=end).order_by("due_at", "id")


def api_tokens_for_user(*, user: User) -> QuerySet[ApiToken]:
    if not user.is_authenticated:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user_id=user.pk)


def api_token_get_for_user(*, user: User, token_id: int) -> ApiToken:
    token = api_tokens_for_user(user=user).filter(pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    return token
