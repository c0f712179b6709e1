"""One post as the viewer sees it on the calendar (time in their zone, status, platforms, hints)."""

from __future__ import annotations

import datetime as dt
import unicodedata
import zoneinfo
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from civicpost.timelabels import clock_label, date_time_label, iso_utc, utc_offset_label
from departments.selectors import (
    department_ids_for_user,
)
from scheduler.adapters.registry import platform_label
from scheduler.calendar.hints import Hint, add_hints
from scheduler.calendar.posts import CalendarPost
from scheduler.calendar.statuses import CALENDAR_STATUSES, EDITABLE_STATUSES, calendar_status
from scheduler.hold_hints import add_hold_hints
from scheduler.models import (
    BlackoutPeriod,
    Channel,
    PostStatus,
)

# Department colours: a second cue next to the department's name, never the only one. Each is dark
# enough for white text (at least 7:1) and distinct from its neighbours.
DEPARTMENT_COLOURS = 8


# USWDS sprite icons standing in for each platform; the platform's name is always the text alternative.
PLATFORM_ICONS = {
    "facebook": "facebook",
    "instagram": "instagram",
    "x": "x",
    "mastodon": "forum",
    "bluesky": "public",
    "threads": "chat",
    "feed": "rss_feed",
    "webhook": "api",
    "sandbox": "science",
}


@dataclass
class PlatformMark:
    key: str
    label: str
    icon: str


class EntryContext:
    """What every entry of one build shares (see CalendarEntry.shared)."""

    __slots__ = ("labels", "marks", "member_of", "now", "zone", "zones")

    def __init__(
        self, *, labels: dict[str, str], member_of: set[int], now: dt.datetime, zone: zoneinfo.ZoneInfo
    ) -> None:
        self.labels = labels
        self.zone = zone
        self.member_of = member_of
        self.now = now
        self.marks: dict[str, PlatformMark] = {}
        self.zones: dict[str, zoneinfo.ZoneInfo] = {}

    def zone_named(self, key: str) -> zoneinfo.ZoneInfo:
        if key not in self.zones:
            self.zones[key] = zoneinfo.ZoneInfo(key)
        return self.zones[key]


@dataclass
class CalendarEntry:
    """One post as the viewer sees it on the calendar."""

    post: CalendarPost
    local_due: dt.datetime
    status: str
    channels: list[Channel]
    # What the per-line values below are worked out from (the viewer's departments, zone, now, the
    # translated labels): a month reads ~2,100 posts for its counts and hints and draws ~200 lines, so the
    # line's own values are made only when read (issue 18).
    shared: EntryContext
    hints: list[Hint] = field(default_factory=list)
    # The addresses a line links to, "/posts/0/" style with PK_PLACEHOLDER for the post's id: reversed once
    # per build, not twice per line (see `line`).
    url_patterns: dict[str, str] = field(default_factory=dict)

    @cached_property
    def status_label(self) -> str:
        return self.shared.labels.get(self.status, self.status)

    @cached_property
    def can_move(self) -> bool:
        post = self.post
        return (
            post.department_id in self.shared.member_of
            and post.status in EDITABLE_STATUSES
            and not (post.status == PostStatus.APPROVED and post.due_at <= self.shared.now)
        )

    @property
    def colour(self) -> int:
        return self.post.department_id % DEPARTMENT_COLOURS

    @cached_property
    def platforms(self) -> list[PlatformMark]:
        """One mark per platform of the post's channels, in the channels' order."""
        marks = self.shared.marks
        platforms: dict[str, PlatformMark] = {}
        for channel in self.channels:
            if channel.platform not in marks:
                marks[channel.platform] = PlatformMark(
                    channel.platform, platform_label(channel.platform), PLATFORM_ICONS.get(channel.platform, "public")
                )
            platforms.setdefault(channel.platform, marks[channel.platform])
        return list(platforms.values())

    @cached_property
    def department_local(self) -> dt.datetime | None:
        """The post's time in its department's zone, when that zone's offset differs from the viewer's."""
        zone_key = self.post.department.time_zone
        if zone_key == self.shared.zone.key:
            return None
        own = self.post.due_at.astimezone(self.shared.zone_named(zone_key))
        return own if own.utcoffset() != self.local_due.utcoffset() else None

    @cached_property
    def line(self) -> dict[str, Any]:
        """Everything one line of the month or week grid shows (scheduler/calendar/line_markup.py), as
        ready strings in a dict: one dictionary lookup per value instead of a chain of attribute lookups,
        properties, filters and `{% url %}` tags per line (issue 18: a month renders ~200 lines with ~30
        values each). Made only for the lines a page shows."""
        post = self.post
        pk = str(post.id)
        full_time = self.full_time
        department_name = post.department.name
        text = post.text
        thread_parts = post.thread_parts
        urls = self.url_patterns or _url_patterns()
        return {
            "pk": pk,
            "colour": self.colour,
            "status": self.status,
            "status_label": self.status_label,
            "can_move": self.can_move,
            "move_url": urls["move"].replace(PK_PLACEHOLDER, pk) if self.can_move else "",
            "detail_url": urls["detail"].replace(PK_PLACEHOLDER, pk),
            "input_date": self.input_date if self.can_move else "",
            "input_time": self.input_time if self.can_move else "",
            # Escaped as a whole by the template, like its parts were: " (", ", " and ")" escape to themselves.
            "summary": f"{_truncated(text, 60)} ({department_name}, {full_time})" if self.can_move else "",
            "move_label": f"{_truncated(text, 40)}, {full_time}" if self.can_move else "",
            "due_iso": iso_utc(post.due_at),
            "time": self.time,
            "offset_note": self.offset_note,
            "department_name": department_name,
            "short_text": _truncated(text, 90),
            "text": text,
            "full_time": full_time,
            "platforms": [(mark.label, mark.icon) for mark in self.platforms],
            "channel_names": ", ".join(channel.display_name for channel in self.channels) if self.platforms else "",
            "hints": self.hints,
            # Posts have no such attribute today (the template showed nothing); kept as the template had it.
            "is_emergency": getattr(post, "is_emergency", False),
            "approved_by": self.approved_by,
            "thread_count": len(thread_parts) + 1 if thread_parts else 0,
            "versions": self.versions,
            "department_time": self.department_time,
        }

    @property
    def versions(self) -> list[tuple[str, str]]:
        """The preview's versions for single channels [(channel name, text)]: made only for the lines shown."""
        post = self.post
        if not post.channel_text:
            return []
        by_id = {str(channel.pk): channel for channel in self.channels}
        return [
            (by_id[key].display_name, text)
            for key, text in post.channel_text.items()
            if key in by_id and text and text != post.text
        ]

    @property
    def approved_by(self) -> str:
        """Who approved the post as it stands (the preview), or ""."""
        return _approver_name(self.post)

    @property
    def department_time(self) -> str:
        """ "Tue, Mar 2, 2027, 10:00 AM EST (UTC−05:00) in Public Library's zone (America/New_York)", or ""."""
        if self.department_local is None:
            return ""
        return _("%(time)s in %(department)s's zone (%(zone)s)") % {
            "time": date_time_label(self.department_local),
            "department": self.post.department.name,
            "zone": self.post.department.time_zone,
        }

    @property
    def local_date(self) -> dt.date:
        return self.local_due.date()

    @property
    def time(self) -> str:
        return clock_label(self.local_due)

    @property
    def zone_label(self) -> str:
        return f"{self.local_due.tzname()} ({utc_offset_label(self.local_due)})"

    @property
    def offset_note(self) -> str:
        """The zone and offset, only on a day the clocks change (the page header says the zone once; on that
        day 1:30 AM may happen twice, so each time says which)."""
        zone = self.local_due.tzinfo
        day = self.local_date
        start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
        return self.zone_label if start.utcoffset() != end.utcoffset() else ""

    @property
    def input_date(self) -> str:
        return self.local_due.strftime("%Y-%m-%d")

    @property
    def input_time(self) -> str:
        return self.local_due.strftime("%H:%M")

    @property
    def full_time(self) -> str:
        return date_time_label(self.local_due)

    @property
    def hint_kinds(self) -> list[str]:
        return sorted({hint.kind for hint in self.hints})


