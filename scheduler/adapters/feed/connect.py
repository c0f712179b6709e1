"""Connecting the city website feed: nothing to sign in to, only a name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext as _

from scheduler.adapters.base import BaseConnectFlow, ChannelAccount, ConnectedAccount, ConnectFlow
from scheduler.adapters.feed.forms import FeedForm


class FeedConnectFlow(BaseConnectFlow):
    platform = "feed"
    kind = "form"
    normalize_form_text = True

    def form_class(self) -> type[forms.Form]:
        return FeedForm

    def initial(self, *, department_name: str, channel: ChannelAccount | None) -> dict[str, Any]:
        if channel is not None:
            return {"display_name": channel.display_name}
        return {"display_name": _("%(department)s news on the city website") % {"department": department_name}}

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        return [
            _(
                "Posts published to this channel appear in your department's RSS and Atom feeds and on the city's "
                "public announcement pages. There is nothing to sign in to."
            )
        ]

    def connect(self, data: Mapping[str, Any]) -> ConnectedAccount:
        return ConnectedAccount(platform="feed", display_name=data["display_name"])


FLOW: ConnectFlow = FeedConnectFlow()
