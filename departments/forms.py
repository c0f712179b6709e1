"""Forms of the departments pages: members, approval policies, city-wide roles, department settings. They
write nothing."""

from __future__ import annotations

import re
import zoneinfo
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from departments.models import CityRoleName, Department, LanguagePublishing, Role, SeriesApproval
from departments.selectors import language_choices
from departments.services import ALWAYS_LANGUAGE, PLAIN_LANGUAGE_GRADES
from governance.models import ApprovalMode


class MemberAddForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email address of their account"))
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices, initial=Role.EDITOR)


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


class ApprovalStepForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name of the step"), max_length=100, help_text=gettext_lazy("Such as “Department review”.")
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("Who must approve"), choices=ApprovalMode.choices, widget=forms.RadioSelect, initial="any"
    )
    department_approvers = forms.BooleanField(label=gettext_lazy("Approvers of the department"), required=False)
    department_admins = forms.BooleanField(label=gettext_lazy("Admins of the department"), required=False)
    communications_managers = forms.BooleanField(label=gettext_lazy("Communications managers"), required=False)
    user_emails = forms.CharField(
        label=gettext_lazy("Named people"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Email addresses of their accounts, separated by commas or new lines."),
    )

    def clean_user_emails(self) -> list[Any]:
        emails = [e for e in re.split(r"[\s,;]+", self.cleaned_data["user_emails"]) if e]
        users = list(get_user_model().objects.filter(email__in=emails, is_active=True))
        found = {u.email.lower() for u in users}
        missing = [e for e in emails if e.lower() not in found]
        if missing:
            raise forms.ValidationError(
                _("No active account has these addresses: %(emails)s") % {"emails": ", ".join(missing)}
            )
        return users

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        named = data.get("user_emails") or []
        if (
            not (
                data.get("department_approvers")
                or data.get("department_admins")
                or data.get("communications_managers")
                or named
            )
            and "user_emails" not in self.errors
        ):
            raise forms.ValidationError(_("Say who approves this step."))
        return data


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
