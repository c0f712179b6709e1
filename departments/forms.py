"""Forms of the departments pages: members, approval policies, city-wide roles, department settings. They
write nothing."""

from __future__ import annotations

import zoneinfo
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy

from departments.models import CityRoleName, Department, LanguagePublishing, Role, SeriesApproval
from departments.selectors import language_choices
from departments.services import ALWAYS_LANGUAGE, PLAIN_LANGUAGE_GRADES


class MemberAddForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email address of their account"))
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices, initial=Role.EDITOR)


class MemberImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "Two columns with the header “email,role”; role is editor, approver or admin. UTF-8 text, up to 500 "
            "rows and 1 MB."
        ),
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={"required": gettext_lazy("Choose the CSV file to check.")},
    )


class MemberImportConfirmForm(forms.Form):
    """The good rows of the checked file, sent back to be added (checked again: nothing here is trusted)."""

    rows = forms.CharField(widget=forms.HiddenInput, max_length=1024 * 1024, strip=False)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)


class CityRoleForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email address of their account"))
    role = forms.ChoiceField(
        label=gettext_lazy("City-wide role"),
        choices=[("", gettext_lazy("None"))] + list(CityRoleName.choices),
        required=False,
    )
    can_post_emergency = forms.BooleanField(
        label=gettext_lazy("May publish emergency posts (authorised official)"), required=False
    )


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class DepartmentSettingsForm(forms.Form):
    """The department's content settings. English is always one of its languages, so it is not a box to
    tick; the service checks everything again."""

    languages = forms.MultipleChoiceField(
        label=gettext_lazy("Languages besides English"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "usa-checkbox__input"}),
        help_text=gettext_lazy(
            "Posts can carry a version in each language ticked here, written or checked by a person. "
            "English is always on."
        ),
        error_messages={"invalid_choice": gettext_lazy("CivicPost does not know the language code “%(value)s”.")},
    )
    main_language = forms.ChoiceField(
        label=gettext_lazy("Main language"),
        help_text=gettext_lazy(
            "The language a post is written in first; the others are versions of it. English or one of the "
            "languages ticked above."
        ),
        error_messages={"invalid_choice": gettext_lazy("CivicPost does not know the language code “%(value)s”.")},
    )
    language_publishing = forms.ChoiceField(
        label=gettext_lazy("Where language versions are published"),
        choices=LanguagePublishing.choices,
        widget=forms.RadioSelect(attrs={"class": "usa-radio__input"}),
        help_text=gettext_lazy("Set each channel's language on the channel's page."),
    )
    plain_language_grade = forms.IntegerField(
        label=gettext_lazy("Plain-language target (US school grade)"),
        min_value=PLAIN_LANGUAGE_GRADES[0],
        max_value=PLAIN_LANGUAGE_GRADES[-1],
        help_text=gettext_lazy(
            "The composer asks writers to stay at or below this reading grade. Grade 8 suits most public notices."
        ),
        # A text box, not type=number: browsers drop what a number box cannot parse, and the writer's
        # typing must come back with the message.
        widget=forms.TextInput(attrs={"inputmode": "numeric", "size": "3"}),
        error_messages={
            "required": gettext_lazy("Give the reading grade, such as 8."),
            "invalid": gettext_lazy("Give the grade as a whole number, such as 8."),
        },
    )
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        help_text=gettext_lazy("Times in CivicPost are shown for the department in this zone."),
        error_messages={"invalid_choice": gettext_lazy("“%(value)s” is not a known time zone.")},
    )
    series_approval = forms.ChoiceField(
        label=gettext_lazy("Approval of recurring series"),
        choices=SeriesApproval.choices,
        widget=forms.RadioSelect(attrs={"class": "usa-radio__input"}),
    )

    def __init__(self, *args: Any, department: Department, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = language_choices(department=department)
        cast(forms.ChoiceField, self.fields["languages"]).choices = [
            (code, name) for code, name in choices if code != ALWAYS_LANGUAGE
        ]
        cast(forms.ChoiceField, self.fields["main_language"]).choices = choices
        cast(forms.ChoiceField, self.fields["time_zone"]).choices = time_zone_choices()

    @staticmethod
    def initial_for(department: Department) -> dict[str, Any]:
        return {
            "languages": [code for code in department.languages or [] if code != ALWAYS_LANGUAGE],
            "main_language": department.main_language,
            "language_publishing": department.language_publishing,
            "plain_language_grade": department.plain_language_grade,
            "time_zone": department.time_zone,
            "series_approval": department.series_approval,
        }
