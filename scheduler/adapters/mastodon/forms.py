"""The Mastodon connect page asks for the server; the sign-in happens there."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class MastodonForm(forms.Form):
    instance_url = forms.CharField(
        label=_("Mastodon server"),
        max_length=300,
        help_text=_("The address of the server the account is on, for example https://mastodon.social."),
        widget=forms.URLInput(attrs={"spellcheck": "false", "inputmode": "url", "autocomplete": "url"}),
    )
