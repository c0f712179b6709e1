"""Forms of the archive pages: filters and records requests, retention schedules, legal holds, retraction."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from archive.exports import ExportFilters
from archive.models import EntryKind, RetentionTrigger
from civicpost.fields import DateField, ModelChoiceField, ModelMultipleChoiceField
from departments.models import Department
from scheduler.models import Channel


def _keywords(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


class RecordsFilterForm(forms.Form):
    """What part of the archive to see or export. Dates are days in the city's time zone, both included."""

    date_from = DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    departments = ModelMultipleChoiceField(
        label=_("Departments"), queryset=Department.objects.order_by("name"), required=False
    )
    channels = ModelMultipleChoiceField(
        label=_("Channels"),
        queryset=Channel.objects.select_related("department").order_by("display_name"),
        required=False,
    )
    keywords = forms.CharField(
        label=_("Keywords"),
        required=False,
        max_length=300,
        help_text=_("Separate keywords with commas. Posts and comments containing any of them match."),
    )

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> ExportFilters:
        data = self.cleaned_data
        return ExportFilters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            department_ids=tuple(d.pk for d in data.get("departments") or ()),
            channel_ids=tuple(c.pk for c in data.get("channels") or ()),
            keywords=_keywords(data.get("keywords") or ""),
        )


class ArchiveSearchForm(RecordsFilterForm):
    kind = forms.ChoiceField(label=_("Kind of record"), required=False, choices=[("", _("Any")), *EntryKind.choices])


class ExportRequestForm(RecordsFilterForm):
    reference = forms.CharField(
        label=_("Request reference"),
        required=False,
        max_length=120,
        help_text=_("The number of the public-records request, shown in the bundle."),
    )


class RetentionScheduleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    citation = forms.CharField(
        label=_("Citation"), max_length=200, help_text=_("The state schedule and item number this applies.")
    )
    period_years = forms.IntegerField(label=_("Years"), min_value=0, max_value=100, initial=0)
    period_months = forms.IntegerField(label=_("Months"), min_value=0, max_value=11, initial=0)
    trigger = forms.ChoiceField(label=_("Counted from"), choices=RetentionTrigger.choices)
    departments = ModelMultipleChoiceField(
        label=_("Departments"), queryset=Department.objects.order_by("name"), required=False
    )
    channels = ModelMultipleChoiceField(
        label=_("Channels (overrides their department's schedule)"),
        queryset=Channel.objects.select_related("department").order_by("display_name"),
        required=False,
    )


class LegalHoldForm(forms.Form):
    case_reference = forms.CharField(label=_("Case reference"), max_length=120)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    department = ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.order_by("name"),
        required=False,
        empty_label=_("Every department"),
    )
    channel = ModelChoiceField(
        label=_("Channel"),
        queryset=Channel.objects.order_by("display_name"),
        required=False,
        empty_label=_("Every channel"),
    )
    starts_on = DateField(label=_("Records from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = DateField(label=_("Records until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    search_terms = forms.CharField(
        label=_("Search terms"),
        required=False,
        max_length=300,
        help_text=_("Separate terms with commas; leave empty to hold every matching record."),
    )


class RetractForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is this post retracted?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Part of the public record, shown on the transparency page."),
    )
    correction_text = forms.CharField(
        label=_("Correction to publish (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Goes to the same channels after the usual approval."),
    )
