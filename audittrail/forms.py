"""The audit trail's filters, read from the address (GET), so a filtered page can be bookmarked, shared and
exported as it is. Dates are days in the viewer's zone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audittrail.presentation import action_choices, target_type_choices
from audittrail.selectors import AuditFilters
from civicpost import forms as civic_forms
from departments.models import Department

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

DATE_INPUT = {"type": "date"}


def _date_field(label: StrOrPromise) -> civic_forms.DateField:
    return civic_forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": gettext_lazy("Enter the date as year-month-day, such as 2026-12-05.")},
    )


class AuditFilterForm(forms.Form):
    # An id, not a choice among the viewer's departments: whether the viewer may see that department is
    # the selector's to decide (404), so a forged value is refused where the scope is enforced.
    department = forms.IntegerField(
        label=gettext_lazy("Department"),
        required=False,
        min_value=1,
        max_value=civic_forms.MAX_ID,
        widget=forms.Select,
        error_messages={
            "invalid": gettext_lazy("Choose a department from the list."),
            "min_value": gettext_lazy("Choose a department from the list."),
            "max_value": gettext_lazy("Choose a department from the list."),
        },
    )
    actor = forms.CharField(
        label=gettext_lazy("Who"),
        required=False,
        max_length=254,
        help_text=gettext_lazy('An email address or part of one; "system" for what CivicPost did by itself.'),
    )
    action = forms.ChoiceField(label=gettext_lazy("What happened"), required=False)
    target_type = forms.ChoiceField(label=gettext_lazy("Object type"), required=False)
    target_id = forms.CharField(
        label=gettext_lazy("Object number"),
        required=False,
        max_length=64,
        help_text=gettext_lazy("Such as a post's number, shown in its address: /posts/42/ is 42."),
    )
    date_from = _date_field(gettext_lazy("From (date)"))
    date_to = _date_field(gettext_lazy("To (date, included)"))
    q = forms.CharField(
        label=gettext_lazy("Search the details"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Words in the message or in what changed, such as a post's text."),
    )

    def __init__(self, *args: Any, departments: list[Department], all_departments: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.departments = departments
        self.all_departments = all_departments
        everything = _("All events") if all_departments else _("All my departments")
        self.fields["department"].widget.choices = [("", everything)] + [(d.pk, d.name) for d in departments]
        cast(forms.ChoiceField, self.fields["action"]).choices = [("", _("Any action"))] + action_choices()
        cast(forms.ChoiceField, self.fields["target_type"]).choices = [("", _("Any object"))] + target_type_choices()

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def filters(self) -> AuditFilters:
        """The valid filters (call after is_valid())."""
        data = self.cleaned_data
        return AuditFilters(
            department_id=data.get("department"),
            actor=(data.get("actor") or "").strip(),
            action=data.get("action") or "",
            target_type=data.get("target_type") or "",
            target_id=(data.get("target_id") or "").strip(),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            text=(data.get("q") or "").strip(),
        )
