"""Public pages of the city website feed: no sign-in needed, only published entries."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition, require_safe

from civicpost.text import normalize_text
from feeds.feeds import AtomFeed, PublishedPostsFeed, RssFeed, entry_media, entry_title
from feeds.selectors import (
    departments_with_feeds,
    feed_deliveries,
    feed_delivery_get_public,
    feed_department_get,
    feed_entry_was_removed,
    feed_version,
)
from scheduler.snapshots import channel_content

PAGE_SIZE = 20


def _conditional_feed(feed: PublishedPostsFeed) -> Callable[..., HttpResponse]:
    """Wraps a feed in ETag / Last-Modified handling, so a reader polling an unchanged feed gets a 304."""

    def version(request: HttpRequest, department_slug: str | None = None):  # noqa: ANN202
        # Both condition functions ask; compute once per request.
        cached = getattr(request, "_civicpost_feed_version", None)
        if cached is None:
            department = feed_department_get(slug=department_slug) if department_slug else None
            cached = feed_version(department=department, variant=feed.variant)
            request._civicpost_feed_version = cached  # type: ignore[attr-defined]
        return cached

    def etag(request: HttpRequest, department_slug: str | None = None) -> str:
        return version(request, department_slug).etag

    def last_modified(request: HttpRequest, department_slug: str | None = None) -> dt.datetime | None:
        return version(request, department_slug).last_modified

    @require_safe
    @cache_control(public=True, max_age=300)
    @condition(etag_func=etag, last_modified_func=last_modified)
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return feed(request, *args, **kwargs)

    return view


city_rss = _conditional_feed(RssFeed())
city_atom = _conditional_feed(AtomFeed())
department_rss = _conditional_feed(RssFeed())
department_atom = _conditional_feed(AtomFeed())


def _title(delivery: Any) -> str:
    content = channel_content(delivery.approval.content, delivery.channel, delivery.language)
    return entry_title(normalize_text(content.text))


def _entries(department=None) -> list[dict[str, Any]]:  # noqa: ANN001
    return [{"delivery": d, "title": _title(d)} for d in feed_deliveries(department=department, limit=PAGE_SIZE)]


@require_safe
def feeds_index(request: HttpRequest) -> HttpResponse:
    """Lists the city feed and each department's feed, with their addresses for feed readers."""
    return render(request, "feeds/feeds_index.html", {"departments": departments_with_feeds()})


@require_safe
def city_page(request: HttpRequest) -> HttpResponse:
    return render(request, "feeds/entry_list.html", {"department": None, "entries": _entries()})


@require_safe
def department_page(request: HttpRequest, department_slug: str) -> HttpResponse:
    department = feed_department_get(slug=department_slug)
    return render(request, "feeds/entry_list.html", {"department": department, "entries": _entries(department)})


@require_safe
def post_public(request: HttpRequest, key: uuid.UUID) -> HttpResponse:
    """The public page of one published post. A post taken down answers 410 Gone."""
    if feed_entry_was_removed(key=key):
        return render(request, "feeds/post_removed.html", status=410)
    delivery = feed_delivery_get_public(key=key)
    content = channel_content(delivery.approval.content, delivery.channel, delivery.language)
    # Text approved before input was normalised may hold control characters (feeds/feeds.py).
    content = dataclasses.replace(content, text=normalize_text(content.text))
    return render(
        request,
        "feeds/post_public.html",
        {
            "delivery": delivery,
            "department": delivery.post.department,
            "content": content,
            "title": entry_title(content.text),
            "media": entry_media(delivery),
        },
    )
