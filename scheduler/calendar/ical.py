"""The personal iCal feed: its secret addresses (stored as hashes) and the iCalendar it serves."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.contrib.auth.models import User
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from scheduler.adapters.registry import platform_label
from scheduler.blackouts import blackout_scope, blackouts_overlapping
from scheduler.calendar.posts import CalendarPost, calendar_posts, channels_by_id
from scheduler.calendar.statuses import STATUS_LABELS, calendar_status
from scheduler.models import (
    BlackoutPeriod,
    CalendarFeedToken,
    PostStatus,
)

FEED_PAST_DAYS = 30


FEED_FUTURE_DAYS = 400


def feed_token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def feed_user_for_secret(*, secret: str) -> User:
    """Returns the active user of a live feed token, or raises Http404 (revoked, unknown, inactive)."""
    token = (
        CalendarFeedToken.objects.filter(token_hash=feed_token_hash(secret), revoked_at__isnull=True)
        .select_related("user")
        .first()
    )
    if token is None or not token.user.is_active:
        raise Http404("No such calendar feed.")
    return token.user


def feed_token_active(*, user: User) -> CalendarFeedToken | None:
    return CalendarFeedToken.objects.filter(user=user, revoked_at__isnull=True).first()


def feed_posts(*, user: User, now: dt.datetime | None = None) -> list[CalendarPost]:
    """The posts of a person's iCal feed: what they may see, from a month ago to a year ahead."""
    now = now or timezone.now()
    return calendar_posts(
        user=user,
        start=now - dt.timedelta(days=FEED_PAST_DAYS),
        end=now + dt.timedelta(days=FEED_FUTURE_DAYS),
        with_cancelled=False,
        channels=channels_by_id(),
    )


def feed_blackouts(*, now: dt.datetime | None = None) -> list[BlackoutPeriod]:
    now = now or timezone.now()
    return blackouts_overlapping(
        start=now - dt.timedelta(days=FEED_PAST_DAYS), end=now + dt.timedelta(days=FEED_FUTURE_DAYS)
    )


FEED_EVENT_MINUTES = 15


ICAL_STATUS: dict[str, str] = {
    PostStatus.DRAFT: "TENTATIVE",
    PostStatus.SUBMITTED: "TENTATIVE",
    PostStatus.CHANGES_REQUESTED: "TENTATIVE",
    PostStatus.APPROVED: "CONFIRMED",
    PostStatus.PUBLISHED: "CONFIRMED",
}


def ical_feed(*, user: User, now: dt.datetime | None = None) -> bytes:
    """Returns the person's calendar as iCalendar (RFC 5545) bytes: their visible posts, from a month ago
    to a year ahead, and the blackouts. Times are UTC instants; calendar apps show them in their zone."""
    now = now or timezone.now()
    calendar = Calendar()
    calendar.add("prodid", "-//CivicPost//Shared calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", _("CivicPost posts"))
    calendar.add("x-published-ttl", "PT15M")
    site = settings.SITE_URL.rstrip("/")
    host = site.split("://", 1)[-1].split("/", 1)[0] or "civicpost"
    for post in feed_posts(user=user, now=now):
        status = calendar_status(post)
        label = str(STATUS_LABELS.get(status, status))
        channels = ", ".join(f"{c.display_name} ({platform_label(c.platform)})" for c in post.calendar_channels)
        url = f"{site}{reverse('scheduler:post_detail', args=[post.pk])}"
        event = Event()
        event.add("uid", f"post-{post.pk}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", post.due_at.astimezone(dt.UTC))
        event.add("dtend", post.due_at.astimezone(dt.UTC) + dt.timedelta(minutes=FEED_EVENT_MINUTES))
        event.add("summary", f"[{post.department.name}] {label}: {post.text[:80]}")
        event.add(
            "description",
            "\n".join(
                [
                    post.text,
                    "",
                    _("Status: %(status)s") % {"status": label},
                    _("Department: %(department)s") % {"department": post.department.name},
                    _("Channels: %(channels)s") % {"channels": channels or _("none chosen yet")},
                    *([_("Link: %(link)s") % {"link": post.link}] if post.link else []),
                    url,
                ]
            ),
        )
        event.add("url", url)
        event.add("categories", [post.department.name])
        event.add("status", ICAL_STATUS.get(post.status, "CONFIRMED"))
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    for blackout in feed_blackouts(now=now):
        event = Event()
        event.add("uid", f"blackout-{blackout.pk}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", blackout.starts_at.astimezone(dt.UTC))
        event.add("dtend", blackout.ends_at.astimezone(dt.UTC))
        event.add(
            "summary",
            _("Blackout: %(reason)s (%(scope)s)") % {"reason": blackout.reason, "scope": blackout_scope(blackout)},
        )
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()
