"""The Bluesky connect form: handle and an app password (never pre-filled, never echoed back)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class BlueskyForm(forms.Form):
    handle = forms.CharField(
        label=_("Bluesky handle"),
        max_length=253,
        help_text=_("For example parks.cityname.gov or cityparks.bsky.social."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "spellcheck": "false", "autocapitalize": "none"}),
    )
    app_password = forms.CharField(
        label=_("App password"),
        max_length=100,
        strip=True,
        help_text=_(
            "Create one in Bluesky under Settings → Privacy and security → App passwords. Never use the "
            "account's main password."
        ),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
    )
    service_url = forms.CharField(
        label=_("Bluesky server (optional)"),
        max_length=300,
        required=False,
        help_text=_("Leave empty for accounts on bsky.social. Only for accounts on their own server (PDS)."),
        widget=forms.URLInput(attrs={"spellcheck": "false", "inputmode": "url"}),
    )
