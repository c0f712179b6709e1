"""The city feed's connect form: only a name."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class FeedForm(forms.Form):
    display_name = forms.CharField(
        label=_("Name of the feed"),
        max_length=120,
        help_text=_("Shown to staff when they choose channels, for example “Parks news on the city website”."),
    )
