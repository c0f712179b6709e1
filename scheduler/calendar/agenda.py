"""The agenda: the days with posts or blackouts, from a first day for a number of days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser, User
from django.utils.translation import gettext as _

from civicpost.timelabels import date_label
from scheduler.calendar.filters import CalendarFilters
from scheduler.calendar.periods import CalendarDay, CalendarPeriod, base_fields, calendar_period

MAX_AGENDA_DAYS = 92


@dataclass
class CalendarAgenda(CalendarPeriod):
    first_day: dt.date = dt.date.min
    days_count: int = 0
    days: list[CalendarDay] = field(default_factory=list)

    @property
    def last_day(self) -> dt.date:
        return self.first_day + dt.timedelta(days=self.days_count - 1)

    @property
    def title(self) -> str:
        return _("%(first)s to %(last)s") % {"first": date_label(self.first_day), "last": date_label(self.last_day)}

    @property
    def previous(self) -> dt.date:
        return self.first_day - dt.timedelta(days=self.days_count)

    @property
    def next(self) -> dt.date:
        return self.first_day + dt.timedelta(days=self.days_count)


def calendar_agenda(
    *,
    user: User | AnonymousUser,
    first_day: dt.date,
    days: int = 14,
    filters: CalendarFilters | None = None,
    now: dt.datetime | None = None,
) -> CalendarAgenda:
    """Returns a list of days (only those with posts or blackouts) from `first_day` for `days` days."""
    filters = filters or CalendarFilters()
    days = min(max(days, 1), MAX_AGENDA_DAYS)
    period, by_day = calendar_period(
        user=user, first_day=first_day, last_day=first_day + dt.timedelta(days=days - 1), filters=filters, now=now
    )
    return CalendarAgenda(
        **base_fields(period),
        first_day=first_day,
        days_count=days,
        days=[d for d in by_day.values() if d.entries or d.blackouts],
    )
