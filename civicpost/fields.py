"""Form fields and small parsers for values that come from people (forms, filters in the address), shared
by every app's forms. Imports no feature app.

Dates and times: a wall-clock date and time in a department's zone can be missing (clocks jump forward) or
happen twice (clocks go back); both are caught here, in words, and for the second the person picks which of
the two they mean (PEP 495 `fold`). Also a post's link and a blackout reason.

Two kinds of typed value used to reach the database or the calendar arithmetic unchecked and answer a server
error instead of a message (issue 11, items 9 and 10):

- ids: `99999999999999999999999` does not fit the database's integer column (PostgreSQL and SQLite refuse
  the query). An id outside `1..MAX_ID` names nothing, so it is refused like any unknown choice.
- dates: `9999-12-31 23:59` in a zone west of UTC is in the year 10000 in UTC, which Python cannot represent
  ("date value out of range"); the calendar adds a month or a week to the day it shows. CivicPost schedules
  posts and reads its own audit trail, so a day outside `MIN_DATE..MAX_DATE` (2000–2100) is a typing
  mistake: refused with a message, far from the limits where arithmetic overflows.

`safe_next_path` is the one way a `next` address typed or linked by someone is followed (item 11).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicpost.timelabels import clock_label, date_label, utc_offset_label

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Every table's key is a BigAutoField (settings.DEFAULT_AUTO_FIELD): a signed 64-bit integer.
MAX_ID = 2**63 - 1
MIN_DATE = dt.date(2000, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)

DATE_OUT_OF_RANGE = gettext_lazy("Enter a date between %(first)s and %(last)s.")


def parse_id(value: Any) -> int | None:
    """Returns the value as a database id, or None when it is not a whole number from 1 to MAX_ID."""
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_ID else None


def date_in_range(value: dt.date | None) -> bool:
    if value is None:
        return True
    day = value.date() if isinstance(value, dt.datetime) else value
    return MIN_DATE <= day <= MAX_DATE


def parse_date(value: Any) -> dt.date | None:
    """Returns an ISO date (year-month-day) from MIN_DATE to MAX_DATE, or None for anything else."""
    try:
        day = dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    return day if date_in_range(day) else None


def validate_date_in_range(value: dt.date | None) -> None:
    """Raises ValidationError for a day outside MIN_DATE..MAX_DATE (see the module docstring)."""
    if not date_in_range(value):
        raise ValidationError(
            DATE_OUT_OF_RANGE,
            code="date_out_of_range",
            params={"first": MIN_DATE.isoformat(), "last": MAX_DATE.isoformat()},
        )


class DateField(forms.DateField):
    """A DateField that refuses days outside MIN_DATE..MAX_DATE with a message."""

    default_validators = [validate_date_in_range]


class _IdRangeMixin:
    """Refuses values that cannot be a row's id before they reach the database."""

    error_messages: dict[str, Any]
    to_field_name: str | None

    def _refuse_if_not_an_id(self, value: Any, code: str, params: dict[str, Any]) -> None:
        if self.to_field_name or value in (None, "") or isinstance(value, dict | list | tuple):
            return
        if hasattr(value, "pk"):
            return
        if parse_id(value) is None:
            raise ValidationError(self.error_messages[code], code=code, params=params)


class ModelChoiceField(_IdRangeMixin, forms.ModelChoiceField):
    """A ModelChoiceField for which a malformed or out-of-range id is an unknown choice, not a server error."""

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values:
            self._refuse_if_not_an_id(value, "invalid_choice", {"value": value})
        return super().to_python(value)


class ModelMultipleChoiceField(_IdRangeMixin, forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField for which a malformed or out-of-range id is refused with a message."""

    def _check_values(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            for pk in value:
                self._refuse_if_not_an_id(pk, "invalid_pk_value", {"pk": str(pk)[:40]})
        return super()._check_values(value)  # type: ignore[misc]  # Django's own hook, absent from the stubs


def safe_next_path(request: HttpRequest, value: Any) -> str:
    """Returns `value` when it is a path on this site (such as "/calendar/?month=2026-12"), else "". A
    `next` that a person or a link supplies is only ever used as a path: never as a view name for
    redirect() (which raises NoReverseMatch on "foo"), never to another host or scheme."""
    target = value if isinstance(value, str) else ""
    if (
        target.startswith("/")
        and not target.startswith("//")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return ""


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


def publish_date_field() -> DateField:
    return DateField(
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


def post_link_field(*, help_text: StrOrPromise = "") -> forms.URLField:
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