def _truncated(text: str, length: int) -> str:
    """Truncator(text).chars(length) (the `truncatechars` filter), without walking a text that is short
    enough character by character."""
    normal = unicodedata.normalize("NFC", text)
    return normal if len(normal) <= length else Truncator(normal).chars(length)


# Stands for the post's id in a reversed address; replaced per line (an id is digits, never this).
PK_PLACEHOLDER = "2147483647"


def _url_patterns() -> dict[str, str]:
    """The addresses a calendar line links to, with PK_PLACEHOLDER for the post's id."""
    return {
        "detail": reverse("scheduler:post_detail", args=[int(PK_PLACEHOLDER)]),
        "move": reverse("scheduler:calendar_reschedule", args=[int(PK_PLACEHOLDER)]),
    }


def _approver_name(post: CalendarPost) -> str:
    """The name of whoever approved the post as it stands, or "" (not approved, or sent back since)."""
    # The approver's names are joined by calendar_posts as plain columns: no query, no instance.
    if post.status not in (PostStatus.APPROVED, PostStatus.PUBLISHED) or post.current_approval_id is None:
        return ""
    full_name = f"{post.approver_first_name} {post.approver_last_name}".strip()  # as User.get_full_name()
    return full_name or post.approver_email or ""


def calendar_entries(
    *,
    user: User | AnonymousUser,
    posts: list[CalendarPost],
    zone: zoneinfo.ZoneInfo,
    blackouts: list[BlackoutPeriod],
    now: dt.datetime,
) -> list[CalendarEntry]:
    # Translated once per build, not once per post.
    shared = EntryContext(
        labels={key: str(label) for key, label in CALENDAR_STATUSES},
        member_of=department_ids_for_user(user=user),
        now=now,
        zone=zone,
    )
    url_patterns = _url_patterns()
    entries = [
        CalendarEntry(
            post=post,
            local_due=post.due_at.astimezone(zone),
            status=calendar_status(post),
            channels=post.calendar_channels,
            shared=shared,
            url_patterns=url_patterns,
        )
        for post in posts
    ]
    add_hints(entries, blackouts, zone, now)
    # Crisis holds: "Held: crisis hold by ..." on each post kept from going out.
    add_hold_hints(entries, Hint, zone)
    return entries
