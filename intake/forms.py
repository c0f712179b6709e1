"""The feed form; the services check the URL, the channels and the templates again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from intake.models import DEFAULT_EVENT_TEMPLATE, DEFAULT_REMINDER_TEMPLATE, FeedKind
from scheduler.models import Channel

TEMPLATE_HELP = _("Placeholders: {title} {summary} {link} {start} {location}.")


class FeedForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("E.g. “Website events”."))
    kind = forms.ChoiceField(label=_("Kind of feed"), choices=FeedKind.choices)
    url = forms.URLField(
        label=_("Feed address (URL)"),
        max_length=500,
        assume_scheme="https",
        help_text=_("The calendar's .ics address or the news feed's address on the city website."),
    )
    channels = forms.ModelMultipleChoiceField(
        label=_("Channels of the drafts"), queryset=Channel.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    template = forms.CharField(
        label=_("Post template"),
        widget=forms.Textarea(attrs={"rows": 4}),
        initial=DEFAULT_EVENT_TEMPLATE,
        help_text=TEMPLATE_HELP,
    )
    reminder_lead_minutes = forms.IntegerField(
        label=_("Reminder before an event (minutes; 0 for none)"), min_value=0, max_value=60 * 24 * 30, initial=0
    )
    reminder_template = forms.CharField(
        label=_("Reminder template"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        initial=DEFAULT_REMINDER_TEMPLATE,
        help_text=TEMPLATE_HELP,
    )
    is_active = forms.BooleanField(label=_("Take new items from this feed"), required=False, initial=True)

    def __init__(self, *args: Any, channels: list[Channel], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["channels"]
        assert isinstance(field, forms.ModelMultipleChoiceField)  # nosec B101 - type narrowing
        field.queryset = Channel.objects.filter(pk__in=[c.pk for c in channels])
