"""Forms of the connection pages. Secret fields are never pre-filled and never echoed back."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from civicpost import forms as civic_forms
from civicpost.text import NormalizedTextFormMixin
from connections.flows import CONNECTABLE_PLATFORMS, PageChoice
from departments.models import Department
from scheduler.adapters.registry import adapter_classes

WEBHOOK_FORMATS = [
    ("standard", _("Standard Webhooks JSON (a city system, Zapier, your own receiver)")),
    ("slack", _("Slack incoming webhook")),
    ("discord", _("Discord webhook")),
    ("teams", _("Microsoft Teams workflow webhook")),
]


def connectable_platform_choices() -> list[tuple[str, str]]:
    """Platforms that both have an installed adapter and a connection flow, in the order of the flows."""
    installed = adapter_classes()
    return [(name, installed[name].label) for name in CONNECTABLE_PLATFORMS if name in installed]


class SecretURLInput(forms.URLInput):
    """A URL field that is never rendered with its value: chat webhook URLs carry their own secret."""

    def format_value(self, value: object) -> None:
        return None


class ChooseForm(forms.Form):
    department = civic_forms.ModelChoiceField(
        queryset=Department.objects.none(), label=_("Department"), empty_label=None
    )
    platform = forms.ChoiceField(label=_("Platform"), widget=forms.RadioSelect)

    def __init__(self, *args, departments: list[Department], **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(pk__in=[d.pk for d in departments])
        self.fields["department"].help_text = _("The channel will belong to this department, not to you.")
        self.fields["platform"].choices = connectable_platform_choices()


class ConfirmForm(forms.Form):
    """The OAuth platforms ask nothing here: the admin signs in on the platform's own page."""


class FeedForm(NormalizedTextFormMixin, forms.Form):
    display_name = forms.CharField(
        label=_("Name of the feed"),
        max_length=120,
        help_text=_("Shown to staff when they choose channels, for example “Parks news on the city website”."),
    )


class WebhookForm(NormalizedTextFormMixin, forms.Form):
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


class MastodonForm(forms.Form):
    instance_url = forms.CharField(
        label=_("Mastodon server"),
        max_length=300,
        help_text=_("The address of the server the account is on, for example https://mastodon.social."),
        widget=forms.URLInput(attrs={"spellcheck": "false", "inputmode": "url", "autocomplete": "url"}),
    )


class PagePickForm(forms.Form):
    page = forms.ChoiceField(label=_("Which account should this channel publish to?"), widget=forms.RadioSelect)

    def __init__(self, *args, choices: list[PageChoice], **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.fields["page"].choices = [
            (c.id, f"{c.name} — {c.detail}" if c.detail else c.name) for c in choices if c.usable
        ]


PLATFORM_FORMS: dict[str, type[forms.Form]] = {
    "x": ConfirmForm,
    "facebook": ConfirmForm,
    "instagram": ConfirmForm,
    "threads": ConfirmForm,
    "mastodon": MastodonForm,
    "bluesky": BlueskyForm,
    "webhook": WebhookForm,
    "feed": FeedForm,
}


class ChannelLanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language of this channel"),
        required=False,
        help_text=_(
            "When the department publishes each language on its own channels, this channel gets only the "
            "version in this language. Posts already approved keep the language they were approved with."
        ),
        error_messages={"invalid_choice": _("Choose one of the department's languages.")},
    )

    def __init__(self, *args, department: Department, **kwargs) -> None:  # noqa: ANN002, ANN003
        from scheduler.content import language_name

        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("Not set (the main language of each post)"))] + [
            (code, language_name(code)) for code in department.languages or ["en"]
        ]
