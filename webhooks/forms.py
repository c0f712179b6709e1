"""The subscription form (the services check the URL and the events again)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from webhooks.models import EventType


class SubscriptionForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("Which system receives it, e.g. “Emergency alerting”.")
    )
    url = forms.URLField(
        label=_("Address (URL)"),
        max_length=500,
        assume_scheme="https",
        help_text=_("An https address on the internet; CivicPost never sends to the city's internal network."),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Events to send"), choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(label=_("Send events to this address"), required=False, initial=True)
