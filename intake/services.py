"""Writes of the intake app: feed subscriptions (create, change, delete), fetching a feed (SSRF-guarded,
with timeouts and a size cap) and turning its items into drafts through scheduler.services (post_create,
post_update): a draft never goes out without the department's normal approval.

An item is taken once (FeedItem, unique per feed and stable id). When the feed changes an item, its drafts
follow while they are still drafts; once submitted they are left alone and the item says so. A feed that
cannot be fetched or read keeps its error on the subscription (intake.selectors.feed_findings shows it on
the channels page) and is tried again on the next round."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from civicpost.exceptions import ApplicationError
from civicpost.text import normalize_text
from civicpost.timelabels import clock_label, date_label, format_in_zone, zone_of
from departments.models import Department
from departments.rules import can_administer_department
from intake.models import FeedItem, FeedKind, FeedSubscription
from intake.parsing import FeedEntry, FeedParseError, parse_ical, parse_news
from scheduler import services as post_services
from scheduler.adapters.ssrf import ResponseTooLarge, UnsafeURL, check_public_url, guarded_session
from scheduler.models import Channel, PostStatus

logger = logging.getLogger(__name__)

MAX_FEED_BYTES = 2 * 1024 * 1024
TIMEOUT_SECONDS = (5.0, 20.0)
FETCH_EVERY = dt.timedelta(minutes=15)
# A draft from the feed is due this long after it is taken (the editors choose the real time).
DRAFT_DUE_AFTER = dt.timedelta(hours=1)
# Nothing is taken for an event further ahead than this, nor for one that has started.
EVENT_HORIZON = dt.timedelta(days=120)
PLACEHOLDERS = ("title", "summary", "link", "start", "location")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


# --- Subscriptions ----------------------------------------------------------------------------------


def check_template(template: str) -> str:
    """Returns the template if it names only known placeholders and is not empty; raises ApplicationError."""
    template = normalize_text(template).strip()
    unknown = sorted({name for name in PLACEHOLDER.findall(template) if name not in PLACEHOLDERS})
    if unknown:
        raise ApplicationError(
            _("Unknown placeholders: %(unknown)s. Use %(known)s.")
            % {"unknown": ", ".join(f"{{{u}}}" for u in unknown), "known": ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)}
        )
    if not template:
        raise ApplicationError(_("Write the template of the post, such as “{title} {link}”."))
    return template


def _clean(
    *, department: Department, name: str, url: str, channels: Iterable[Channel], template: str, reminder_template: str
) -> tuple[str, str, list[Channel], str, str]:
    name = normalize_text(name).strip()
    if not name:
        raise ApplicationError(_("Give the feed a name, such as “Website events”."))
    try:
        check_public_url(url.strip())
    except UnsafeURL as error:
        raise ApplicationError(_("CivicPost will not fetch this address: %(why)s") % {"why": error.message}) from error
    channels = list(channels)
    if not channels or any(channel.department_id != department.pk for channel in channels):
        raise ApplicationError(_("Choose at least one of the department's channels."))
    reminder_template = check_template(reminder_template) if reminder_template.strip() else ""
    return name, url.strip(), channels, check_template(template), reminder_template


def _require_admin(user: User, department_id: int) -> None:
    if not can_administer_department(user, department_id):
        raise ApplicationError(_("Only the department's admins manage its feeds."))


@transaction.atomic
def feed_subscription_create(
    *,
    user: User,
    department: Department,
    name: str,
    kind: str,
    url: str,
    channels: Iterable[Channel],
    template: str,
    reminder_lead_minutes: int = 0,
    reminder_template: str = "",
) -> FeedSubscription:
    """Subscribes `department` to a feed; its drafts are written as `user`. Raises ApplicationError when
    `user` is not its admin, the URL fails the SSRF guard, a channel is another department's or a template
    names an unknown placeholder."""
    _require_admin(user, department.pk)
    if kind not in FeedKind.values:
        raise ApplicationError(_("Choose the kind of feed."))
    name, url, channels, template, reminder_template = _clean(
        department=department,
        name=name,
        url=url,
        channels=channels,
        template=template,
        reminder_template=reminder_template,
    )
    subscription = FeedSubscription.objects.create(
        department=department,
        name=name,
        kind=kind,
        url=url,
        template=template,
        reminder_lead_minutes=max(0, reminder_lead_minutes),
        reminder_template=reminder_template,
        author=user,
    )
    subscription.channels.set(channels)
    audit_record(
        action=AuditAction.DEPARTMENT_SETTINGS_CHANGED,
        actor=user,
        department_id=department.pk,
        target=subscription,
        changes={"feed": subscription.pk, "url": url, "kind": kind},
        message=_("Feed “%(name)s” added: its items become drafts.") % {"name": name},
    )
    return subscription


@transaction.atomic
def feed_subscription_update(
    *,
    user: User,
    subscription: FeedSubscription,
    name: str,
    url: str,
    channels: Iterable[Channel],
    template: str,
    reminder_lead_minutes: int,
    reminder_template: str,
    is_active: bool,
) -> FeedSubscription:
    _require_admin(user, subscription.department_id)
    name, url, channels, template, reminder_template = _clean(
        department=subscription.department,
        name=name,
        url=url,
        channels=channels,
        template=template,
        reminder_template=reminder_template,
    )
    if url != subscription.url:
        subscription.etag = subscription.last_modified = ""
    subscription.name, subscription.url, subscription.template = name, url, template
    subscription.reminder_lead_minutes = max(0, reminder_lead_minutes)
    subscription.reminder_template = reminder_template
    subscription.is_active = is_active
    subscription.save()
    subscription.channels.set(channels)
    audit_record(
        action=AuditAction.DEPARTMENT_SETTINGS_CHANGED,
        actor=user,
        department_id=subscription.department_id,
        target=subscription,
        changes={"feed": subscription.pk, "url": url, "active": is_active},
        message=_("Feed “%(name)s” changed.") % {"name": name},
    )
    return subscription


@transaction.atomic
def feed_subscription_delete(*, user: User, subscription: FeedSubscription) -> None:
    """Stops taking items from the feed. The drafts already written stay."""
    _require_admin(user, subscription.department_id)
    audit_record(
        action=AuditAction.DEPARTMENT_SETTINGS_CHANGED,
        actor=user,
        department_id=subscription.department_id,
        changes={"feed": subscription.pk, "url": subscription.url, "deleted": True},
        message=_("Feed “%(name)s” removed.") % {"name": subscription.name},
    )
    subscription.delete()


# --- Fetching ---------------------------------------------------------------------------------------


@dataclass
class FetchReport:
    created: list[int] = field(default_factory=list)  # posts
    updated: list[int] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0  # past events, events too far ahead
    error: str = ""


def _download(subscription: FeedSubscription) -> bytes | None:
    """Returns the feed's bytes, or None when the server says it has not changed (304). Raises
    FeedParseError with a plain message for every way the fetch can fail."""
    headers = {"Accept": "text/calendar, application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"}
    if subscription.etag:
        headers["If-None-Match"] = subscription.etag
    if subscription.last_modified:
        headers["If-Modified-Since"] = subscription.last_modified
    session = guarded_session(TIMEOUT_SECONDS, max_bytes=MAX_FEED_BYTES)
    try:
        response = session.get(subscription.url, headers=headers)
        content = response.content
    except UnsafeURL as error:
        raise FeedParseError(_("CivicPost will not fetch this address: %(why)s") % {"why": error.message}) from None
    except ResponseTooLarge:
        raise FeedParseError(
            _("The feed is larger than %(mb)d MB; CivicPost stopped reading it.") % {"mb": MAX_FEED_BYTES // 2**20}
        ) from None
    except requests.Timeout:
        raise FeedParseError(_("The feed's server did not answer in time.")) from None
    except requests.RequestException as error:
        raise FeedParseError(
            _("The feed's server could not be reached (%(why)s).") % {"why": type(error).__name__}
        ) from None
    finally:
        session.close()
    if response.status_code == 304:
        return None
    if response.status_code != 200:
        raise FeedParseError(_("The feed's server answered HTTP %(code)s.") % {"code": response.status_code})
    subscription.etag = response.headers.get("ETag", "")[:255]
    subscription.last_modified = response.headers.get("Last-Modified", "")[:64]
    return content


def feed_fetch(*, subscription_id: int, now: dt.datetime | None = None) -> FetchReport | None:
    """Fetches one feed and turns its new and changed items into drafts. Returns what it did (an `error`
    when the feed could not be read: stored on the subscription, nothing else changes), None when the
    feed is gone or switched off."""
    subscription = (
        FeedSubscription.objects.select_related("department", "author")
        .filter(pk=subscription_id, is_active=True)
        .first()
    )
    if subscription is None:
        return None
    now = now or timezone.now()
    report = FetchReport()
    try:
        content = _download(subscription)
        if content is None:
            entries: list[FeedEntry] | None = None
        elif subscription.kind == FeedKind.ICAL:
            entries = parse_ical(content, zone=zone_of(subscription.department))
        else:
            entries = parse_news(content)
        if entries is not None:
            _take(subscription, entries, now=now, report=report)
    except (FeedParseError, ApplicationError) as error:
        report.error = error.message if isinstance(error, ApplicationError) else str(error)
    _record_fetch(subscription, now=now, error=report.error)
    return report


def _record_fetch(subscription: FeedSubscription, *, now: dt.datetime, error: str) -> None:
    changes: dict[str, Any] = {
        "last_fetched_at": now,
        "etag": subscription.etag,
        "last_modified": subscription.last_modified,
    }
    if error:
        changes.update(
            last_error=error,
            consecutive_failures=F("consecutive_failures") + 1,
            failing_since=subscription.failing_since or now,
        )
        logger.warning("feed %s could not be read: %s", subscription.pk, error)
    else:
        changes.update(last_error="", consecutive_failures=0, failing_since=None, last_success_at=now)
    FeedSubscription.objects.filter(pk=subscription.pk).update(**changes)


def feeds_fetch_due(*, now: dt.datetime | None = None) -> int:
    """Fetches every active feed not fetched for FETCH_EVERY. Each is claimed with a conditional update of
    its fetch time, so two workers never fetch the same feed in one round. Returns how many it fetched."""
    now = now or timezone.now()
    stale = Q(last_fetched_at__isnull=True) | Q(last_fetched_at__lte=now - FETCH_EVERY)
    fetched = 0
    for subscription_id in FeedSubscription.objects.filter(stale, is_active=True).values_list("pk", flat=True):
        if not FeedSubscription.objects.filter(stale, pk=subscription_id).update(last_fetched_at=now):
            continue  # another worker took it
        feed_fetch(subscription_id=subscription_id, now=now)
        fetched += 1
    return fetched


# --- Items to drafts --------------------------------------------------------------------------------


def _start_label(moment: dt.datetime, department: Department) -> str:
    """ "Sat, Jun 12, 2027, 7:30 PM" in the department's zone (residents read posts in their city's time)."""
    local = moment.astimezone(zone_of(department))
    return f"{date_label(local)}, {clock_label(local)}"


def render_template(template: str, entry: FeedEntry, *, department: Department) -> str:
    """Fills {title} {summary} {link} {start} {location}; an empty value leaves no stray separators."""
    values = {
        "title": entry.title,
        "summary": entry.summary,
        "link": entry.link,
        "start": _start_label(entry.starts_at, department) if entry.starts_at else "",
        "location": entry.location,
    }
    text = PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    lines = [line.strip().strip("·").strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _hash(entry: FeedEntry) -> str:
    return hashlib.sha256(json.dumps(entry.fields(), sort_keys=True).encode()).hexdigest()


def _take(subscription: FeedSubscription, entries: list[FeedEntry], *, now: dt.datetime, report: FetchReport) -> None:
    known = {item.uid: item for item in subscription.items.select_related("post", "reminder_post")}
    channels = list(subscription.channels.all())
    for entry in entries:
        if subscription.kind == FeedKind.ICAL and (
            entry.starts_at is None or entry.starts_at <= now or entry.starts_at > now + EVENT_HORIZON
        ):
            report.skipped += 1
            continue
        item = known.get(entry.uid)
        if item is None:
            report.created += _item_create(subscription, entry, channels=channels, now=now)
        elif item.content_hash != _hash(entry):
            report.updated += _item_update(subscription, item, entry, now=now)
        else:
            report.unchanged += 1


def _reminder_due(subscription: FeedSubscription, entry: FeedEntry, now: dt.datetime) -> dt.datetime | None:
    if subscription.kind != FeedKind.ICAL or not subscription.reminder_lead_minutes or entry.starts_at is None:
        return None
    due = entry.starts_at - dt.timedelta(minutes=subscription.reminder_lead_minutes)
    return due if due > now + dt.timedelta(minutes=5) else None


def _first_due(subscription: FeedSubscription, entry: FeedEntry, now: dt.datetime) -> dt.datetime:
    """Due DRAFT_DUE_AFTER from now (the editors choose the time), but for an event coming soon, no later
    than half an hour before it starts. A news item's time is when it was published: not a limit."""
    due = now + DRAFT_DUE_AFTER
    soon = subscription.kind == FeedKind.ICAL and entry.starts_at is not None
    if soon and entry.starts_at is not None and entry.starts_at - dt.timedelta(minutes=30) < due:
        return max(now + dt.timedelta(minutes=5), entry.starts_at - dt.timedelta(minutes=30))
    return due


