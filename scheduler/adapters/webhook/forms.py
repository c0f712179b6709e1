"""The webhook connect form. The address is never shown again: chat webhook URLs carry their own secret."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

WEBHOOK_FORMATS = [
    ("standard", _("Standard Webhooks JSON (a city system, Zapier, your own receiver)")),
    ("slack", _("Slack incoming webhook")),
    ("discord", _("Discord webhook")),
    ("teams", _("Microsoft Teams workflow webhook")),
]


class SecretURLInput(forms.URLInput):
    """A URL field that is never rendered with its value: chat webhook URLs carry their own secret."""

    def format_value(self, value: object) -> None:
        return None


class WebhookForm(forms.Form):
    display_name = forms.CharField(
        label=_("Name of the channel"), max_length=120, help_text=_("For example “Parks page of the city CMS”.")
    )
    url = forms.CharField(
        label=_("Webhook address"),
        max_length=2000,
        help_text=_("The https:// address that receives the posts. It is kept encrypted and never shown again."),
        widget=SecretURLInput(attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"}),
    )
    payload_format = forms.ChoiceField(
        label=_("Receiver"), choices=WEBHOOK_FORMATS, initial="standard", widget=forms.RadioSelect
    )
