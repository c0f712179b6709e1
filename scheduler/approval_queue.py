"""The approval queue as the approver reads it (read only): each waiting post with its text, its own text
per channel and per language, its media with alt text, its approval step, and the conflicts and hints that
matter before approving (another post on the same channel too close, the same link from another department,
a blackout, a missing alt text, a translation nobody checked). A fixed number of queries for any number of
posts (tests/scheduler/test_approval_queue.py counts them)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from django.contrib.auth.models import User
from django.db.models import Prefetch, Q
from django.utils.translation import gettext as _

from civicpost.languages import language_name
from medialibrary.models import PostMedia
from scheduler.adapters.registry import platform_label
from scheduler.approvals import PolicyCache, current_step, step_states
from scheduler.blackouts import blackouts_overlapping
from scheduler.calendar.hints import Hint, add_hints, conflict_gap, link_window
from scheduler.models import ApprovalVote, Channel, Post, PostStatus
from scheduler.selectors import posts_awaiting_approval, posts_visible_to

if TYPE_CHECKING:
    from scheduler.calendar.entries import CalendarEntry


@dataclass
class ChannelVersion:
    channel: str
    platform: str
    text: str


@dataclass
class LanguageVersion:
    language: str
    code: str
    text: str
    reviewed: bool


@dataclass
class QueueItem:
    """One post waiting for the viewer's decision."""

    post: Post
    channels: list[Channel]
    channel_versions: list[ChannelVersion]
    language_versions: list[LanguageVersion]
    media: list[PostMedia]
    step_label: str = ""
    conflicts: list[Hint] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)

    @property
    def platforms(self) -> list[str]:
        return sorted({platform_label(c.platform) for c in self.channels})


@dataclass
class _Entry:
    """What scheduler.calendar.hints.add_hints reads of a post (the calendar's entry, without the rest)."""

    post: Post
    channels: list[Channel]
    hints: list[Hint] = field(default_factory=list)


def _step_label(post: Post, votes: list[ApprovalVote], cache: PolicyCache) -> str:
    steps = cache.policy(post.department_id)
    if len(steps) < 2:
        return ""
    current = current_step(step_states(post, votes=votes, cache=cache))
    if current is None:
        return ""
    return _("Step %(number)s of %(total)s: %(name)s") % {
        "number": current.number,
        "total": len(steps),
        "name": current.name,
    }


def _conflicts(*, user: User, items: list[QueueItem], zone: zoneinfo.ZoneInfo, now: dt.datetime) -> None:
    """Adds the calendar's conflict hints to each item: its neighbours are every post the viewer may see
    on the same channels or with the same link around its time. Three queries whatever the number of posts."""
    if not items:
        return
    window = max(conflict_gap(), link_window())
    start = min(i.post.due_at for i in items) - window
    end = max(i.post.due_at for i in items) + window
    channel_ids = {c.pk for i in items for c in i.channels}
    links = {i.post.link for i in items if i.post.link}
    nearby = Q(channels__in=channel_ids) | Q(link__in=links) if links else Q(channels__in=channel_ids)
    queue_ids = {i.post.pk for i in items}
    neighbours = list(
        posts_visible_to(user=user)
        .filter(due_at__gte=start, due_at__lt=end)
        .exclude(status=PostStatus.CANCELLED)
        .exclude(pk__in=queue_ids)
        .filter(nearby)
        .distinct()
        .select_related("department")
        .prefetch_related("channels")
    )
    entries = [_Entry(post=i.post, channels=i.channels) for i in items]
    entries += [_Entry(post=p, channels=list(p.channels.all())) for p in neighbours]
    # add_hints reads only .post, .channels and .hints of the calendar's entries: _Entry has exactly those.
    add_hints(cast("list[CalendarEntry]", entries), blackouts_overlapping(start=start, end=end), zone, now)
    for item, entry in zip(items, entries, strict=False):
        item.conflicts = entry.hints


def approval_queue_items(*, user: User, zone: zoneinfo.ZoneInfo, now: dt.datetime) -> list[QueueItem]:
    """Returns the posts waiting for `user`'s decision (scheduler.selectors.posts_awaiting_approval), soonest
    first, each with what the queue shows inline."""
    posts = list(
        posts_awaiting_approval(user=user).prefetch_related(
            Prefetch("media_items", queryset=PostMedia.objects.select_related("asset").order_by("position", "id"))
        )
    )
    if not posts:
        return []
    cache = PolicyCache()
    cache.preload({p.department_id for p in posts})
    cache.preload_rounds(p.pk for p in posts)
    votes: dict[int, list[ApprovalVote]] = defaultdict(list)
    for vote in ApprovalVote.objects.filter(post_id__in=[p.pk for p in posts]):
        votes[vote.post_id].append(vote)
    missing_alt = _("An image has no alt text: people using screen readers will not know what it shows.")
    unchecked = _("The %(language)s version was not checked by a person yet.")
    items = []
    for post in posts:
        channels = sorted(post.channels.all(), key=lambda c: (c.display_name, c.pk))
        channel_text = post.channel_text or {}
        versions = [
            ChannelVersion(c.display_name, platform_label(c.platform), channel_text[str(c.pk)])
            for c in channels
            if channel_text.get(str(c.pk))
        ]
        languages = [
            LanguageVersion(language_name(code), code, (v or {}).get("text", ""), bool((v or {}).get("reviewed")))
            for code, v in sorted((post.languages or {}).items())
        ]
        media = list(post.media_items.all())
        hints = []
        if any(not m.alt_text and not m.asset.is_video for m in media):
            hints.append(missing_alt)
        hints += [unchecked % {"language": v.language} for v in languages if not v.reviewed]
        items.append(
            QueueItem(
                post=post,
                channels=channels,
                channel_versions=versions,
                language_versions=languages,
                media=media,
                step_label=_step_label(post, votes.get(post.pk, []), cache),
                hints=hints,
            )
        )
    _conflicts(user=user, items=items, zone=zone, now=now)
    return items
