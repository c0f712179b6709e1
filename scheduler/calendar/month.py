"""The month grid: Sunday-first weeks, including the adjacent days that fill them."""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User

from civicpost.timelabels import month_label, weekday_name
from scheduler.calendar.filters import CalendarFilters
from scheduler.calendar.periods import FIRST_WEEKDAY, CalendarDay, CalendarPeriod, base_fields, calendar_period


def month_cell_limit() -> int:
    """How many posts a month cell lists before "N more" (the agenda of that day lists them all)."""
    return int(getattr(settings, "CIVICPOST_CALENDAR_MONTH_CELL_LIMIT", 6))


@dataclass
class CalendarMonth(CalendarPeriod):
    year: int = 0
    month: int = 0
    weeks: list[list[CalendarDay]] = field(default_factory=list)
    weekday_names: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return month_label(self.year, self.month)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def is_empty(self) -> bool:
        """No post on any day of the month (the page then says what to do next)."""
        return not any(day.entries for week in self.weeks for day in week if day.in_period)

    @property
    def previous(self) -> dt.date:
        return (self.first_day - dt.timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> dt.date:
        return (self.first_day + dt.timedelta(days=32)).replace(day=1)


def calendar_month(
    *,
    user: User | AnonymousUser,
    year: int,
    month: int,
    filters: CalendarFilters | None = None,
    now: dt.datetime | None = None,
    with_options: bool = True,
) -> CalendarMonth:
    """Returns the month grid (Sunday-first weeks, including the adjacent days that fill them)."""
    filters = filters or CalendarFilters()
    weeks = pycalendar.Calendar(firstweekday=FIRST_WEEKDAY).monthdatescalendar(year, month)
    period, days = calendar_period(
        user=user, first_day=weeks[0][0], last_day=weeks[-1][-1], filters=filters, now=now, with_options=with_options
    )
    limit = month_cell_limit()
    for day in days.values():
        day.in_period = day.date.month == month
        day.shown_limit = limit
    return CalendarMonth(
        **base_fields(period),
        year=year,
        month=month,
        weeks=[[days[d] for d in week] for week in weeks],
        weekday_names=[weekday_name((FIRST_WEEKDAY + i) % 7) for i in range(7)],
    )
