"""Form fields shared by the apps' forms: a wall-clock date and time in a department's zone (safe across
daylight saving changes), a post's link, a blackout reason. Imports no feature app.

Times are typed as a date and a wall-clock time in the department's zone. A wall-clock time can be
missing (clocks jump forward) or happen twice (clocks go back); both are caught here, in words,
and for the second the person picks which of the two they mean (PEP 495 `fold`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from enum import Enum
from typing import Any, Protocol

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicpost import forms as civic_forms
from civicpost.timelabels import clock_label, date_label, utc_offset_label


class Zoned(Protocol):
    """What LocalTimeMixin needs of a department."""

    time_zone: str

    @property
    def zone(self) -> zoneinfo.ZoneInfo: ...


EARLIER = "earlier"
LATER = "later"


class LocalTime(Enum):
    EXISTS = "exists"
    MISSING = "missing"  # in the spring-forward gap
    AMBIGUOUS = "ambiguous"  # in the fall-back fold


def classify_local_time(naive: dt.datetime, zone: zoneinfo.ZoneInfo) -> LocalTime:
    """Returns whether a wall-clock time exists once, never, or twice in the zone."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return LocalTime.EXISTS
    round_trip = first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    return LocalTime.AMBIGUOUS if round_trip == naive else LocalTime.MISSING


def fold_choice_label(naive: dt.datetime, zone: zoneinfo.ZoneInfo, fold: int) -> str:
    moment = naive.replace(tzinfo=zone, fold=fold)
    if fold == 0:
        return _("Earlier (%(abbr)s, %(offset)s): %(time)s before the clocks go back") % {
            "abbr": moment.tzname(),
            "offset": utc_offset_label(moment),
            "time": clock_label(moment),
        }
    return _("Later (%(abbr)s, %(offset)s): %(time)s after the clocks go back") % {
        "abbr": moment.tzname(),
        "offset": utc_offset_label(moment),
        "time": clock_label(moment),
    }


class DepartmentSelect(forms.Select):
    """A select whose options carry the department's time zone, shown next to the time fields."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-zone"] = instance.time_zone
        return option


def publish_date_field() -> civic_forms.DateField:
    return civic_forms.DateField(
        label=gettext_lazy("Date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={
            "required": gettext_lazy("Choose the date to publish."),
            "invalid": gettext_lazy("Enter the date as year-month-day, such as 2026-12-05."),
        },
    )


def publish_time_field() -> forms.TimeField:
    return forms.TimeField(
        label=gettext_lazy("Time"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        input_formats=["%H:%M", "%H:%M:%S"],
        error_messages={
            "required": gettext_lazy("Choose the time to publish."),
            "invalid": gettext_lazy("Enter the time as hours and minutes, such as 14:30."),
        },
    )


def fold_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=gettext_lazy("Which one do you mean?"),
        required=False,
        widget=forms.RadioSelect(attrs={"class": "usa-radio__input"}),
        choices=[(EARLIER, gettext_lazy("Earlier")), (LATER, gettext_lazy("Later"))],
    )


def post_link_field(*, help_text: str = "") -> forms.URLField:
    """The optional web address shared with a post; a bare host is read as https."""
    return forms.URLField(
        label=gettext_lazy("Link (optional)"),
        required=False,
        assume_scheme="https",
        max_length=500,
        help_text=help_text,
        error_messages={"invalid": gettext_lazy("Enter a full web address, such as https://www.example.gov/parks.")},
    )


def blackout_override_field() -> forms.CharField:
    return forms.CharField(
        label=gettext_lazy("Reason for scheduling inside a blackout (approvers only)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "Only needed when the time falls inside a blackout period, such as an election quiet period. "
            "It is kept with the post and in the audit trail."
        ),
    )


class LocalTimeMixin:
    """For forms with `publish_date`, `publish_time` and `fold` fields: reads a wall-clock time in a
    department's zone, refusing a time that does not exist and asking which one of a time that happens
    twice. Set `lenient` to keep a time that has passed (a draft being autosaved)."""

    lenient = False
    show_fold = False
    fields: dict[str, Any]
    add_error: Any  # forms.Form's

    def _offer_fold(self, naive: dt.datetime, zone: zoneinfo.ZoneInfo) -> None:
        self.show_fold = True
        self.fields["fold"].label = _("Which %(time)s do you mean?") % {"time": clock_label(naive)}
        self.fields["fold"].choices = [
            (EARLIER, fold_choice_label(naive, zone, 0)),
            (LATER, fold_choice_label(naive, zone, 1)),
        ]

    def _due_at(self, naive: dt.datetime, department: Zoned, fold: str) -> dt.datetime | None:
        zone = department.zone
        kind = classify_local_time(naive, zone)
        when = {"time": clock_label(naive), "date": date_label(naive), "zone": department.time_zone}
        if kind is LocalTime.MISSING:
            suggestion = naive.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone)
            self.add_error(
                "publish_time",
                _(
                    "%(time)s does not exist on %(date)s in %(zone)s: the clocks jump forward that night for "
                    "daylight saving time. Choose another time, such as %(suggestion)s."
                )
                % {**when, "suggestion": clock_label(suggestion)},
            )
            return None
        if kind is LocalTime.AMBIGUOUS:
            self._offer_fold(naive, zone)
            if fold not in (EARLIER, LATER):
                self.add_error(
                    "fold",
                    _(
                        "%(time)s happens twice on %(date)s in %(zone)s, because the clocks go back one hour that "
                        "night. Choose which %(time)s you mean."
                    )
                    % when,
                )
                return None
            due_at = naive.replace(tzinfo=zone, fold=1 if fold == LATER else 0)
        else:
            due_at = naive.replace(tzinfo=zone)
        due_at = due_at.astimezone(dt.UTC)
        if due_at <= timezone.now() and not self.lenient:
            self.add_error(
                "publish_time",
                _("%(time)s on %(date)s has already passed in %(zone)s. Choose a time in the future.") % when,
            )
            return None
        return due_at
