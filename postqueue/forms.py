from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from civicpost.fields import ModelChoiceField
from postqueue.models import Weekday
from scheduler.models import Channel


class SlotForm(forms.Form):
    channel = ModelChoiceField(queryset=Channel.objects.none(), label=_("Channel"))
    weekday = forms.TypedChoiceField(choices=Weekday.choices, coerce=int, label=_("Day of the week"))
    local_time = forms.TimeField(
        label=_("Time"), help_text=_("In the department's time zone, for example 10:00 or 14:30.")
    )

    def __init__(self, *args: Any, channels: QuerySet[Channel], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["channel"]
        field.queryset = channels  # type: ignore[attr-defined]
        field.label_from_instance = lambda channel: channel.display_name  # type: ignore[attr-defined]


class EvergreenForm(forms.Form):
    min_interval_days = forms.IntegerField(
        min_value=1,
        max_value=365,
        initial=30,
        label=_("Repeat at most every (days)"),
        help_text=_("Each repetition is a new post, submitted for approval like any other."),
    )


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=(("up", _("Up")), ("down", _("Down"))))
