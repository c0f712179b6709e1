"""Forms of the shared calendar. Dates and times are typed in the viewer's zone (the calendar's zone); a
time that does not exist (clocks jump forward) is refused in words; a time that happens twice (clocks go
back) means the earlier one unless the form says `fold=later`."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any, cast

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicpost import forms as civic_forms
from civicpost.text import NormalizedTextFormMixin
from departments.models import Department
from scheduler.forms import EARLIER, LATER, LocalTime, classify_local_time
from scheduler.templatetags.civic_time import clock_label, date_label

CITY_WIDE = ""


def local_instant(
    form: forms.Form, *, date_field: str, time_field: str, zone: zoneinfo.ZoneInfo, fold: str = ""
) -> dt.datetime | None:
    """Returns the UTC instant of a date and wall-clock time in `zone`, or adds an error and returns None."""
    date, time = form.cleaned_data.get(date_field), form.cleaned_data.get(time_field)
    if date is None or time is None:
        return None
    naive = dt.datetime.combine(date, time)
    kind = classify_local_time(naive, zone)
    if kind is LocalTime.MISSING:
        suggestion = naive.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone)
        form.add_error(
            time_field,
            _(
                "%(time)s does not exist on %(date)s in %(zone)s: the clocks jump forward that night. "
                "Choose another time, such as %(suggestion)s."
            )
            % {
                "time": clock_label(naive),
                "date": date_label(naive),
                "zone": zone.key,
                "suggestion": clock_label(suggestion),
            },
        )
        return None
    local = naive.replace(tzinfo=zone, fold=1 if kind is LocalTime.AMBIGUOUS and fold == LATER else 0)
    return local.astimezone(dt.UTC)


class RescheduleForm(forms.Form):
    date = civic_forms.DateField(
        label=gettext_lazy("New date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={
            "required": gettext_lazy("Choose the new date."),
            "invalid": gettext_lazy("Enter the date as year-month-day, such as 2026-12-05."),
        },
    )
    time = forms.TimeField(
        label=gettext_lazy("New time"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        input_formats=["%H:%M", "%H:%M:%S"],
        error_messages={
            "required": gettext_lazy("Choose the new time."),
            "invalid": gettext_lazy("Enter the time as hours and minutes, such as 14:30."),
        },
    )
    fold = forms.ChoiceField(
        required=False, choices=[("", ""), (EARLIER, EARLIER), (LATER, LATER)], widget=forms.HiddenInput
    )
    override_reason = forms.CharField(
        label=gettext_lazy("Reason for scheduling inside a blackout (approvers only)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, zone: zoneinfo.ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        due_at = local_instant(
            self, date_field="date", time_field="time", zone=self.zone, fold=cleaned.get("fold") or ""
        )
        if due_at is not None:
            cleaned["due_at"] = due_at
        return cleaned

    def first_error(self) -> str:
        for errors in self.errors.values():
            for error in errors:
                return str(error)
        return _("Check the date and time.")


class BlackoutForm(NormalizedTextFormMixin, forms.Form):
    department = forms.ChoiceField(label=gettext_lazy("Applies to"))
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=200,
        help_text=gettext_lazy("Shown on the calendar, such as “Election quiet period” or “Day of mourning”."),
        error_messages={"required": gettext_lazy("Say why nothing should go out.")},
    )
    start_date = civic_forms.DateField(
        label=gettext_lazy("Starts on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"required": gettext_lazy("Choose the first day."), "invalid": gettext_lazy("Enter a date.")},
    )
    start_time = forms.TimeField(
        label=gettext_lazy("Starts at"),
        initial=dt.time(0, 0),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        input_formats=["%H:%M", "%H:%M:%S"],
        error_messages={"required": gettext_lazy("Choose the start time."), "invalid": gettext_lazy("Enter a time.")},
    )
    end_date = civic_forms.DateField(
        label=gettext_lazy("Ends on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"required": gettext_lazy("Choose the last day."), "invalid": gettext_lazy("Enter a date.")},
    )
    end_time = forms.TimeField(
        label=gettext_lazy("Ends at"),
        initial=dt.time(23, 59),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        input_formats=["%H:%M", "%H:%M:%S"],
        error_messages={"required": gettext_lazy("Choose the end time."), "invalid": gettext_lazy("Enter a time.")},
    )

    def __init__(
        self, *args: Any, departments: list[Department], city_wide: bool, zone: zoneinfo.ZoneInfo, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.departments = {str(d.pk): d for d in departments}
        choices = [(CITY_WIDE, _("The whole city"))] if city_wide else []
        choices += [(str(d.pk), d.name) for d in departments]
        cast(forms.ChoiceField, self.fields["department"]).choices = choices
        # "" is the whole city, so the field may be empty only for those who may add city-wide blackouts.
        self.fields["department"].required = not city_wide

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        starts_at = local_instant(self, date_field="start_date", time_field="start_time", zone=self.zone)
        ends_at = local_instant(self, date_field="end_date", time_field="end_time", zone=self.zone)
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("end_time", _("The blackout must end after it starts."))
        cleaned["starts_at"], cleaned["ends_at"] = starts_at, ends_at
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        choice = self.cleaned_data["department"]
        return {
            "department": self.departments.get(choice) if choice != CITY_WIDE else None,
            "starts_at": self.cleaned_data["starts_at"],
            "ends_at": self.cleaned_data["ends_at"],
            "reason": self.cleaned_data["reason"],
        }
