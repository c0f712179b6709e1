"""Forms of the post page (an approver's decision, a cancellation) and of the approval queue. They write
nothing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicpost.fields import blackout_override_field
from civicpost.text import NormalizedTextFormMixin


class ReviewForm(NormalizedTextFormMixin, forms.Form):
    """An approver's decision. The comment is required to request changes, optional to approve; the
    blackout reason is asked (and shown) only for a post whose time is inside a blackout."""

    comment = forms.CharField(
        label=gettext_lazy("Comment for the author"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Required when you request changes: say what should change."),
    )
    blackout_override_reason = blackout_override_field()

    def __init__(self, *args: Any, require_comment: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.require_comment = require_comment

    def clean_comment(self) -> str:
        comment = self.cleaned_data["comment"].strip()
        if self.require_comment and not comment:
            raise forms.ValidationError(_("Say what should change, so the author knows what to fix."))
        return comment


class CancelForm(NormalizedTextFormMixin, forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("Reason (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class QueueDecisionForm(NormalizedTextFormMixin, forms.Form):
    """A decision on one or several posts of the approval queue. Which posts and which decision come from
    the button pressed (`approve_one`/`changes_one` carry a post's id; `approve_selected`/`changes_selected`
    take the ticked `post` boxes); nothing is done before `confirm` (the page's dialog, or the confirmation
    page without JavaScript)."""

    APPROVE = "approve"
    CHANGES = "changes"

    comment = forms.CharField(
        label=gettext_lazy("Comment for the author"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Required when you request changes: say what should change."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        data = self.data
        self.decision = ""
        self.ids: list[int] = []
        for name, decision in (("approve_one", self.APPROVE), ("changes_one", self.CHANGES)):
            value = str(data.get(name, "") or "")
            if value.isdigit():
                self.decision, self.ids = decision, [int(value)]
        if not self.decision:
            if data.get("changes_selected") or data.get("decision") == self.CHANGES:
                self.decision = self.CHANGES
            else:
                self.decision = self.APPROVE
            self.ids = [int(v) for v in data.getlist("post") if str(v).isdigit()] if hasattr(data, "getlist") else []
        self.ids = list(dict.fromkeys(self.ids))
        self.confirmed = str(data.get("confirm", "")) == "1"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.ids:
            raise forms.ValidationError(_("Choose at least one post first."))
        if self.confirmed and self.decision == self.CHANGES and not (cleaned.get("comment") or "").strip():
            self.add_error("comment", _("Say what should change, so the author knows what to fix."))
        return cleaned
