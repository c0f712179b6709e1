"""The inbox's forms. They check shapes only; the rules are in inbox.services."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from departments.models import Department
from inbox.models import ItemStatus, ModerationKind, PolicyClause

STATUS_FILTERS = [
    ("", _("Open (new and assigned)")),
    *ItemStatus.choices,
    ("all", _("All")),
]


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.get_username())


class MembersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.get_username())


def _set_choices(form: forms.Form, name: str, choices: list[tuple[str, str]]) -> None:
    cast(forms.ChoiceField, form.fields[name]).choices = choices


class InboxFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_FILTERS, required=False)
    q = forms.CharField(label=_("Search text or author"), required=False, max_length=200)
    mine = forms.BooleanField(label=_("Assigned to me"), required=False)
    urgent = forms.BooleanField(label=_("Urgent only"), required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000, widget=forms.HiddenInput)


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    language = forms.ChoiceField(label=_("Language"), required=False)

    def __init__(self, *args: Any, languages: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "language", languages)


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Internal note"),
        help_text=_("Only people in CivicPost see it."),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )


class AssignForm(forms.Form):
    assignee = MemberChoiceField(
        label=_("Assign to"), queryset=get_user_model().objects.none(), required=False, empty_label=_("Nobody")
    )

    def __init__(self, *args: Any, department: Department, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        field.queryset = (
            get_user_model().objects.filter(memberships__department=department, is_active=True).order_by("username")
        )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=[(ItemStatus.CLOSED, _("Close")), ("reopen", _("Open again"))])


class ModerateForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), choices=[])
    clause = forms.ModelChoiceField(
        label=_("Policy clause"),
        queryset=PolicyClause.objects.filter(active=True),
        help_text=_("The clause of the city's social media policy this comment breaks."),
    )
    note = forms.CharField(
        label=_("Note for the record"),
        help_text=_("Why this comment breaks the clause. It is kept with the action."),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(ModerationKind.choices)
        _set_choices(self, "action", [(action, str(labels[action])) for action in actions])


class UndoForm(forms.Form):
    clause = forms.ModelChoiceField(label=_("Policy clause"), queryset=PolicyClause.objects.filter(active=True))
    note = forms.CharField(label=_("Note for the record"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class InboxSettingsForm(forms.Form):
    replies_need_approval = forms.BooleanField(
        label=_("Replies to residents need approval"),
        required=False,
        help_text=_("Off: a reply goes out at once, recorded as approved automatically."),
    )
    response_target_hours = forms.IntegerField(
        label=_("Response-time target (hours)"), min_value=1, max_value=24 * 30, initial=24
    )
    paid_reads_enabled = forms.BooleanField(
        label=_("Read replies on platforms that bill every read (X)"),
        required=False,
        initial=True,
        help_text=_("Each read counts against the department's monthly budget of paid reads, shared with analytics."),
    )
    urgency_keywords = forms.CharField(
        label=_("Urgency keywords"),
        help_text=_("One word or phrase a line, e.g. fire, flooding, gas leak."),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=5000,
    )
    watchers = MembersChoiceField(
        label=_("Tell these members about urgent items at once"),
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, department: Department, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["watchers"]
        assert isinstance(field, forms.ModelMultipleChoiceField)  # noqa: S101 - declared above
        field.queryset = (
            get_user_model().objects.filter(memberships__department=department, is_active=True).order_by("username")
        )

    def keywords(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["urgency_keywords"].splitlines() if line.strip()]


class SavedReplyForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    language = forms.ChoiceField(label=_("Language"))
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)

    def __init__(self, *args: Any, languages: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "language", languages)


class ClauseForm(forms.Form):
    number = forms.CharField(label=_("Number"), max_length=20, help_text=_('As the policy numbers it, e.g. "4.2".'))
    title = forms.CharField(label=_("Title"), max_length=200)
    text = forms.CharField(label=_("Words of the clause"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
