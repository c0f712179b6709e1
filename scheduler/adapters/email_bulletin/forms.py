"""The e-mail bulletin connect form: the service, where it is, the login (kept encrypted, never shown again) and
the list or topic the bulletins go to."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from scheduler.adapters.email_bulletin.services import mailchimp_data_centre

SERVICE_CHOICES = [
    ("govdelivery", _("Granicus GovDelivery (Communications Cloud)")),
    ("mailchimp", _("Mailchimp")),
    ("listmonk", _("Listmonk (the city's own server)")),
]
ENVIRONMENT_CHOICES = [("production", _("Production (api.govdelivery.com)")), ("staging", _("Staging (for testing)"))]


class EmailBulletinForm(forms.Form):
    display_name = forms.CharField(
        label=_("Name of the channel"), max_length=120, help_text=_("For example “Parks news by e-mail”.")
    )
    service = forms.ChoiceField(label=_("E-mail service"), choices=SERVICE_CHOICES, widget=forms.RadioSelect)
    server_url = forms.CharField(
        label=_("Listmonk address"),
        max_length=300,
        required=False,
        help_text=_("Listmonk only: the https:// address of the city's Listmonk server."),
        widget=forms.URLInput(attrs={"spellcheck": "false", "inputmode": "url"}),
    )
    environment = forms.ChoiceField(
        label=_("GovDelivery environment"), choices=ENVIRONMENT_CHOICES, initial="production", required=False
    )
    account_code = forms.CharField(
        label=_("GovDelivery account code"),
        max_length=40,
        required=False,
        help_text=_("GovDelivery only: the code in the address of GovDelivery's admin pages, for example CACITY."),
    )
    username = forms.CharField(
        label=_("User name"),
        max_length=200,
        required=False,
        help_text=_("GovDelivery: the administrator login with API access. Listmonk: the API user's name."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    secret = forms.CharField(
        label=_("Password, API key or token"),
        max_length=500,
        help_text=_(
            "GovDelivery: the password. Mailchimp: an API key (it ends with the data centre, like -us6). "
            "Listmonk: the API user's token. Kept encrypted and never shown again."
        ),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    audience = forms.CharField(
        label=_("List or topic"),
        max_length=100,
        help_text=_("GovDelivery: the topic code. Mailchimp: the audience id. Listmonk: the list's number."),
    )
    from_name = forms.CharField(label=_("From name"), max_length=100, required=False, help_text=_("Mailchimp only."))
    reply_to = forms.EmailField(label=_("Reply-to address"), required=False, help_text=_("Mailchimp only."))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        service = data.get("service")
        required: dict[str, tuple[str, ...]] = {
            "govdelivery": ("account_code", "username"),
            "mailchimp": ("from_name", "reply_to"),
            "listmonk": ("server_url", "username"),
        }
        for name in required.get(str(service), ()):
            if not data.get(name):
                self.add_error(name, _("This service needs it."))
        if service == "mailchimp" and data.get("secret"):
            try:
                mailchimp_data_centre(data["secret"])
            except ValueError:
                self.add_error("secret", _("A Mailchimp API key ends with its data centre, like -us6."))
        if service == "listmonk" and data.get("audience") and not str(data["audience"]).isdigit():
            self.add_error("audience", _("A Listmonk list is named by its number, for example 3."))
        return data
