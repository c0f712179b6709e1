"""Forms of the connection pages that every platform shares. Each platform's own connect form is in
scheduler/adapters/<platform>/forms.py, found through its ConnectFlow. Secret fields are never pre-filled
and never echoed back."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from civicpost import forms as civic_forms
from departments.models import Department
from scheduler.adapters.base import PageChoice
from scheduler.adapters.registry import adapter_classes, connectable_platforms
from scheduler.content import language_name


def connectable_platform_choices() -> list[tuple[str, str]]:
    """Platforms that have both an installed adapter and a connect flow, in the registry's order."""
    installed = adapter_classes()
    return [(name, installed[name].label) for name in connectable_platforms()]


class ChooseForm(forms.Form):
    department = civic_forms.ModelChoiceField(
        queryset=Department.objects.none(), label=_("Department"), empty_label=None
    )
    platform = forms.ChoiceField(label=_("Platform"), widget=forms.RadioSelect)

    def __init__(self, *args, departments: list[Department], **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        cast("forms.ModelChoiceField[Department]", self.fields["department"]).queryset = Department.objects.filter(
            pk__in=[d.pk for d in departments]
        )
        self.fields["department"].help_text = _("The channel will belong to this department, not to you.")
        cast(forms.ChoiceField, self.fields["platform"]).choices = connectable_platform_choices()


class PagePickForm(forms.Form):
    page = forms.ChoiceField(label=_("Which account should this channel publish to?"), widget=forms.RadioSelect)

    def __init__(self, *args, choices: list[PageChoice], **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["page"]).choices = [
            (c.id, f"{c.name} — {c.detail}" if c.detail else c.name) for c in choices if c.usable
        ]


class ChannelLanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language of this channel"),
        required=False,
        help_text=_(
            "When the department publishes each language on its own channels, this channel gets only the "
            "version in this language. Posts already approved keep the language they were approved with."
        ),
        error_messages={"invalid_choice": _("Choose one of the department's languages.")},
    )

    def __init__(self, *args, department: Department, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["language"]).choices = [
            ("", _("Not set (the main language of each post)"))
        ] + [(code, language_name(code)) for code in department.languages or ["en"]]
