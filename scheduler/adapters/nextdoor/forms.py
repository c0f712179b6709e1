"""The Nextdoor connect page asks only where the channel posts; the sign-in happens on Nextdoor."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class NextdoorForm(forms.Form):
    neighbourhood = forms.CharField(
        label=_("Neighbourhood (optional)"),
        max_length=200,
        required=False,
        help_text=_(
            "Leave it empty to post to the agency's whole service area. To post to one neighbourhood only, type its "
            "name as Nextdoor shows it, and connect another channel for each other neighbourhood."
        ),
    )
