"""The period of the analytics pages, read from the address (GET) so a page can be bookmarked and its CSV
exported for the same period. Days are in the department's (or the city's) zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy

from civicpost import fields as civic_fields

DEFAULT_DAYS = 30
MAX_DAYS = 366


def _date_field(label: Any) -> civic_fields.DateField:
    return civic_fields.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": gettext_lazy("Enter the date as year-month-day, such as 2026-12-05.")},
    )


class PeriodForm(forms.Form):
    start = _date_field(gettext_lazy("From (date)"))
    end = _date_field(gettext_lazy("To (date, included)"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                self.add_error("end", gettext_lazy("The end comes before the start."))
            elif (end - start).days >= MAX_DAYS:
                self.add_error("end", gettext_lazy("Choose a period of at most a year."))
        return cleaned


def period_from_form(
    form: PeriodForm, *, zone: zoneinfo.ZoneInfo, now: dt.datetime | None = None
) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    """Returns (first day, last day, start, end) of the chosen period: [start, end) in UTC, from the first
    day's midnight to the midnight after the last day in `zone`. An invalid or empty form gives the last 30
    days up to today."""
    today = (now or timezone.now()).astimezone(zone).date()
    first, last = today - dt.timedelta(days=DEFAULT_DAYS - 1), today
    if form.is_valid():
        last = form.cleaned_data.get("end") or last
        first = form.cleaned_data.get("start") or (last - dt.timedelta(days=DEFAULT_DAYS - 1))
        if first > last:
            first = last
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone).astimezone(dt.UTC)
    return first, last, start, end
