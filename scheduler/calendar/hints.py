"""Conflict hints, in words: two posts on one channel too close together, one link shared by two
departments within a few days, a post inside a blackout."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext as _

from civicpost.timelabels import clock_label, date_label, day_first
from scheduler.blackouts import blackout_applies, blackout_scope
from scheduler.models import (
    BlackoutPeriod,
    PostStatus,
)

if TYPE_CHECKING:
    from scheduler.calendar.entries import CalendarEntry


def conflict_gap() -> dt.timedelta:
    """Two posts on one channel closer than this are flagged (CIVICPOST_CALENDAR_CONFLICT_GAP_MINUTES)."""
    return dt.timedelta(minutes=int(getattr(settings, "CIVICPOST_CALENDAR_CONFLICT_GAP_MINUTES", 60)))


def link_window() -> dt.timedelta:
    """Two departments sharing one link closer than this are flagged (CIVICPOST_CALENDAR_LINK_WINDOW_HOURS)."""
    return dt.timedelta(hours=int(getattr(settings, "CIVICPOST_CALENDAR_LINK_WINDOW_HOURS", 72)))


class Hint:
    """One warning on a post, in words. A conflict's words are made when first read: a month finds the
    hints of ~2,000 posts, for the "with a warning" counts, and shows the words of ~200 (issue 18)."""

    __slots__ = ("_text", "_words", "kind")

    def __init__(self, kind: str, text: str = "", words: Callable[[], str] | None = None) -> None:
        self.kind = kind  # "channel", "link", "blackout" or "hold"
        self._text = text
        self._words = words

    @property
    def text(self) -> str:
        if self._words is not None:
            self._text, self._words = self._words(), None
        return self._text

    def __repr__(self) -> str:
        return f"Hint({self.kind!r}, {self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hint) and (self.kind, self.text) == (other.kind, other.text)

    __hash__ = None  # type: ignore[assignment]  # mutable words, like the dataclass it was


def _normal_link(link: str) -> str:
    return link.strip().rstrip("/").lower()


def add_hints(
    entries: list[CalendarEntry], blackouts: list[BlackoutPeriod], zone: zoneinfo.ZoneInfo, now: dt.datetime
) -> None:
    """Adds the conflict hints, in words, to each post still to go out (a future post that is not
    cancelled): a published or past post cannot be changed any more, so a warning there is only noise.
    Posts that went out still count as the neighbours of a future one. Each post gets at most one line
    per kind, however many of its channels are crowded."""
    live = [e for e in entries if e.post.status != PostStatus.CANCELLED]
    # `post.id`, not `post.pk`: pk is a property lookup, and these loops run tens of thousands of times
    # on a month of thousands of posts (issue 18).
    warned = {e.post.id for e in live if e.post.status != PostStatus.PUBLISHED and e.post.due_at > now}
    gap = conflict_gap()
    gap_minutes = int(gap.total_seconds() // 60)
    channel_text = _("Less than %(minutes)s minutes from another post on %(channel)s (%(times)s).")
    more_text = _(" and %(count)s more")
    link_text = _("Same link as a post of %(departments)s (%(when)s).")
    in_language = day_first()  # the active language, asked once, not per label

    # Same channel within the gap: a sliding window over each channel's posts in time order.
    by_channel: dict[int, list[tuple[dt.datetime, int, CalendarEntry]]] = defaultdict(list)
    channel_names: dict[int, str] = {}
    for entry in live:
        post = entry.post
        key = (post.due_at, post.id, entry)
        for channel in entry.channels:
            by_channel[channel.id].append(key)
            channel_names[channel.id] = channel.display_name
    crowded: dict[int, list[str]] = defaultdict(list)  # post id -> names of its crowded channels
    neighbours: dict[int, dict[int, CalendarEntry]] = defaultdict(dict)  # post id -> the posts too close
    for channel_id, timeline in by_channel.items():
        timeline.sort(key=lambda item: (item[0], item[1]))
        low = 0
        close: set[int] = set()
        for high, (due_at, post_id, entry) in enumerate(timeline):
            while due_at - timeline[low][0] >= gap:
                low += 1
            if low == high:
                continue
            mine = neighbours[post_id]
            for _other_due, other_id, other in timeline[low:high]:
                mine[other_id] = other
                neighbours[other_id][post_id] = entry
                close.add(other_id)
            close.add(post_id)
        for post_id in close:
            crowded[post_id].append(channel_names[channel_id])
    for entry in live:
        post_id = entry.post.id
        if post_id not in warned or post_id not in crowded:
            continue
        words = partial(
            _crowded_words,
            neighbours[post_id],
            crowded[post_id],
            zone,
            in_language,
            channel_text,
            more_text,
            gap_minutes,
        )
        entry.hints.append(Hint("channel", words=words))

    # The same link shared by two departments within the link window.
    window = link_window()
    by_link: dict[str, list[CalendarEntry]] = defaultdict(list)
    for entry in live:
        if entry.post.link:
            by_link[_normal_link(entry.post.link)].append(entry)
    for group in by_link.values():
        if len({e.post.department_id for e in group}) < 2:
            continue
        for entry in group:
            if entry.post.id not in warned:
                continue
            others = [
                o
                for o in group
                if o.post.department_id != entry.post.department_id and abs(o.post.due_at - entry.post.due_at) < window
            ]
            if not others:
                continue
            entry.hints.append(
                Hint("link", words=partial(_shared_link_words, entry, others, zone, in_language, link_text))
            )

    # Inside a blackout period of the post's department or of the whole city: each blackout looks only at
    # the posts due within it (bisected in time order), not every post at every blackout.
    if blackouts:
        blackout_text = _("Inside a blackout: %(reason)s (%(scope)s).")
        in_time_order = sorted(live, key=lambda e: e.post.due_at)
        due_times = [e.post.due_at for e in in_time_order]
        inside: dict[int, tuple[CalendarEntry, list[str]]] = {}
        for blackout in blackouts:
            text = blackout_text % {"reason": blackout.reason, "scope": blackout_scope(blackout)}
            first = bisect_left(due_times, blackout.starts_at)
            for entry in in_time_order[first : bisect_left(due_times, blackout.ends_at, lo=first)]:
                post = entry.post
                if post.id in warned and blackout_applies(blackout, department_id=post.department_id, when=post.due_at):
                    inside.setdefault(post.id, (entry, []))[1].append(text)
        for entry, texts in inside.values():
            entry.hints.append(Hint("blackout", " ".join(texts)))


def _crowded_words(
    others_by_id: dict[int, CalendarEntry],
    crowded_names: list[str],
    zone: zoneinfo.ZoneInfo,
    in_language: bool,
    channel_text: str,
    more_text: str,
    gap_minutes: int,
) -> str:
    """ "Less than 60 minutes from another post on Parks on Sandbox (9:00 AM, 9:30 AM)." """
    others = sorted(others_by_id.values(), key=lambda o: (o.post.due_at, o.post.id))
    times = ", ".join(clock_label(o.post.due_at.astimezone(zone), day_first=in_language) for o in others[:3])
    if len(others) > 3:
        times += more_text % {"count": len(others) - 3}
    return channel_text % {"minutes": gap_minutes, "channel": ", ".join(sorted(crowded_names)), "times": times}


def _shared_link_words(
    entry: CalendarEntry, others: list[CalendarEntry], zone: zoneinfo.ZoneInfo, in_language: bool, link_text: str
) -> str:
    """ "Same link as a post of Public Library (Tue, Nov 10, 9:00 AM)." """
    names = sorted({o.post.department.name for o in others})
    first = min(others, key=lambda o: abs(o.post.due_at - entry.post.due_at))
    moment = first.post.due_at.astimezone(zone)
    when = f"{date_label(moment, day_first=in_language)}, {clock_label(moment, day_first=in_language)}"
    return link_text % {"departments": ", ".join(names), "when": when}
