"""Show stored UTC instants in a department's time zone, always with the offset, so nobody guesses."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Protocol

from django import template

register = template.Library()

MINUS = "\N{MINUS SIGN}"


def utc_offset_label(value: dt.datetime) -> str:
    """Returns the offset of an aware datetime as "UTC−06:00" (with a real minus sign)."""
    offset = value.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else MINUS
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def clock_label(value: dt.datetime) -> str:
    """Returns the wall-clock time as "1:30 AM"."""
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def date_label(value: dt.datetime | dt.date) -> str:
    """Returns "Sat, Dec 5, 2026"."""
    return f"{value:%a}, {value:%b} {value.day}, {value.year}"


class _HasTimeZone(Protocol):
    time_zone: str


# None or "": a template rendered without a request has no `viewer_zone`.
ZoneLike = zoneinfo.ZoneInfo | str | _HasTimeZone | None


def _zone(zone_or_department: ZoneLike) -> zoneinfo.ZoneInfo:
    if not zone_or_department:  # a template rendered without a request has no `viewer_zone`
        from scheduler.calendar import default_zone  # calendar imports these tags; zones move to civicpost/ (item 4)

        return default_zone()
    if isinstance(zone_or_department, zoneinfo.ZoneInfo):
        return zone_or_department
    if isinstance(zone_or_department, str):
        return zoneinfo.ZoneInfo(zone_or_department)
    return zoneinfo.ZoneInfo(zone_or_department.time_zone)  # a Department


def format_in_zone(value: dt.datetime, zone_or_department: ZoneLike) -> str:
    """Returns "Sat, Dec 5, 2026, 10:00 AM CST (UTC−06:00)" for an aware datetime."""
    local = value.astimezone(_zone(zone_or_department))
    return f"{date_label(local)}, {clock_label(local)} {local.tzname()} ({utc_offset_label(local)})"


@register.filter
def in_zone(value: dt.datetime | None, zone_or_department: ZoneLike) -> str:
    """`{{ post.due_at|in_zone:viewer_zone }}`: pages show every time in the viewer's zone (the context
    processor gives `viewer_zone`); emails and public feeds, which have no viewer, pass a department."""
    if value is None:
        return ""
    return format_in_zone(value, zone_or_department)


@register.filter
def clock(value: dt.time | None) -> str:
    """`{{ series.local_time|clock }}` → "9:00 AM": a time of day (no date, so no zone of its own)."""
    if value is None:
        return ""
    return clock_label(dt.datetime.combine(dt.date(2000, 1, 1), value))


@register.filter
def iso_utc(value: dt.datetime | None) -> str:
    """Machine-readable instant for <time datetime="...">."""
    if value is None:
        return ""
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
