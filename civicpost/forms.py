"""Form fields and small parsers for values that come from people (forms, filters in the address).

Two kinds of typed value used to reach the database or the calendar arithmetic unchecked and answer a server
error instead of a message (issue 11, items 9 and 10):

- ids: `99999999999999999999999` does not fit the database's integer column (PostgreSQL and SQLite refuse
  the query). An id outside `1..MAX_ID` names nothing, so it is refused like any unknown choice.
- dates: `9999-12-31 23:59` in a zone west of UTC is in the year 10000 in UTC, which Python cannot represent
  ("date value out of range"); the calendar adds a month or a week to the day it shows. CivicPost schedules
  posts and reads its own audit trail, so a day outside `MIN_DATE..MAX_DATE` (2000–2100) is a typing
  mistake: refused with a message, far from the limits where arithmetic overflows.

`safe_next_path` is the one way a `next` address typed or linked by someone is followed (item 11).

Imports no feature app.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy

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
