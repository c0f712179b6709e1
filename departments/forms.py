"""Forms of the departments pages: members, approval policies, city-wide roles. They write nothing."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from departments.models import CityRoleName, Role
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
        data = super().clean()
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
