"""Reads for the composer's pages, scoped to the person's departments (404 outside them)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.http import Http404

from composer.models import CsvImport, PostTemplate, RecurringSeries
from departments.selectors import department_ids_for_user, department_ids_user_approves
from scheduler.models import Post, PostStatus


def templates_for_user(*, user: User | AnonymousUser) -> QuerySet[PostTemplate]:
    return PostTemplate.objects.filter(department_id__in=department_ids_for_user(user=user)).select_related(
        "department"
    )


def template_get_for_user(*, user: User | AnonymousUser, template_id: int) -> PostTemplate:
    template = templates_for_user(user=user).filter(pk=template_id).first()
    if template is None:
        raise Http404("No such template.")
    return template


def series_get_for_user(*, user: User | AnonymousUser, series_id: int) -> RecurringSeries:
    """Returns a series of the person's departments, or one they approve for; otherwise raises Http404."""
    members = department_ids_for_user(user=user)
    approves = department_ids_user_approves(user=user)
    queryset = RecurringSeries.objects.select_related("department", "created_by")
    if approves is not None:
        queryset = queryset.filter(department_id__in=members | approves)
    series = queryset.filter(pk=series_id).first()
    if series is None or not user.is_authenticated:
        raise Http404("No such series.")
    return series


def series_for_user(*, user: User | AnonymousUser) -> QuerySet[RecurringSeries]:
    return RecurringSeries.objects.filter(department_id__in=department_ids_for_user(user=user)).select_related(
        "department"
    )


def import_get_for_user(*, user: User | AnonymousUser, import_id: int) -> CsvImport:
    upload = CsvImport.objects.filter(pk=import_id, uploaded_by_id=getattr(user, "pk", None)).first()
    if upload is None:
        raise Http404("No such import.")
    return upload


# A hashtag as the composer's hints read one (composer.hints.HASHTAG): "#" and two or more letters, digits or
# "_", not right after a word character, "#", "&" or "/" (a URL's fragment, an HTML entity).
_HASHTAG_SQL = r"(?<![[:alnum:]_#&/])#([[:alnum:]_]{2,100})"
_HASHTAG_PY = re.compile(r"(?<![\w#&/])#(\w{2,100})")
SUGGESTION_STATUSES = (PostStatus.SUBMITTED, PostStatus.APPROVED, PostStatus.PUBLISHED)
SUGGESTION_POSTS = 1000
# How many of a department's hashtags are kept (in the cache) to choose suggestions from, and for how long.
HASHTAG_POOL = 50
HASHTAG_CACHE_SECONDS = 10 * 60


def hashtag_suggestions(
    *, user: User | AnonymousUser, department_id: int | None, exclude: Iterable[str] = (), limit: int = 8
) -> list[str]:
    """Returns the hashtags (with "#", in the spelling used most) of the department's own recent posts,
    most used first, without those in `exclude` (compared case-insensitively).

    Only the person's own departments: for any other department (or none) it returns []. The department's
    counts are kept in Django's cache for HASHTAG_CACHE_SECONDS (the live check asks on every pause in typing)."""
    if department_id is None or department_id not in department_ids_for_user(user=user):
        return []
    key = f"composer:hashtags:{department_id}"
    ranked: list[str] | None = cache.get(key)
    if ranked is None:
        ranked = department_hashtags(department_id=department_id, limit=HASHTAG_POOL)
        cache.set(key, ranked, HASHTAG_CACHE_SECONDS)
    skip = {tag.lstrip("#").lower() for tag in exclude}
    return [tag for tag in ranked if tag[1:].lower() not in skip][:limit]


def department_hashtags(*, department_id: int, limit: int) -> list[str]:
    """Returns up to `limit` hashtags of the department's last SUGGESTION_POSTS posts that were submitted,
    approved or published, most used first (ties alphabetically), each in the spelling used most. On
    PostgreSQL the counting is one SQL aggregate; SQLite (make run without DATABASE_URL) counts the same rows
    in Python."""
    recent = (
        Post.objects.filter(department_id=department_id, status__in=SUGGESTION_STATUSES)
        .order_by("-due_at")
        .values("pk")[:SUGGESTION_POSTS]
    )
    if connection.vendor == "postgresql":
        recent_sql, recent_params = recent.query.sql_with_params()
        with connection.cursor() as cursor:
            # The only text put in is the model's table name and the ORM's own SQL (its values stay parameters).
            table = Post._meta.db_table
            query = (
                "SELECT mode() WITHIN GROUP (ORDER BY found.m[1]) AS spelling, count(*) AS uses"  # noqa: S608  # nosec B608
                f" FROM {table} AS post"
                " CROSS JOIN LATERAL regexp_matches(post.text, %s, 'g') AS found(m)"
                f" WHERE post.id IN ({recent_sql})"
                " GROUP BY lower(found.m[1]) ORDER BY uses DESC, lower(found.m[1]) LIMIT %s"
            )
            cursor.execute(query, [_HASHTAG_SQL, *recent_params, limit])
            rows = [(str(spelling), int(uses)) for spelling, uses in cursor.fetchall()]
    else:
        spellings: dict[str, Counter[str]] = {}
        for text in Post.objects.filter(pk__in=recent).values_list("text", flat=True):
            for tag in _HASHTAG_PY.findall(text):
                spellings.setdefault(tag.lower(), Counter())[tag] += 1
        ranked = sorted(spellings.items(), key=lambda item: (-sum(item[1].values()), item[0]))
        rows = [(counter.most_common(1)[0][0], sum(counter.values())) for _key, counter in ranked[:limit]]
    return [f"#{spelling}" for spelling, _uses in rows]
