"""The week: 24 hour rows by 7 day columns, in the viewer's zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser, User
from django.utils.translation import gettext as _

from civicpost.timelabels import clock_label, date_label
from scheduler.calendar.filters import CalendarFilters
from scheduler.calendar.periods import FIRST_WEEKDAY, CalendarDay, CalendarPeriod, base_fields, calendar_period

# Hours outside these are drawn low when nothing is in them.
WORKDAY_START, WORKDAY_END = 7, 20


@dataclass
class CalendarHourRow:
    hour: int
    label: str
    cells: list[CalendarDay]
    quiet: bool = False  # a night hour with nothing in it: drawn low, so the working day fits the screen


@dataclass
class CalendarWeek(CalendarPeriod):
    days: list[CalendarDay] = field(default_factory=list)
    rows: list[CalendarHourRow] = field(default_factory=list)

    @property
    def first_day(self) -> dt.date:
        return self.days[0].date

    @property
    def last_day(self) -> dt.date:
        return self.days[-1].date

    @property
    def title(self) -> str:
        return _("Week of %(date)s") % {"date": date_label(self.first_day)}

    @property
    def previous(self) -> dt.date:
        return self.first_day - dt.timedelta(days=7)

    @property
    def next(self) -> dt.date:
        return self.first_day + dt.timedelta(days=7)


def week_start(day: dt.date) -> dt.date:
    """The Sunday that starts the week containing `day`."""
    return day - dt.timedelta(days=(day.weekday() - FIRST_WEEKDAY) % 7)


def hour_label(hour: int) -> str:
    return clock_label(dt.datetime.combine(dt.date(2000, 1, 1), dt.time(hour)))


def calendar_week(
    *,
    user: User | AnonymousUser,
    day: dt.date,
    filters: CalendarFilters | None = None,
    now: dt.datetime | None = None,
) -> CalendarWeek:
    """Returns the week containing `day` as 24 hour rows by 7 day columns, in the viewer's zone."""
    filters = filters or CalendarFilters()
    first = week_start(day)
    period, days = calendar_period(
        user=user, first_day=first, last_day=first + dt.timedelta(days=6), filters=filters, now=now
    )
    cells: dict[tuple[dt.date, int], CalendarDay] = {}
    for calendar_day in days.values():
        for hour in range(24):
            cells[(calendar_day.date, hour)] = CalendarDay(
                date=calendar_day.date, is_today=calendar_day.is_today, blackouts=[]
            )
    for entry in period.entries:
        cells[(entry.local_date, entry.local_due.hour)].entries.append(entry)
    rows = []
    for hour in range(24):
        row_cells = [cells[(d, hour)] for d in days]
        quiet = (hour < WORKDAY_START or hour >= WORKDAY_END) and not any(cell.entries for cell in row_cells)
        rows.append(CalendarHourRow(hour, hour_label(hour), row_cells, quiet))
    return CalendarWeek(**base_fields(period), days=list(days.values()), rows=rows)