@transaction.atomic
def _item_create(
    subscription: FeedSubscription, entry: FeedEntry, *, channels: list[Channel], now: dt.datetime
) -> list[int]:
    department = subscription.department
    post = post_services.post_create(
        author=subscription.author,
        department=department,
        text=render_template(subscription.template, entry, department=department),
        link=entry.link,
        channels=channels,
        due_at=_first_due(subscription, entry, now),
    )
    reminder = None
    reminder_due = _reminder_due(subscription, entry, now)
    if reminder_due is not None and subscription.reminder_template:
        reminder = post_services.post_create(
            author=subscription.author,
            department=department,
            text=render_template(subscription.reminder_template, entry, department=department),
            link=entry.link,
            channels=channels,
            due_at=reminder_due,
        )
    FeedItem.objects.create(
        subscription=subscription,
        uid=entry.uid,
        title=entry.title[:300],
        starts_at=entry.starts_at,
        content_hash=_hash(entry),
        post=post,
        reminder_post=reminder,
        first_seen_at=now,
        updated_at=now,
    )
    return [post.pk] + ([reminder.pk] if reminder else [])


@transaction.atomic
def _item_update(subscription: FeedSubscription, item: FeedItem, entry: FeedEntry, *, now: dt.datetime) -> list[int]:
    department = subscription.department
    updated: list[int] = []
    left: list[int] = []
    pairs = [(item.post, subscription.template, None), (item.reminder_post, subscription.reminder_template, True)]
    for post, template, is_reminder in pairs:
        if post is None or not template:
            continue
        if post.status != PostStatus.DRAFT:
            left.append(post.pk)
            continue
        due_at = post.due_at
        if is_reminder:
            due_at = _reminder_due(subscription, entry, now) or post.due_at
        post_services.post_update(
            post=post,
            user=subscription.author,
            text=render_template(template, entry, department=department),
            link=entry.link,
            channels=list(post.channels.all()),
            due_at=due_at,
        )
        updated.append(post.pk)
    item.title = entry.title[:300]
    item.starts_at = entry.starts_at
    item.content_hash = _hash(entry)
    item.updated_at = now
    item.note = (
        _("Changed in the feed on %(when)s after post %(posts)s was sent for approval; that post was not changed.")
        % {"when": format_in_zone(now, department), "posts": ", ".join(f"#{pk}" for pk in left)}
        if left
        else ""
    )
    item.save()
    return updated
