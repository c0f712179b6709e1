"""Words for instants: stored UTC instants shown in a zone, always with the offset, so nobody guesses.

Plain functions used by pages, forms, e-mails and the audit trail alike; the `civic_time` template tag
library registers some of them as filters. Imports no feature app.

Each label is in the active language (the page's, or the e-mail recipient's): English as US city pages
write it ("Sat, Dec 5, 2026, 1:30 PM"), Spanish as US cities' Spanish pages do ("sáb, 5 dic 2026, 1:30 p. m."):
day before month, lower-case names, still the 12-hour clock residents know. Names come from Django's own
translated calendar words (django.utils.dates).
"""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
import zoneinfo
from typing import Protocol

from django.utils import translation
from django.utils.dates import MONTHS, MONTHS_3, WEEKDAYS, WEEKDAYS_ABBR
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


def _day_first() -> bool:
    """True when the active language writes the day before the month (every one but English)."""
    return not (translation.get_language() or "en").startswith("en")


# The labels below ask for the active language once each (a context-local lookup that costs more than
# the formatting): the combined ones (`time_label`, `format_in_zone`) ask once for all their parts, which
# matters on pages with thousands of times (the calendar month, issue 18).


def _clock(value: dt.datetime | dt.time, day_first: bool) -> str:
    hour = value.hour % 12 or 12
    if day_first:
        return f"{hour}:{value.minute:02d} {'a. m.' if value.hour < 12 else 'p. m.'}"
    return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def _date(value: dt.datetime | dt.date, day_first: bool) -> str:
    if day_first:
        return f"{WEEKDAYS_ABBR[value.weekday()]}, {value.day} {MONTHS_3[value.month]} {value.year}"
    return f"{pycalendar.day_abbr[value.weekday()]}, {pycalendar.month_abbr[value.month]} {value.day}, {value.year}"


def day_first() -> bool:
    """Whether the active language writes the day first: asked once by a loop that makes thousands of labels
    (the calendar's hints, issue 18) and passed to `clock_label` / `date_label`."""
    return _day_first()


def clock_label(value: dt.datetime | dt.time, *, day_first: bool | None = None) -> str:
    """Returns the wall-clock time as "1:30 AM" (Spanish: "1:30 a. m.")."""
    return _clock(value, _day_first() if day_first is None else day_first)


def date_label(value: dt.datetime | dt.date, *, day_first: bool | None = None) -> str:
    """Returns "Sat, Dec 5, 2026" (Spanish: "sáb, 5 dic 2026")."""
    return _date(value, _day_first() if day_first is None else day_first)


def day_label(value: dt.datetime | dt.date) -> str:
    """Returns "Sat, Dec 5" (Spanish: "sáb, 5 dic"), for a column of days."""
    if _day_first():
        return f"{WEEKDAYS_ABBR[value.weekday()]}, {value.day} {MONTHS_3[value.month]}"
    return f"{pycalendar.day_abbr[value.weekday()]}, {pycalendar.month_abbr[value.month]} {value.day}"


def month_day_label(value: dt.datetime | dt.date) -> str:
    """Returns "Dec 5" (Spanish: "5 dic")."""
    if _day_first():
        return f"{value.day} {MONTHS_3[value.month]}"
    return f"{pycalendar.month_abbr[value.month]} {value.day}"


def long_date_label(value: dt.date) -> str:
    """Returns "Saturday, December 5, 2026" (Spanish: "sábado, 5 de diciembre de 2026")."""
    if _day_first():
        return _("%(weekday)s, %(day)s %(month)s %(year)s") % {
            "weekday": WEEKDAYS[value.weekday()],
            "day": value.day,
            "month": MONTHS[value.month].lower(),
            "year": value.year,
        }
    return f"{pycalendar.day_name[value.weekday()]}, {pycalendar.month_name[value.month]} {value.day}, {value.year}"


def month_label(year: int, month: int) -> str:
    """Returns "December 2026" (Spanish: "diciembre de 2026")."""
    if _day_first():
        return _("%(month)s %(year)s") % {"month": str(MONTHS[month]).lower(), "year": year}
    return f"{pycalendar.month_name[month]} {year}"


def weekday_name(weekday: int) -> str:
    """Returns the name of a weekday (0 = Monday): "Monday" (Spanish: "lunes")."""
    if _day_first():
        return str(WEEKDAYS[weekday])
    return pycalendar.day_name[weekday]


def time_label(moment: dt.datetime) -> str:
    """Returns "1:30 AM CDT (UTC−05:00)" for an aware local datetime."""
    return f"{_clock(moment, _day_first())} {moment.tzname()} ({utc_offset_label(moment)})"


def date_time_label(moment: dt.datetime) -> str:
    """Returns "Sat, Dec 5, 2026, 1:30 AM CDT (UTC−05:00)" for an aware local datetime: `date_label` and
    `time_label` joined, asking for the language once."""
    day_first = _day_first()
    return f"{_date(moment, day_first)}, {_clock(moment, day_first)} {moment.tzname()} ({utc_offset_label(moment)})"


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
    return date_time_label(value.astimezone(zone_of(zone_or_department)))


def in_zone(value: dt.datetime | str | None, zone_or_department: ZoneLike) -> str:
    """Returns `format_in_zone`, or "" for no time. `{{ post.due_at|in_zone:viewer_zone }}`: pages show every
    time in the viewer's zone (the context processor gives `viewer_zone`); emails and public feeds, which have
    no viewer, pass a department. An ISO 8601 text with an offset (a time kept in a JSON record, such as the
    archive's) is read first; any other text is shown as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if parsed.tzinfo is None:
            return value
        value = parsed
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
                    "date": month_day_label(local),
                    "label": label,
                }
            )
            previous = label
        cursor += dt.timedelta(hours=1)
    return f"{zone.key} ({'; '.join(labels)})"
