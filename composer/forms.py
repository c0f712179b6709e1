"""Forms of the composer's pages (templates, recurring series, CSV import). They clean input only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicpost import forms as civic_forms
from civicpost.text import NormalizedTextFormMixin
from composer.models import Frequency, PostTemplate
from composer.post_templates import placeholder_label, template_placeholders
from departments.models import Department
from departments.selectors import departments_user_can_post_for
from scheduler.forms import (
    ChannelChoiceField,
    DepartmentSelect,
    LocalTimeMixin,
    fold_field,
    post_link_field,
    publish_date_field,
    publish_time_field,
)
from scheduler.models import Channel
from scheduler.selectors import channels_for_user

CHANNEL_ERRORS = {
    "required": gettext_lazy("Choose at least one channel."),
    "invalid_choice": gettext_lazy("Choose only your department's own channels."),
    "invalid_pk_value": gettext_lazy("Choose channels from the list."),
}


def _department_field() -> civic_forms.ModelChoiceField:
    return civic_forms.ModelChoiceField(
        queryset=Department.objects.none(),
        label=gettext_lazy("Department"),
        widget=DepartmentSelect(),
        empty_label=gettext_lazy("- Choose a department -"),
        error_messages={
            "required": gettext_lazy("Choose the department."),
            "invalid_choice": gettext_lazy("You can only choose departments you belong to."),
        },
    )


class _DepartmentChannelsMixin:
    """Limits `department` and `channels` to the person's own departments, and keeps them together."""

    fields: dict[str, Any]
    add_error: Any

    def _limit(self, user: User, department: Department | None = None) -> None:
        departments = departments_user_can_post_for(user=user)
        if "department" in self.fields:
            field = self.fields["department"]
            field.queryset = Department.objects.filter(pk__in=[d.pk for d in departments])
            if len(departments) == 1:
                field.empty_label = None
                field.initial = departments[0].pk
        channels = channels_for_user(user=user)
        if department is not None:
            channels = channels.filter(department=department)
        self.fields["channels"].queryset = channels.order_by("department__name", "display_name")
        self.fields["channels"].widget.attrs["class"] = "usa-checkbox__input"

    def _check_channels(self, department: Department | None, channels: Any) -> None:
        if department is None or not channels:
            return
        foreign = [channel for channel in channels if channel.department_id != department.pk]
        if foreign:
            self.add_error(
                "channels",
                _("%(channels)s is not a channel of %(department)s.")
                % {"channels": ", ".join(c.display_name for c in foreign), "department": department.name},
            )


class PostTemplateForm(NormalizedTextFormMixin, _DepartmentChannelsMixin, forms.Form):
    department = _department_field()
    name = forms.CharField(
        label=gettext_lazy("Name of the template"),
        max_length=120,
        error_messages={"required": gettext_lazy("Give the template a name, such as “Trash pickup moved”.")},
    )
    text = forms.CharField(
        label=gettext_lazy("Text"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy(
            "Put a short name in curly brackets where the text changes each time, such as "
            "“Trash pickup moves to {day} this week.”"
        ),
        error_messages={"required": gettext_lazy("Write the text of the template.")},
    )
    link = post_link_field()
    channels = ChannelChoiceField(
        queryset=Channel.objects.none(),
        label=gettext_lazy("Channels chosen at first (optional)"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        error_messages=CHANNEL_ERRORS,
    )

    def __init__(self, *args: Any, user: User, template: PostTemplate | None = None, **kwargs: Any):
        if template is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": template.name,
                "text": template.text,
                "link": template.link,
                "channels": template.channel_ids,
            }
        super().__init__(*args, **kwargs)
        self.template = template
        if template is not None:
            del self.fields["department"]
        self._limit(user, template.department if template else None)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        department = self.template.department if self.template else cleaned.get("department")
        self._check_channels(department, cleaned.get("channels"))
        return cleaned


class TemplateUseForm(NormalizedTextFormMixin, LocalTimeMixin, _DepartmentChannelsMixin, forms.Form):
    """Fill in a template's placeholders and choose when: makes a draft."""

    channels = ChannelChoiceField(
        queryset=Channel.objects.none(),
        label=gettext_lazy("Channels"),
        widget=forms.CheckboxSelectMultiple,
        error_messages=CHANNEL_ERRORS,
    )
    publish_date = publish_date_field()
    publish_time = publish_time_field()
    fold = fold_field()

    def __init__(self, *args: Any, user: User, template: PostTemplate, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"channels": template.channel_ids})
        super().__init__(*args, **kwargs)
        self.template = template
        self.placeholders = template_placeholders(template.text)
        for name in self.placeholders:
            self.fields[f"value_{name}"] = forms.CharField(
                label=placeholder_label(name),
                max_length=500,
                error_messages={"required": _("Fill in “%(name)s”.") % {"name": placeholder_label(name)}},
            )
        self.order_fields([f"value_{name}" for name in self.placeholders])
        self._limit(user, template.department)

    @property
    def placeholder_fields(self) -> list[forms.BoundField]:
        return [self[f"value_{name}"] for name in self.placeholders]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        self._check_channels(self.template.department, cleaned.get("channels"))
        date, time = cleaned.get("publish_date"), cleaned.get("publish_time")
        if date is not None and time is not None:
            cleaned["due_at"] = self._due_at(
                dt.datetime.combine(date, time), self.template.department, cleaned.get("fold") or ""
            )
        return cleaned

    def values(self) -> dict[str, str]:
        return {name: self.cleaned_data[f"value_{name}"] for name in self.placeholders}


class SeriesForm(NormalizedTextFormMixin, _DepartmentChannelsMixin, forms.Form):
    department = _department_field()
    text = forms.CharField(
        label=gettext_lazy("Text of each post"),
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": gettext_lazy("Write the text of the post.")},
    )
    link = post_link_field()
    channels = ChannelChoiceField(
        queryset=Channel.objects.none(),
        label=gettext_lazy("Channels"),
        widget=forms.CheckboxSelectMultiple,
        error_messages=CHANNEL_ERRORS,
    )
    frequency = forms.ChoiceField(
        label=gettext_lazy("Repeats"),
        choices=Frequency.choices,
        widget=forms.RadioSelect(attrs={"class": "usa-radio__input"}),
        initial=Frequency.WEEKLY,
    )
    interval = forms.IntegerField(
        label=gettext_lazy("Every how many weeks or months"),
        min_value=1,
        max_value=12,
        initial=1,
        error_messages={"min_value": gettext_lazy("Enter 1 or more."), "max_value": gettext_lazy("Enter 12 or less.")},
    )
    start_date = publish_date_field()
    local_time = publish_time_field()
    until = civic_forms.DateField(
        label=gettext_lazy("Last date (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": gettext_lazy("Enter the date as year-month-day, such as 2026-12-05.")},
    )
    count = forms.IntegerField(
        label=gettext_lazy("Or: how many posts (optional)"),
        required=False,
        min_value=1,
        max_value=104,
        error_messages={
            "min_value": gettext_lazy("Enter 1 or more."),
            "max_value": gettext_lazy("A series has at most 104 posts."),
        },
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["start_date"].label = _("First date")
        self.fields["local_time"].label = _("Time")
        self._limit(user)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        self._check_channels(cleaned.get("department"), cleaned.get("channels"))
        if not self.errors and cleaned.get("until") is None and cleaned.get("count") is None:
            self.add_error("until", _("Say when the series ends: a last date or a number of posts."))
        return cleaned


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy("UTF-8 text, up to 2,000 rows and 5 MB."),
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={"required": gettext_lazy("Choose the CSV file to import.")},
    )
