"""What every calendar page gets (month, week, agenda): the entries of a period in the viewer's zone, its
days, blackouts, quiet channels and filter choices."""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.utils import timezone

from civicpost.timelabels import long_date_label, zone_summary
from civicpost.zones import local_midnight
from departments.selectors import (
    viewer_zone,
)
from scheduler.blackouts import blackout_label, blackouts_overlapping
from scheduler.calendar.entries import CalendarEntry, calendar_entries
from scheduler.calendar.filters import CalendarFilters, FilterOptions, filter_options
from scheduler.calendar.hints import conflict_gap, link_window
from scheduler.calendar.posts import calendar_posts, channels_by_id
from scheduler.calendar.quiet import QuietChannel, quiet_channels
from scheduler.calendar.statuses import CALENDAR_STATUSES
from scheduler.models import (
    BlackoutPeriod,
    PostStatus,
)

# Weeks start on Sunday, as on US city calendars.
FIRST_WEEKDAY = pycalendar.SUNDAY


@dataclass
class CalendarBlackout:
    blackout: BlackoutPeriod
    label: str  # "Election quiet period (whole city), Tue, Nov 3, 6:00 AM CST (UTC−06:00) to ..."


@dataclass
class CalendarDay:
    date: dt.date
    entries: list[CalendarEntry] = field(default_factory=list)
    blackouts: list[CalendarBlackout] = field(default_factory=list)
    in_period: bool = True
    is_today: bool = False
    shown_limit: int | None = None

    @property
    def label(self) -> str:
        return long_date_label(self.date)

    @property
    def iso(self) -> str:
        return self.date.isoformat()

    @property
    def shown(self) -> list[CalendarEntry]:
        return self.entries if self.shown_limit is None else self.entries[: self.shown_limit]

    @property
    def hidden_count(self) -> int:
        return len(self.entries) - len(self.shown)

    @property
    def hidden_with_hints(self) -> int:
        return sum(1 for entry in self.entries[len(self.shown) :] if entry.hints)


@dataclass
class CalendarPeriod:
    """What every calendar page gets: the entries of the period and everything around them."""

    zone: zoneinfo.ZoneInfo
    start: dt.datetime  # UTC, inclusive
    end: dt.datetime  # UTC, exclusive
    entries: list[CalendarEntry]
    blackouts: list[CalendarBlackout]
    quiet_channels: list[QuietChannel]
    quiet_days: int
    options: FilterOptions
    zone_summary: str
    today: dt.date

    @property
    def departments_shown(self) -> list[tuple[int, str]]:
        """The colour and name of each department with a post in view, for the legend (no query)."""
        seen = {entry.post.department.name: entry.colour for entry in self.entries}
        return [(colour, name) for name, colour in sorted(seen.items())]


def calendar_period(
    *,
    user: User | AnonymousUser,
    first_day: dt.date,
    last_day: dt.date,
    filters: CalendarFilters,
    now: dt.datetime | None,
    with_options: bool = True,
) -> tuple[CalendarPeriod, dict[dt.date, CalendarDay]]:
    now = now or timezone.now()
    zone = viewer_zone(user=user)
    start = local_midnight(first_day, zone)
    end = local_midnight(last_day + dt.timedelta(days=1), zone)
    margin = max(conflict_gap(), link_window())
    with_cancelled = PostStatus.CANCELLED in filters.statuses
    channels = channels_by_id()
    posts = calendar_posts(
        user=user, start=start - margin, end=end + margin, with_cancelled=with_cancelled, channels=channels
    )
    blackouts = blackouts_overlapping(start=start - margin, end=end + margin)
    all_entries = calendar_entries(user=user, posts=posts, zone=zone, blackouts=blackouts, now=now)
    entries = [e for e in all_entries if start <= e.post.due_at < end and filters.matches(e.post, e.status, e.channels)]
    shown_blackouts = [
        CalendarBlackout(b, blackout_label(b, zone)) for b in blackouts if b.starts_at < end and b.ends_at > start
    ]
    today = now.astimezone(zone).date()
    days: dict[dt.date, CalendarDay] = {}
    day = first_day
    while day <= last_day:
        day_start, day_end = local_midnight(day, zone), local_midnight(day + dt.timedelta(days=1), zone)
        days[day] = CalendarDay(
            date=day,
            is_today=day == today,
            blackouts=[b for b in shown_blackouts if b.blackout.starts_at < day_end and b.blackout.ends_at > day_start],
        )
        day += dt.timedelta(days=1)
    for entry in entries:
        days[entry.local_date].entries.append(entry)
    quiet_days = filters.effective_quiet_days()
    period = CalendarPeriod(
        zone=zone,
        start=start,
        end=end,
        entries=entries,
        blackouts=shown_blackouts,
        quiet_channels=quiet_channels(user=user, days=quiet_days, filters=filters, now=now),
        quiet_days=quiet_days,
        options=filter_options(user=user, channels=list(channels.values()))
        if with_options
        else FilterOptions([], [], [], CALENDAR_STATUSES, [], [], False),
        zone_summary=zone_summary(zone, start, end),
        today=today,
    )
    return period, days


def base_fields(period: CalendarPeriod) -> dict[str, Any]:
    return {name: getattr(period, name) for name in CalendarPeriod.__dataclass_fields__}
