"""Words for instants: stored UTC instants shown in a zone, always with the offset, so nobody guesses.

Plain functions used by pages, forms, e-mails and the audit trail alike; the `civic_time` template tag
library registers some of them as filters. Imports no feature app.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Protocol

from django.utils.translation import gettext as _

from civicpost.zones import default_zone

MINUS = "\N{MINUS SIGN}"


class _HasTimeZone(Protocol):
    time_zone: str


# A zone, a zone's name or a department; None or "": a template rendered without a request has no
# `viewer_zone`, so the city's default zone.
ZoneLike = zoneinfo.ZoneInfo | str | _HasTimeZone | None


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


def time_label(moment: dt.datetime) -> str:
    """Returns "1:30 AM CDT (UTC−05:00)" for an aware local datetime."""
    return f"{clock_label(moment)} {moment.tzname()} ({utc_offset_label(moment)})"


def zone_of(zone_or_department: ZoneLike) -> zoneinfo.ZoneInfo:
    """Returns the zone itself, the zone named, or a department's zone (anything with `time_zone`)."""
    if not zone_or_department:  # a template rendered without a request has no `viewer_zone`
        return default_zone()
    if isinstance(zone_or_department, zoneinfo.ZoneInfo):
        return zone_or_department
    if isinstance(zone_or_department, str):
        return zoneinfo.ZoneInfo(zone_or_department)
    return zoneinfo.ZoneInfo(zone_or_department.time_zone)  # a Department


def format_in_zone(value: dt.datetime, zone_or_department: ZoneLike) -> str:
    """Returns "Sat, Dec 5, 2026, 10:00 AM CST (UTC−06:00)" for an aware datetime."""
    local = value.astimezone(zone_of(zone_or_department))
    return f"{date_label(local)}, {clock_label(local)} {local.tzname()} ({utc_offset_label(local)})"


def in_zone(value: dt.datetime | None, zone_or_department: ZoneLike) -> str:
    """Returns `format_in_zone`, or "" for no time. `{{ post.due_at|in_zone:viewer_zone }}`: pages show every
    time in the viewer's zone (the context processor gives `viewer_zone`); emails and public feeds, which have
    no viewer, pass a department."""
    if value is None:
        return ""
    return format_in_zone(value, zone_or_department)


def clock(value: dt.time | None) -> str:
    """Returns "9:00 AM" for a time of day (no date, so no zone of its own), or "" for none:
    `{{ series.local_time|clock }}`."""
    if value is None:
        return ""
    return clock_label(dt.datetime.combine(dt.date(2000, 1, 1), value))


def iso_utc(value: dt.datetime | None) -> str:
    """Returns the machine-readable instant for <time datetime="...">, or "" for no time."""
    if value is None:
        return ""
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def zone_summary(zone: zoneinfo.ZoneInfo, start: dt.datetime, end: dt.datetime) -> str:
    """Returns "America/Chicago (CDT, UTC−05:00 until Nov 1; then CST, UTC−06:00)" for a period."""
    labels: list[str] = []
    cursor = start
    previous = None
    while cursor < end:
        local = cursor.astimezone(zone)
        label = f"{local.tzname()}, {utc_offset_label(local)}"
        if label != previous:
            labels.append(
                label
                if previous is None
                else _("from %(date)s %(label)s")
                % {
                    "date": f"{local:%b} {local.day}",
                    "label": label,
                }
            )
            previous = label
        cursor += dt.timedelta(hours=1)
    return f"{zone.key} ({'; '.join(labels)})"
