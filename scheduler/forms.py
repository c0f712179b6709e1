"""Forms of the post page: an approver's decision and a cancellation. They write nothing."""

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
